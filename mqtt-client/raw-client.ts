// A client that writes its CONNECT byte by byte (raw-packets.ts), for what mqtt.js will not send: names that are not
// well-formed UTF-8 or hold U+0000, MQTT 5 properties given twice, an empty ClientID with Clean Start 0,
// packets pipelined behind the CONNECT, and connections that stay silent (no PINGREQ) or hold back their
// PUBACKs (mqtt.js takes no further message while one is unacknowledged, so it cannot show how many the
// server sends at once). Over mutual TLS with an identity's certificate, or over WebSockets on it, like
// SessionClient; it reads what comes back with mqtt-packet.
import type { Duplex } from 'node:stream';
import mqttPacket from 'mqtt-packet';
import type { LoadedIdentity } from '../certs/manifest.ts';
import type { MqttVersion } from '../rules/catalogue.ts';
import type { PacketLog } from './packet-log.ts';
import { connectBytes } from './raw-packets.ts';
import { secureContextFor, type TlsSessions } from './tls-context.ts';
import { openStream } from './transport.ts';

export interface RawConnectOptions {
  url: string;
  ca: string;
  identity: LoadedIdentity;
  version: MqttVersion;
  /** The ClientID as bytes, sent as they are. */
  clientId: Buffer;
  /** The Username as bytes; default the identity's authentication name, null for none. */
  username?: Buffer | null;
  /** Keep Alive, seconds (default 60). */
  keepAlive?: number;
  /** MQTT 5: the CONNECT's property section as bytes, sent as they are (default none). */
  properties?: Buffer;
  /** MQTT 5 Clean Start / 3.1.1 Clean Session as it goes on the wire (default 1; mqtt.js forces 1 with an empty ClientID). */
  cleanStart?: boolean;
  timeoutMs: number;
  /** Resume TLS sessions from here, and keep new ones in it (as SessionClient does). */
  tlsSessions?: TlsSessions;
  /** Packets sent right behind the CONNECT, in the same write, before any CONNACK (as clients that pipeline send them). */
  pipelined?: Buffer;
  /** Where the connection's packets are recorded (the scenario's log), if anywhere. */
  packetLog?: PacketLog;
}

export type RawConnectOutcome =
  | { accepted: true; connection: RawConnection; sessionPresent: boolean; properties: Record<string, unknown> }
  | { accepted: false; code?: number; reasonString?: string; message: string };

export interface RawEnd {
  /** The MQTT 5 DISCONNECT reason code the server sent, if it sent one. */
  disconnectReasonCode?: number;
  /** Milliseconds from the CONNACK to the close. */
  afterMs: number;
}

/** Bytes as text when they are well-formed UTF-8, else as hex (names the raw client sends ill-formed on purpose). */
function readable(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  return Buffer.from(text).equals(bytes) && !text.includes('\u0000') ? text : `0x${bytes.toString('hex')}`;
}

export class RawConnection {
  readonly ended: Promise<RawEnd>;
  private disconnectReasonCode?: number;
  /** PUBLISHes received and not yet taken, and the SUBACKs, in order. */
  private readonly publishes: mqttPacket.IPublishPacket[] = [];
  private readonly subacks: mqttPacket.ISubackPacket[] = [];
  private nextMessageId = 1;

  private constructor(
    private readonly socket: Duplex,
    private readonly version: MqttVersion,
    parser: ReturnType<typeof mqttPacket.parser>,
    connackAt: number,
    /** Milliseconds from writing the CONNECT to reading its CONNACK: the round trip, with the server's own time to answer. */
    readonly roundTripMs: number,
    /** Records a packet this connection sends (the scenario's log), if anything does. */
    private readonly recordSent: (packet: mqttPacket.Packet) => void = () => {},
  ) {
    parser.on('packet', (packet) => {
      if (packet.cmd === 'disconnect') this.disconnectReasonCode = packet.reasonCode;
      if (packet.cmd === 'publish') this.publishes.push(packet);
      if (packet.cmd === 'suback') this.subacks.push(packet);
    });
    this.ended = new Promise((resolve) =>
      socket.once('close', () => resolve({ disconnectReasonCode: this.disconnectReasonCode, afterMs: Date.now() - connackAt })),
    );
  }

