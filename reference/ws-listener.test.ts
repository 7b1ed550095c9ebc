// MQTT over WebSockets on the reference broker: the same namespace as over TLS, so sessions, ownership
// and takeovers cross transports; and what the WebSocket endpoint refuses, it refuses clearly, without
// crashing or leaking.
import { connect as tlsConnect } from 'node:tls';
import { connect as tcpConnect, type Socket } from 'node:net';
import { request } from 'node:https';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import WebSocket from 'ws';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { loadPki, serverTlsFromPki } from '../certs/manifest.ts';
import { namespaceFromPki } from '../certs/namespace.ts';
import { startReferenceBroker, type ReferenceBroker } from './broker.ts';

const pki = loadPki(inject('pkiDir'));
let broker: ReferenceBroker;
const clients: MqttClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.endAsync(true)));
  await broker?.stop();
});

async function start(): Promise<ReferenceBroker> {
  broker = await startReferenceBroker({ namespace: namespaceFromPki(pki), tls: serverTlsFromPki(pki) });
  return broker;
}

type Transport = 'tcp' | 'wss';

/** An mqtt.js client of `identity` over `transport`, MQTT 5, a persistent session; resolves with its CONNACK or its refusal. */
async function open(transport: Transport, identity: string | undefined, clientId: string, extra: Partial<IClientOptions> = {}) {
  const known = identity ? pki.identities.get(identity)! : undefined;
  const client = mqtt.connect(transport === 'wss' ? broker.wsUrl! : broker.url, {
    protocolVersion: 5,
    clientId,
    username: identity,
    clean: false,
    properties: { sessionExpiryInterval: 600 },
    ca: pki.rootCaPem,
    ...(known ? { cert: known.certificatePem, key: known.keyPem } : {}),
    reconnectPeriod: 0,
    ...extra,
  });
  clients.push(client);
  const disconnect = new Promise<number>((resolve) => client.once('disconnect', (packet) => resolve(packet.reasonCode ?? 0)));
  const connack = await new Promise<{ reasonCode: number; sessionPresent: boolean }>((resolve, reject) => {
    client.once('connect', (packet) => resolve({ reasonCode: 0, sessionPresent: packet.sessionPresent }));
    client.once('error', (error) => resolve({ reasonCode: (error as { code?: number }).code ?? -1, sessionPresent: false }));
    client.once('close', () => reject(new Error(`${transport} connection of ${clientId} closed before any CONNACK`)));
  });
  return { client, connack, disconnect };
}

describe('MQTT over WebSockets', () => {
  it('serves the namespace at wss://HOST:PORT/mqtt beside mqtts://', async () => {
    await start();
    expect(broker.url).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    expect(broker.wsUrl).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/mqtt$/);
    const second = await startReferenceBroker({ namespace: namespaceFromPki(pki), tls: serverTlsFromPki(pki), wsPort: null });
    expect(second.wsUrl).toBeUndefined();
    await second.stop();
  });

  it('lets one identity hold two sessions over wss, and refuses another identity a live session name (0x87)', async () => {
    await start();
    expect((await open('wss', 'alpha', 'ws-a1')).connack.reasonCode).toBe(0);
    expect((await open('wss', 'alpha', 'ws-a2')).connack.reasonCode).toBe(0);
    expect((await open('wss', 'beta', 'ws-a1')).connack.reasonCode).toBe(0x87);
    // The same CONNECT under beta's own session name is accepted: the refusal was for the name.
    expect((await open('wss', 'beta', 'ws-b1')).connack.reasonCode).toBe(0);
    // And over TCP the wss session's name is as much alpha's.
    expect((await open('tcp', 'beta', 'ws-a2')).connack.reasonCode).toBe(0x87);
  });

  it.each([
    ['wss', 'tcp'],
    ['tcp', 'wss'],
  ] as const)('hands a session held over %s to its owner reconnecting over %s, ending the older with DISCONNECT 0x8E', async (first, second) => {
    await start();
    const older = await open(first, 'alpha', 'moving');
    expect(older.connack.reasonCode).toBe(0);
    const newer = await open(second, 'alpha', 'moving');
    expect(newer.connack).toEqual({ reasonCode: 0, sessionPresent: true });
    expect(await older.disconnect).toBe(0x8e);
  });

  it('resumes over wss a session left over TCP, with the QoS 1 message queued meanwhile', async () => {
    await start();
    const topic = 'mmc/alpha/resumed/inbox';
    const left = await open('tcp', 'alpha', 'resumed');
    await left.client.subscribeAsync(topic, { qos: 1 });
    await left.client.endAsync();
    const observer = await open('tcp', 'observer', 'ws-observer', { clean: true, properties: {} });
    await observer.client.publishAsync(topic, 'while away', { qos: 1 });
    const received = new Promise<string>((resolve) => {
      const back = mqtt.connect(broker.wsUrl!, {
        protocolVersion: 5,
        clientId: 'resumed',
        username: 'alpha',
        clean: false,
        properties: { sessionExpiryInterval: 600 },
        ca: pki.rootCaPem,
        cert: pki.identities.get('alpha')!.certificatePem,
        key: pki.identities.get('alpha')!.keyPem,
        reconnectPeriod: 0,
      });
      clients.push(back);
      back.on('message', (_topic, payload) => resolve(payload.toString()));
    });
    expect(await received).toBe('while away');
  });

  it('refuses a client without a certificate as over TLS (A1)', async () => {
    await start();
    const overTcp = await open('tcp', undefined, 'no-cert', { username: 'alpha' });
    const overWss = await open('wss', undefined, 'no-cert', { username: 'alpha' });
    expect(overTcp.connack.reasonCode).not.toBe(0);
    expect(overWss.connack.reasonCode).toBe(overTcp.connack.reasonCode);
  });
});

