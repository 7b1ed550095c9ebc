// A mutual-TLS connection that sends raw bytes (testkit/raw-packets.ts) and decodes what comes back, for tests and the stress
// harness: it can send what mqtt.js will not, and never answers on its own (no PUBACK, no PINGREQ).
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import mqttPacket from 'mqtt-packet';

export interface RawSessionOptions {
  port: number;
  host?: string;
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
  socket: TLSSocket;
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

export async function openRawSession(options: RawSessionOptions): Promise<RawSession> {
  const protocolVersion = options.protocolVersion ?? 5;
  const socket = tlsConnect({
    host: options.host ?? '127.0.0.1',
    port: options.port,
    servername: 'localhost',
    ca: options.ca,
    cert: options.cert,
    key: options.key,
    ...(options.permissive ? { ciphers: 'DEFAULT:@SECLEVEL=0' } : {}),
  });
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
  await new Promise((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject).once('close', () => reject(new Error('closed during the TLS handshake'))));
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
