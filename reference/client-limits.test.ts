// What a client's own CONNECT and SUBSCRIBE ask of the broker, as the reference keeps it: its Maximum
// Packet Size and Receive Maximum (L16, MQTT 5 flow control), no Subscription Identifiers (M2), and a
// SUBACK with one code per filter of its SUBSCRIBE, in order, repeats and refusals included.
import { inject } from 'vitest';
import { afterEach, describe, expect, it } from 'vitest';
import type mqttPacket from 'mqtt-packet';
import { loadPki, serverTlsFromPki } from '../certs/manifest.ts';
import { namespaceFromPki } from '../certs/namespace.ts';
import { openRawSession, type RawSession } from '../testkit/raw-session.ts';
import { startReferenceBroker, type ReferenceBroker } from './broker.ts';
import { mutatedBehaviour } from './policy/mutants.ts';
import type { Behaviour } from './policy/behaviour.ts';

const pki = loadPki(inject('pkiDir'));
let broker: ReferenceBroker | undefined;
const log: string[] = [];
const sessions: RawSession[] = [];
afterEach(async () => {
  for (const session of sessions.splice(0)) session.end();
  await broker?.stop();
  broker = undefined;
  log.length = 0;
});

async function start(behaviour?: Behaviour): Promise<ReferenceBroker> {
  broker = await startReferenceBroker({ namespace: namespaceFromPki(pki), tls: serverTlsFromPki(pki), log: (line) => log.push(line), ...(behaviour ? { behaviour } : {}) });
  return broker;
}

type Publish = mqttPacket.IPublishPacket;

/** A raw connection of `identity`, its CONNECT accepted; it never acknowledges anything on its own. */
async function connect(
  identity: string,
  clientId: string,
  options: { version?: 4 | 5; properties?: mqttPacket.IConnectPacket['properties']; clean?: boolean } = {},
): Promise<{ session: RawSession; connack: mqttPacket.IConnackPacket }> {
  const version = options.version ?? 5;
  const { certificatePem, keyPem } = pki.identities.get(identity)!;
  const session = await openRawSession({ port: broker!.port, ca: pki.rootCaPem, cert: certificatePem, key: keyPem, protocolVersion: version });
  sessions.push(session);
  session.sendPacket({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: version,
    clientId,
    clean: options.clean ?? true,
    keepalive: 30,
    username: identity,
    ...(options.properties ? { properties: options.properties } : {}),
  });
  const connack = (await session.next()) as mqttPacket.IConnackPacket;
  expect(connack).toMatchObject({ cmd: 'connack' });
  expect(connack.reasonCode ?? connack.returnCode).toBe(0);
  return { session, connack };
}

async function subscribe(session: RawSession, topic: string, messageId = 1): Promise<void> {
  session.sendPacket({ cmd: 'subscribe', messageId, subscriptions: [{ topic, qos: 1 }] });
  expect(await session.next()).toMatchObject({ cmd: 'suback', granted: [1] });
}

/** The observer, which may publish to every client's topics; `publish` resolves on the PUBACK. */
async function observer(): Promise<(topic: string, payload: Buffer, qos?: 0 | 1) => Promise<void>> {
  const { session } = await connect('observer', 'observer-pub');
  let messageId = 0;
  return async (topic, payload, qos = 1) => {
    messageId += 1;
    session.sendPacket({ cmd: 'publish', topic, payload, qos, messageId: qos ? messageId : undefined, retain: false, dup: false } as Publish);
    if (qos) expect(await session.next()).toMatchObject({ cmd: 'puback', messageId });
  };
}

/** Every packet the session receives within `ms`. */
async function drain(session: RawSession, ms: number): Promise<mqttPacket.Packet[]> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return session.packets.splice(0);
}

const payloads = (packets: mqttPacket.Packet[]) => packets.filter((packet): packet is Publish => packet.cmd === 'publish').map((packet) => packet.payload.toString());

