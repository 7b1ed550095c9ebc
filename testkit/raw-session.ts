// A mutual-TLS connection that sends raw bytes (testkit/raw-packets.ts) and decodes what comes back, for tests and the stress
// harness: it can send what mqtt.js will not, and never answers on its own (no PUBACK, no PINGREQ).
// Over MQTT over TLS, or over MQTT over WebSockets on the same TLS (each write one WebSocket message).
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import mqttPacket from 'mqtt-packet';
import WebSocket, { createWebSocketStream } from 'ws';
import { closeWhenRead } from '../mqtt-client/transport.ts';
import type { Transport } from '../rules/transports.ts';

export interface RawSessionOptions {
  port: number;
  host?: string;
  /** MQTT over TLS (default), or over WebSockets at wss://HOST:PORT/mqtt, subprotocol mqtt. */
  transport?: Transport;
  /** PEM of the CA that signed the server certificate. */
  ca: string;
  cert?: string;
  key?: string;
  protocolVersion?: 4 | 5;
  /** Lets a device with a weak certificate (SHA-1, RSA-1024) present it. */
  permissive?: boolean;
  /** Called for each packet received, before it is queued for next(); return true to not queue it. */
  onPacket?: (packet: mqttPacket.Packet, session: RawSession) => boolean | void;
}

export interface RawSession {
  /** The TLS socket, or the WebSocket's byte stream (closed once what came before the WebSocket's close is read). */
  socket: Duplex;
  packets: mqttPacket.Packet[];
  send(bytes: Buffer): void;
  /** Sends a packet mqtt-packet can generate. */
  sendPacket(packet: mqttPacket.Packet): void;
  /** The next packet received, or undefined after `ms` or once the connection closed with none. */
  next(ms?: number): Promise<mqttPacket.Packet | undefined>;
  /** Whether the connection is closed within `ms`. */
  closedWithin(ms: number): Promise<boolean>;
  end(): void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The connection, and a promise that settles once it can carry a CONNECT. */
function connect(options: RawSessionOptions): { socket: Duplex; ready: Promise<unknown> } {
  const tls = {
    servername: 'localhost',
    ca: options.ca,
    cert: options.cert,
    key: options.key,
    ...(options.permissive ? { ciphers: 'DEFAULT:@SECLEVEL=0' } : {}),
  };
  const host = options.host ?? '127.0.0.1';
  if (options.transport === 'wss') {
    const webSocket = new WebSocket(`wss://${host.includes(':') ? `[${host}]` : host}:${options.port}/mqtt`, ['mqtt'], { ...tls, perMessageDeflate: false });
    const socket = createWebSocketStream(webSocket);
    webSocket.once('close', () => closeWhenRead(socket));
    const ready = new Promise((resolve, reject) => {
      webSocket.once('open', resolve).once('error', reject);
      webSocket.once('unexpected-response', (_request, response) => reject(new Error(`the WebSocket upgrade was answered HTTP ${response.statusCode}`)));
    });
    return { socket, ready };
  }
  const socket = tlsConnect({ host, port: options.port, ...tls });
  return { socket, ready: new Promise((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject)) };
}

export async function openRawSession(options: RawSessionOptions): Promise<RawSession> {
  const protocolVersion = options.protocolVersion ?? 5;
  const { socket, ready } = connect(options);
  const packets: mqttPacket.Packet[] = [];
  const parser = mqttPacket.parser({ protocolVersion });
  let self: RawSession | undefined;
  parser.on('packet', (packet) => {
    if (!options.onPacket?.(packet, self!)) packets.push(packet);
  });
  parser.on('error', () => socket.destroy());
  socket.on('data', (chunk) => parser.parse(chunk));
  socket.on('error', () => {});
  let closed = false;
  const whenClosed = new Promise<true>((resolve) => socket.once('close', () => resolve((closed = true))));
  await new Promise((resolve, reject) => {
    ready.then(resolve, reject);
    socket.once('close', () => reject(new Error('closed during the TLS handshake or the WebSocket upgrade')));
  });
  self = {
    socket,
    packets,
    send: (bytes) => void socket.write(bytes),
    sendPacket: (packet) => void socket.write(mqttPacket.generate(packet, { protocolVersion })),
    async next(ms = 2000) {
      for (let waited = 0; packets.length === 0 && !closed && waited < ms; waited += 10) await sleep(10);
      return packets.shift();
    },
    closedWithin: (ms) => Promise.race([whenClosed, sleep(ms).then(() => closed)]),
    end: () => socket.destroy(),
  };
  return self;
}
