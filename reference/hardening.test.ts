// What anyone who reaches the port can do without a certificate, and what a session keeps: silent TCP
// and idle TLS connections are closed after their timeouts, a CONNECT announcing more than the
// maximum packet size is cut off as its header is read, a refusal repeats a long Username only in
// part, and QoS 1 messages sent again after a takeover carry DUP.
import { connect as netConnect } from 'node:net';
import { inject } from 'vitest';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPki, serverTlsFromPki } from '../certs/manifest.ts';
import { namespaceFromPki } from '../certs/namespace.ts';
import { startReferenceBroker, type ReferenceBroker } from './broker.ts';
import { bounded, MAX_REASON_LENGTH } from './adapters/bounded-text.ts';
import { connectV5, connectAnnouncing, variableByteInteger } from '../testkit/raw-packets.ts';
import { openRawSession } from '../testkit/raw-session.ts';

const pki = loadPki(inject('pkiDir'));
let broker: ReferenceBroker | undefined;
const log: string[] = [];
afterEach(async () => {
  await broker?.stop();
  broker = undefined;
  log.length = 0;
});

async function start(options: { handshakeTimeoutMs?: number; connectTimeoutMs?: number; maximumPacketSize?: number } = {}) {
  const { maximumPacketSize, ...timeouts } = options;
  broker = await startReferenceBroker({
    namespace: namespaceFromPki(pki, { reference: maximumPacketSize ? { limits: { maximumPacketSize } } : {} }),
    tls: serverTlsFromPki(pki),
    log: (line) => log.push(line),
    ...timeouts,
  });
  return broker;
}

const alpha = () => pki.identities.get('alpha')!;
const session = (b: ReferenceBroker, withCertificate = true) =>
  openRawSession({ port: b.port, ca: pki.rootCaPem, ...(withCertificate ? { cert: alpha().certificatePem, key: alpha().keyPem } : {}) });

describe('connections that never get anywhere', () => {
  it('a TCP connection that never starts TLS is closed after the handshake timeout', async () => {
    const b = await start({ handshakeTimeoutMs: 300 });
    const socket = netConnect({ host: '127.0.0.1', port: b.port });
    socket.on('error', () => {});
    const closed = new Promise<boolean>((resolve) => socket.once('close', () => resolve(true)));
    // Well past the timeout, well short of Node's default of 120 s.
    expect(await Promise.race([closed, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000))])).toBe(true);
  });

  it('a TLS connection that never sends CONNECT is closed after the CONNECT timeout', async () => {
    const b = await start({ connectTimeoutMs: 300 });
    const raw = await session(b, false);
    expect(await raw.closedWithin(5000)).toBe(true);
  });
});

describe('the maximum packet size, while a resumed session is resent its queue', () => {
  it('a packet over the limit sent on the CONNACK gets DISCONNECT 0x95, as once the queue is out (L15)', async () => {
    const b = await start();
    const observer = pki.identities.get('observer')!;
    const held = await session(b);
    held.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'resent', username: 'alpha', clean: true, keepalive: 60, properties: { sessionExpiryInterval: 600 } });
    await held.next();
    held.sendPacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'mmc/alpha/queue', qos: 1 }] });
    expect(await held.next()).toMatchObject({ cmd: 'suback' });
    held.end();
    // 90 messages of 10 KB queued while it is away: resending them takes the broker a while after the CONNACK.
    const publisher = await openRawSession({ port: b.port, ca: pki.rootCaPem, cert: observer.certificatePem, key: observer.keyPem });
    publisher.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'queue-filler', username: 'observer', clean: true, keepalive: 60 });
    await publisher.next();
    for (let id = 1; id <= 90; id += 1) publisher.sendPacket({ cmd: 'publish', topic: 'mmc/alpha/queue', payload: Buffer.alloc(10_000), qos: 1, messageId: id, retain: false, dup: false });
    for (let acked = 0; acked < 90; acked += 1) expect(await publisher.next()).toMatchObject({ cmd: 'puback' });
    publisher.end();

    const limit = b.namespace.reference.limits.maximumPacketSize;
    const back = await openRawSession({ port: b.port, ca: pki.rootCaPem, cert: alpha().certificatePem, key: alpha().keyPem, onPacket: (packet) => packet.cmd === 'publish' });
    back.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'resent', username: 'alpha', clean: false, keepalive: 60, properties: { sessionExpiryInterval: 600 } });
    expect(await back.next()).toMatchObject({ cmd: 'connack', reasonCode: 0, sessionPresent: true });
    // A PUBLISH whose fixed header announces more than the limit.
    back.send(Buffer.concat([Buffer.from([0x30]), variableByteInteger(limit), Buffer.alloc(16)]));
    expect(await back.next(5000)).toMatchObject({ cmd: 'disconnect', reasonCode: 0x95 });
    expect(await back.closedWithin(3000)).toBe(true);
  });
});