describe('L16: the client\'s Maximum Packet Size [MQTT-3.1.2-24]', () => {
  it('a PUBLISH larger than the client accepts is not sent; the smaller ones around it are, and the connection stays', async () => {
    await start();
    const { session } = await connect('alpha', 'small', { properties: { maximumPacketSize: 200 } });
    await subscribe(session, 'mmc/alpha/small');
    const publish = await observer();
    await publish('mmc/alpha/small', Buffer.from('first'));
    await publish('mmc/alpha/small', Buffer.alloc(300, 0x2e));
    await publish('mmc/alpha/small', Buffer.alloc(300, 0x2e), 0);
    await publish('mmc/alpha/small', Buffer.from('last'));
    const received = await drain(session, 300);
    expect(payloads(received)).toEqual(['first', 'last']);
    for (const packet of received) session.sendPacket({ cmd: 'puback', messageId: (packet as Publish).messageId! });
    expect(await session.closedWithin(200)).toBe(false);
    expect(log.join('\n')).toMatch(/\[L16\]/);
  });

  it('a discarded QoS 1 message counts as delivered: a persistent session does not get it again when it resumes', async () => {
    await start();
    const properties = { maximumPacketSize: 200, sessionExpiryInterval: 600 };
    const first = await connect('alpha', 'kept', { properties, clean: true });
    await subscribe(first.session, 'mmc/alpha/kept');
    const publish = await observer();
    await publish('mmc/alpha/kept', Buffer.alloc(300, 0x2e));
    await publish('mmc/alpha/kept', Buffer.from('small'));
    const received = await drain(first.session, 200);
    expect(payloads(received)).toEqual(['small']);
    first.session.sendPacket({ cmd: 'puback', messageId: (received[0] as Publish).messageId! });
    await drain(first.session, 100);
    first.session.end();
    await first.session.closedWithin(1000);
    const second = await connect('alpha', 'kept', { properties: { sessionExpiryInterval: 600 }, clean: false });
    expect(second.connack.sessionPresent).toBe(true);
    expect(payloads(await drain(second.session, 300))).toEqual([]);
  });

  it('a PUBACK whose Reason String would make it larger than the client accepts goes without it [MQTT-3.4.2-2]', async () => {
    await start();
    const { session } = await connect('alpha', 'tiny', { properties: { maximumPacketSize: 16 } });
    // Outside alpha's permission bindings (P2): not delivered, answered with PUBACK 0x87 and a reason.
    session.sendPacket({ cmd: 'publish', topic: 'elsewhere/x', payload: Buffer.from('x'), qos: 1, messageId: 9, retain: false, dup: false });
    const puback = (await session.next()) as mqttPacket.IPubackPacket;
    expect(puback).toMatchObject({ cmd: 'puback', messageId: 9, reasonCode: 0x87 });
    expect(puback.properties?.reasonString).toBeUndefined();
    expect(await session.closedWithin(100)).toBe(false);
  });

  it('under the L16 mutant the larger PUBLISH is sent', async () => {
    await start(mutatedBehaviour(['L16']));
    const { session } = await connect('alpha', 'small', { properties: { maximumPacketSize: 200 } });
    await subscribe(session, 'mmc/alpha/small');
    const publish = await observer();
    await publish('mmc/alpha/small', Buffer.alloc(300, 0x2e));
    expect(payloads(await drain(session, 200))).toHaveLength(1);
  });
});

describe('L16: the client\'s Receive Maximum [MQTT-3.3.4-9]', () => {
  it('no more QoS 1 PUBLISHes await their PUBACK than the client allows; each PUBACK lets the next go, and none is lost', async () => {
    await start();
    const { session } = await connect('alpha', 'slow', { properties: { receiveMaximum: 2 } });
    await subscribe(session, 'mmc/alpha/slow');
    const publish = await observer();
    for (let n = 1; n <= 5; n += 1) await publish('mmc/alpha/slow', Buffer.from(`m${n}`));
    // QoS 0 is not held back [MQTT-3.3.4-10 counts only QoS 1 and 2].
    await publish('mmc/alpha/slow', Buffer.from('q0'), 0);
    const first = await drain(session, 300);
    expect(payloads(first).sort()).toEqual(['m1', 'm2', 'q0']);
    const seen: string[] = [];
    let pending = first.filter((packet): packet is Publish => packet.cmd === 'publish' && packet.qos === 1);
    while (pending.length) {
      const [next, ...rest] = pending;
      seen.push(next!.payload.toString());
      session.sendPacket({ cmd: 'puback', messageId: next!.messageId! });
      const more = (await drain(session, 100)).filter((packet): packet is Publish => packet.cmd === 'publish');
      pending = [...rest, ...more];
      expect(pending.length).toBeLessThanOrEqual(2);
    }
    expect(seen).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
  });

  it('a session resuming with messages queued gets no more of them at once than its Receive Maximum', async () => {
    await start();
    const properties = { sessionExpiryInterval: 600 };
    const first = await connect('alpha', 'back', { properties });
    await subscribe(first.session, 'mmc/alpha/back');
    first.session.end();
    await first.session.closedWithin(1000);
    const publish = await observer();
    for (let n = 1; n <= 4; n += 1) await publish('mmc/alpha/back', Buffer.from(`m${n}`));
    const second = await connect('alpha', 'back', { properties: { ...properties, receiveMaximum: 1 }, clean: false });
    const seen: string[] = [];
    for (;;) {
      const received = (await drain(second.session, 150)).filter((packet): packet is Publish => packet.cmd === 'publish');
      if (!received.length) break;
      expect(received).toHaveLength(1);
      seen.push(received[0]!.payload.toString());
      second.session.sendPacket({ cmd: 'puback', messageId: received[0]!.messageId! });
    }
    expect(seen).toEqual(['m1', 'm2', 'm3', 'm4']);
  });

  it('under the L16.receive-maximum mutant every message is sent at once', async () => {
    await start(mutatedBehaviour(['L16.receive-maximum']));
    const { session } = await connect('alpha', 'slow', { properties: { receiveMaximum: 2 } });
    await subscribe(session, 'mmc/alpha/slow');
    const publish = await observer();
    for (let n = 1; n <= 4; n += 1) await publish('mmc/alpha/slow', Buffer.from(`m${n}`));
    expect(payloads(await drain(session, 300))).toHaveLength(4);
  });
});