  /** Connects and resolves with the CONNACK's verdict, or the connection closing with none. */
  static connect(options: RawConnectOptions): Promise<RawConnectOutcome> {
    const secureContext = secureContextFor(options.identity, options.ca);
    const session = options.tlsSessions?.offer(secureContext, options.url);
    const { stream: socket, ready } = openStream(options.url, {
      secureContext,
      session,
      onSocket: (tls) => options.tlsSessions?.keep(tls, secureContext, options.url),
    });
    const parser = mqttPacket.parser({ protocolVersion: options.version === '5' ? 5 : 4 });
    socket.on('data', (data) => parser.parse(data));
    socket.on('error', () => {});
    const log = options.packetLog;
    const connection = log?.connection(options.identity.entry.id, readable(options.clientId)) ?? '';
    if (log) {
      parser.on('packet', (packet) => log.packet(connection, 'received', packet));
      socket.once('close', () => log.event(connection, 'closed', 'close'));
    }
    const username = options.username === undefined ? Buffer.from(options.identity.entry.authenticationName) : (options.username ?? undefined);
    return new Promise<RawConnectOutcome>((resolve) => {
      const timer = setTimeout(() => {
        socket.destroy();
        resolve({ accepted: false, message: `no CONNACK within ${options.timeoutMs} ms` });
      }, options.timeoutMs);
      // A connection that fails before it is ready closes, which resolves below.
      let connectSentAt = Date.now();
      ready.then(
        () => {
          connectSentAt = Date.now();
          socket.write(
            Buffer.concat([
              connectBytes({ version: options.version, clientId: options.clientId, username, keepAlive: options.keepAlive ?? 60, properties: options.properties, cleanStart: options.cleanStart }),
              options.pipelined ?? Buffer.alloc(0),
            ]),
          );
          log?.event(connection, 'sent', 'connect', {
            protocolVersion: options.version === '5' ? 5 : 4,
            clientId: readable(options.clientId),
            ...(username === undefined ? {} : { username: readable(username) }),
            clean: options.cleanStart ?? true,
            keepalive: options.keepAlive ?? 60,
            ...(options.properties ? { propertiesHex: options.properties.toString('hex') } : {}),
            ...(options.pipelined ? { pipelinedBytes: options.pipelined.length } : {}),
            writtenByteByByte: true,
          });
        },
        () => {},
      );
      parser.once('packet', (packet) => {
        clearTimeout(timer);
        if (packet.cmd !== 'connack') return resolve({ accepted: false, message: `the server answered with ${packet.cmd}` });
        const code = packet.reasonCode ?? packet.returnCode ?? 0;
        if (code !== 0) {
          resolve({ accepted: false, code, reasonString: packet.properties?.reasonString, message: 'refused by CONNACK' });
          socket.destroy();
          return;
        }
        resolve({
          accepted: true,
          connection: new RawConnection(socket, options.version, parser, Date.now(), Date.now() - connectSentAt, log ? (sent) => log.packet(connection, 'sent', sent) : undefined),
          sessionPresent: packet.sessionPresent === true,
          properties: (packet.properties ?? {}) as Record<string, unknown>,
        });
      });
      socket.once('close', () => {
        clearTimeout(timer);
        resolve({ accepted: false, message: 'the connection closed with no CONNACK' });
      });
    });
  }

  /** Subscribes to one filter and resolves with the SUBACK's code for it, or undefined with no SUBACK within `timeoutMs`. */
  async subscribe(topic: string, qos: 0 | 1, timeoutMs: number): Promise<number | undefined> {
    const messageId = this.nextMessageId++;
    this.send({ cmd: 'subscribe', messageId, subscriptions: [{ topic, qos }] });
    const suback = await this.waitFor(() => this.subacks.find((packet) => packet.messageId === messageId), timeoutMs);
    return suback?.granted[0] as number | undefined;
  }

  /** The PUBLISHes received and not taken yet, once there are at least `count` of them or `timeoutMs` have passed; all of them are taken. */
  async received(count: number, timeoutMs: number): Promise<mqttPacket.IPublishPacket[]> {
    await this.waitFor(() => (this.publishes.length >= count ? true : undefined), timeoutMs);
    return this.publishes.splice(0);
  }

  /** Acknowledges a QoS 1 PUBLISH (the connection never does on its own); MQTT 5 may give the PUBACK User Properties (M5). */
  acknowledge(messageId: number, userProperties?: Record<string, string>): void {
    this.send(userProperties ? { cmd: 'puback', messageId, reasonCode: 0, properties: { userProperties } } : { cmd: 'puback', messageId });
  }

  private send(packet: mqttPacket.Packet): void {
    if (this.socket.destroyed) return;
    this.recordSent(packet);
    this.socket.write(mqttPacket.generate(packet, { protocolVersion: this.version === '5' ? 5 : 4 }));
  }

  private async waitFor<T>(found: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
    for (let waited = 0; waited < timeoutMs && !this.socket.destroyed; waited += 10) {
      const value = found();
      if (value !== undefined) return value;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return found();
  }

  pingreq(): void {
    this.send({ cmd: 'pingreq' });
  }

  /** Ends the connection with a DISCONNECT (the session, Clean Start with no expiry, ends with it). */
  close(): void {
    if (this.socket.destroyed) return;
    this.recordSent({ cmd: 'disconnect' });
    this.socket.end(mqttPacket.generate({ cmd: 'disconnect' }, { protocolVersion: this.version === '5' ? 5 : 4 }));
  }
}