describe('the maximum packet size, before authentication', () => {
  it('a certificate-less CONNECT announcing 268 MB is cut off after its first bytes', async () => {
    const b = await start();
    const raw = await session(b, false);
    raw.send(connectAnnouncing(268_435_455));
    // Keep sending, as the flood did: the broker closes the connection long before 1 MiB.
    let sent = 0;
    const chunk = Buffer.alloc(16 * 1024, 0x41);
    while (!(await raw.closedWithin(0)) && sent < 8 * 1024 * 1024) {
      raw.socket.write(chunk);
      sent += chunk.length;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await raw.closedWithin(2000)).toBe(true);
    expect(log.join('\n')).toMatch(/packet too large/);
  });

  it('the limit is the namespace setting, and a CONNECT within it is served (the control)', async () => {
    const b = await start({ maximumPacketSize: 1024 });
    const small = await session(b);
    small.send(connectV5('s1', 'alpha', Buffer.alloc(0)));
    expect(await small.next()).toMatchObject({ cmd: 'connack', reasonCode: 0 });
    const big = await session(b);
    big.send(connectV5('s2', 'x'.repeat(2000), Buffer.alloc(0)));
    expect(await big.next()).toBeUndefined();
    expect(await big.closedWithin(2000)).toBe(true);
  });
});

describe('client-supplied text the broker repeats', () => {
  it('a refusal for a 64 KB Username is a well-formed CONNACK whose reason string and log line are bounded', async () => {
    const b = await start();
    const raw = await session(b);
    raw.send(connectV5('s1', 'u'.repeat(65_000), Buffer.alloc(0)));
    const connack = await raw.next();
    expect(connack).toMatchObject({ cmd: 'connack', reasonCode: 0x86 });
    const reason = (connack as { properties?: { reasonString?: string } }).properties?.reasonString ?? '';
    // L6 refuses it first, without repeating it; any reason that does repeat a name is cut (bounded()).
    expect(reason.length).toBeLessThanOrEqual(MAX_REASON_LENGTH);
    expect(reason).not.toContain('u'.repeat(200));
    const line = log.find((entry) => entry.startsWith('refused session "s1"'))!;
    expect(line.length).toBeLessThan(400);
    expect(bounded(`no client is registered with authentication name "${'u'.repeat(65_000)}"`, MAX_REASON_LENGTH)).toMatch(/^no client .{200,}… \(65051 chars\)$/);
  });
});

describe('QoS 1 redelivery', () => {
  // On alpha's own topics, which the default namespace lets the observer publish to (P1).
  it('messages sent before a takeover and not acknowledged come again with DUP=1; one queued while away comes with DUP=0', async () => {
    const b = await start();
    const first = await session(b);
    first.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 's1', clean: true, keepalive: 30, username: 'alpha', properties: { sessionExpiryInterval: 600 } });
    expect(await first.next()).toMatchObject({ cmd: 'connack', reasonCode: 0 });
    first.sendPacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'mmc/alpha/dup', qos: 1 }] });
    expect(await first.next()).toMatchObject({ cmd: 'suback' });

    const publisher = await openRawSession({ port: b.port, ca: pki.rootCaPem, cert: pki.identities.get('observer')!.certificatePem, key: pki.identities.get('observer')!.keyPem });
    publisher.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'pub', clean: true, keepalive: 30, username: 'observer' });
    expect(await publisher.next()).toMatchObject({ cmd: 'connack', reasonCode: 0 });
    publisher.sendPacket({ cmd: 'publish', topic: 'mmc/alpha/dup', payload: Buffer.from('in flight'), qos: 1, messageId: 1, retain: false, dup: false });
    expect(await publisher.next()).toMatchObject({ cmd: 'puback' });
    // The first connection receives it and does not acknowledge it.
    expect(await first.next()).toMatchObject({ cmd: 'publish', dup: false, payload: Buffer.from('in flight') });
    first.end();
    await first.closedWithin(2000);
    publisher.sendPacket({ cmd: 'publish', topic: 'mmc/alpha/dup', payload: Buffer.from('queued'), qos: 1, messageId: 2, retain: false, dup: false });
    expect(await publisher.next()).toMatchObject({ cmd: 'puback' });

    const second = await session(b);
    second.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 's1', clean: false, keepalive: 30, username: 'alpha', properties: { sessionExpiryInterval: 600 } });
    expect(await second.next()).toMatchObject({ cmd: 'connack', reasonCode: 0, sessionPresent: true });
    const resent = [await second.next(), await second.next()].map((packet) => packet as { payload: Buffer; dup: boolean });
    expect(resent.map((packet) => [packet.payload.toString(), packet.dup])).toEqual([
      ['in flight', true],
      ['queued', false],
    ]);
  });
});