describe('M2: Subscription Identifiers are not supported', () => {
  it('the MQTT 5 CONNACK says so, and a SUBSCRIBE carrying one ends the connection with DISCONNECT 0xA1', async () => {
    await start();
    const { session, connack } = await connect('alpha', 'ids');
    expect(connack.properties?.subscriptionIdentifiersAvailable).toBe(false);
    await subscribe(session, 'mmc/alpha/ids/plain');
    session.sendPacket({ cmd: 'subscribe', messageId: 2, properties: { subscriptionIdentifier: 7 }, subscriptions: [{ topic: 'mmc/alpha/ids/with', qos: 1 }] });
    expect(await session.next()).toMatchObject({ cmd: 'disconnect', reasonCode: 0xa1 });
    expect(await session.closedWithin(2000)).toBe(true);
    expect(log.join('\n')).toMatch(/\[M2\]/);
  });

  it('under the M2 mutant the CONNACK says nothing of them and the SUBSCRIBE is granted', async () => {
    await start(mutatedBehaviour(['M2']));
    const { session, connack } = await connect('alpha', 'ids');
    expect(connack.properties?.subscriptionIdentifiersAvailable).toBeUndefined();
    session.sendPacket({ cmd: 'subscribe', messageId: 2, properties: { subscriptionIdentifier: 7 }, subscriptions: [{ topic: 'mmc/alpha/ids/with', qos: 1 }] });
    expect(await session.next()).toMatchObject({ cmd: 'suback', granted: [1] });
  });
});

describe.each([4, 5] as const)('a SUBACK has one code per filter, in order (MQTT %s) [MQTT-3.8.4-6, MQTT-3.9.3-1]', (version) => {
  const refused = version === 5 ? 0x87 : 0x80;

  it('repeated filters, all granted: each gets its own code', async () => {
    await start();
    const { session } = await connect('alpha', 'twice', { version });
    session.sendPacket({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'mmc/alpha/a', qos: 0 }, { topic: 'mmc/alpha/a', qos: 1 }, { topic: 'mmc/alpha/b', qos: 1 }, { topic: 'mmc/alpha/a', qos: 0 }] });
    expect(await session.next()).toMatchObject({ cmd: 'suback', messageId: 3, granted: [0, 1, 1, 0] });
  });

  it('repeated filters beside refused ones: each code in its place', async () => {
    await start();
    const { session } = await connect('alpha', 'mixed', { version });
    session.sendPacket({
      cmd: 'subscribe',
      messageId: 4,
      subscriptions: [
        { topic: 'mmc/alpha/a', qos: 1 },
        { topic: 'elsewhere/x', qos: 1 },
        { topic: 'mmc/alpha/a', qos: 0 },
        { topic: 'mmc/alpha/b', qos: 1 },
        { topic: 'elsewhere/x', qos: 0 },
        { topic: 'mmc/alpha/b', qos: 1 },
      ],
    });
    expect(await session.next()).toMatchObject({ cmd: 'suback', messageId: 4, granted: [1, refused, 0, 1, refused, 1] });
    // The last of the repeats is the subscription kept [MQTT-3.8.4-3]: mmc/alpha/a at QoS 0.
    const publish = await observer();
    await publish('mmc/alpha/a', Buffer.from('to a'));
    expect(await session.next()).toMatchObject({ cmd: 'publish', qos: 0, payload: Buffer.from('to a') });
  });

  it('only refused filters, repeated: every one refused in its place', async () => {
    await start();
    const { session } = await connect('alpha', 'none', { version });
    session.sendPacket({ cmd: 'subscribe', messageId: 5, subscriptions: [{ topic: 'elsewhere/x', qos: 1 }, { topic: 'elsewhere/x', qos: 1 }] });
    expect(await session.next()).toMatchObject({ cmd: 'suback', messageId: 5, granted: [refused, refused] });
  });
});