/** The HTTP status line a request to the WebSocket port gets. */
function statusOf(path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(broker.wsUrl!);
    const req = request({ host: url.hostname, port: url.port, path, ca: pki.rootCaPem, headers }, (response) => {
      response.resume();
      resolve(response.statusCode!);
    });
    req.on('upgrade', () => resolve(101));
    req.on('error', reject);
    req.end();
  });
}

const upgrade = (protocol?: string): Record<string, string> => ({
  connection: 'Upgrade',
  upgrade: 'websocket',
  'sec-websocket-version': '13',
  'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
  ...(protocol ? { 'sec-websocket-protocol': protocol } : {}),
});

describe('the WebSocket endpoint refuses clearly', () => {
  it('answers another path 404, an upgrade without the mqtt subprotocol 400, and an HTTPS request that is no upgrade 400', async () => {
    await start();
    expect(await statusOf('/other', upgrade('mqtt'))).toBe(404);
    expect(await statusOf('/mqtt', upgrade())).toBe(400);
    expect(await statusOf('/mqtt', upgrade('graphql-ws'))).toBe(400);
    expect(await statusOf('/mqtt', {})).toBe(400);
    // The control: the same upgrade with the subprotocol is taken.
    expect(await statusOf('/mqtt', upgrade('mqtt'))).toBe(101);
    expect((await open('wss', 'alpha', 'after-refusals')).connack.reasonCode).toBe(0);
  });

  it('answers plain HTTP sent to its TLS port with 400 in plain HTTP', async () => {
    await start();
    const answer = await new Promise<string>((resolve) => {
      const socket = tcpConnect(broker.wsPort!, '127.0.0.1', () => socket.write('GET /mqtt HTTP/1.1\r\nHost: x\r\n\r\n'));
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect((await open('wss', 'alpha', 'after-plain-http')).connack.reasonCode).toBe(0);
  });

  it('lets go of every plain HTTP connection it answers 400, whether the peer closes its side or keeps it open', async () => {
    await start();
    // The connections open in this process: the broker's side and the test's.
    const sockets = () => process.getActiveResourcesInfo().filter((resource) => resource === 'TCPSocketWrap').length;
    const before = sockets();
    const plainHttp = (keepOpen: boolean) =>
      new Promise<Socket>((resolve) => {
        const socket = tcpConnect({ port: broker.wsPort!, host: '127.0.0.1', allowHalfOpen: keepOpen }, () => socket.write('GET /mqtt HTTP/1.1\r\nHost: x\r\n\r\n'));
        socket.on('error', () => {});
        socket.once('data', () => {
          if (!keepOpen) socket.destroy();
          resolve(socket);
        });
      });
    const closing = await Promise.all(Array.from({ length: 5 }, () => plainHttp(false)));
    // A peer that keeps its side open after the answer is let go once the broker's grace is over.
    const careless = await Promise.all(Array.from({ length: 5 }, () => plainHttp(true)));
    expect(closing.every((socket) => socket.destroyed)).toBe(true);
    await vi.waitFor(() => expect(sockets()).toBe(before + careless.length), { timeout: 5000, interval: 100 });
    for (const socket of careless) socket.destroy();
  });

  /** A WebSocket of alpha's to the broker, open. */
  async function alphaWebSocket(): Promise<WebSocket> {
    const alpha = pki.identities.get('alpha')!;
    const socket = new WebSocket(broker.wsUrl!, ['mqtt'], { ca: pki.rootCaPem, cert: alpha.certificatePem, key: alpha.keyPem });
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    return socket;
  }

  it('refuses a packet just over the packet limit sent as one WebSocket message as over TCP: DISCONNECT 0x95 (L15)', async () => {
    await start();
    const limit = broker.namespace.reference.limits.maximumPacketSize;
    const socket = await alphaWebSocket();
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    const packets: mqttPacket.Packet[] = [];
    parser.on('packet', (packet) => packets.push(packet));
    socket.on('message', (data: Buffer) => parser.parse(data));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.send(mqttPacket.generate({ cmd: 'connect', protocolVersion: 5, clientId: 'oversized', username: 'alpha', clean: true, keepalive: 30 }));
    await vi.waitFor(() => expect(packets.map((packet) => packet.cmd)).toEqual(['connack']));
    // A PUBLISH of limit + 1 bytes in all, in a single WebSocket message, as a client that batches its writes sends it.
    const publish = (payloadBytes: number) => mqttPacket.generate({ cmd: 'publish', topic: 'mmc/alpha/oversized', payload: Buffer.alloc(payloadBytes), qos: 0, dup: false, retain: false }, { protocolVersion: 5 });
    const overhead = publish(limit).length - limit;
    const oversized = publish(limit + 1 - overhead);
    expect(oversized.length).toBe(limit + 1);
    socket.send(oversized);
    await closed;
    expect(packets.at(-1)).toMatchObject({ cmd: 'disconnect', reasonCode: 0x95 });
  });

  it('closes a WebSocket whose message is over twice the packet limit (1009), and serves on', async () => {
    await start();
    const limit = broker.namespace.reference.limits.maximumPacketSize;
    const socket = await alphaWebSocket();
    const code = await new Promise<number>((resolve) => {
      socket.once('close', (closeCode) => resolve(closeCode));
      socket.send(Buffer.alloc(2 * limit + 1));
    });
    expect(code).toBe(1009);
    expect((await open('wss', 'alpha', 'after-oversized')).connack.reasonCode).toBe(0);
  });

  it('refuses a PUBLISH over twice the packet limit from mqtt.js (one WebSocket message past the bound) as over TCP: DISCONNECT 0x95 (L15)', async () => {
    await start();
    const limit = broker.namespace.reference.limits.maximumPacketSize;
    const refusal = async (transport: Transport) => {
      const { client, disconnect } = await open(transport, 'alpha', `big-${transport}`, { clean: true, properties: {} });
      client.publish('mmc/alpha/big', Buffer.alloc(3 * limit), { qos: 0 });
      return Promise.race([disconnect, new Promise<string>((resolve) => client.once('close', () => setTimeout(() => resolve('closed with no DISCONNECT'), 200)))]);
    };
    expect(await refusal('tcp')).toBe(0x95);
    expect(await refusal('wss')).toBe(0x95);
  });

  it('closes a connection that sends nothing within the handshake timeout, and one that asks no upgrade within the connect timeout', async () => {
    broker = await startReferenceBroker({ namespace: namespaceFromPki(pki), tls: serverTlsFromPki(pki), handshakeTimeoutMs: 200, connectTimeoutMs: 200 });
    const closed = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect(broker.wsPort!, '127.0.0.1');
      socket.on('close', () => resolve(true));
      socket.on('error', () => {});
    });
    expect(closed).toBe(true);
    // A TLS client that sends no HTTP request after its handshake is closed as well.
    const stalled = await new Promise<boolean>((resolve) => {
      const socket = tlsConnect({ port: broker.wsPort!, host: '127.0.0.1', ca: pki.rootCaPem, servername: 'localhost' });
      socket.on('secureConnect', () => {});
      socket.on('close', () => resolve(true));
      socket.on('error', () => {});
    });
    expect(stalled).toBe(true);
  });
});
