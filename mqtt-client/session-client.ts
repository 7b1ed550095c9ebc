// One MQTT session as a scenario sees it: an mqtt.js client authenticated with an identity's
// certificate, what its CONNACK said, the messages it received and how its connection ended.
import type { SecureContext, TLSSocket } from 'node:tls';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { within } from '../common/timing.ts';
import { REAUTHENTICATE } from '../rules/codes.ts';
import type { LoadedIdentity } from '../certs/manifest.ts';
import type { MqttVersion } from '../rules/catalogue.ts';
import type { PacketLog } from './packet-log.ts';
import { secureContextFor, type TlsSessions } from './tls-context.ts';
import { transportOf } from '../rules/transports.ts';
import { webSocketOptions } from './transport.ts';

export interface SessionClientOptions {
  url: string;
  /** PEM of the CA that signed the endpoint's server certificate. */
  ca: string;
  identity: LoadedIdentity;
  sessionName: string;
  version: MqttVersion;
  /** The CONNECT Username; default the identity's authentication name, null for none. */
  username?: string | null;
  /** MQTT 5 Clean Start / MQTT 3.1.1 Clean Session; default false. */
  cleanStart?: boolean;
  /** MQTT 5 Session Expiry Interval, seconds. */
  sessionExpiry?: number;
  /** Present no client certificate (the identity still gives the Username). */
  withoutCertificate?: boolean;
  /**
   * Authenticate with a token instead of the certificate (MQTT 5 CONNECT Authentication Method and Data;
   * over MQTT 3.1.1, the token is the password): no client certificate is presented.
   */
  token?: { method: string; data: string };
  /** The CONNECT Password (a webhook's credential); no client certificate is presented with it. */
  password?: string;
  /** Keep Alive, seconds (mqtt.js default 60). */
  keepAlive?: number;
  /** MQTT 5: the largest packet, in bytes, the client accepts (CONNECT Maximum Packet Size); mqtt.js closes the connection on a larger one. */
  maximumPacketSize?: number;
  /** MQTT 5: the CONNECT's Request Response Information 1 (M4). */
  requestResponseInformation?: boolean;
  /** MQTT 5: User Properties on the CONNECT itself (M5). */
  userProperties?: Record<string, string>;
  /** A Will Message, published by the server if the connection ends without a DISCONNECT. */
  will?: WillOptions;
  timeoutMs: number;
  /** Resume TLS sessions from here, and keep new ones in it; without it, every connection is a full handshake. */
  tlsSessions?: TlsSessions;
  /** Where the connection's packets are recorded (the scenario's log), if anywhere. */
  packetLog?: PacketLog;
}

export interface WillOptions {
  topic: string;
  payload: string;
  qos: 0 | 1 | 2;
  retain?: boolean;
  /** MQTT 5 Will Properties (Will Delay Interval, Message Expiry Interval, ...). */
  properties?: Record<string, unknown>;
}

export interface Refused {
  accepted: false;
  /** CONNACK reason code (5) or return code (3.1.1); undefined when the connection closed with none. */
  code?: number;
  reasonString?: string;
  message: string;
}

export interface Accepted {
  accepted: true;
  client: SessionClient;
}

export interface ReceivedMessage {
  topic: string;
  payload: string;
  qos: number;
  /** The RETAIN flag: sent because it was retained (a live message's is 0 unless Retain As Published). */
  retain: boolean;
  /** MQTT 5: the PUBLISH's properties as received. */
  properties?: Record<string, unknown>;
}

/** What became of a PUBLISH: the PUBACK's reason code (0 over 3.1.1), or the connection closing. */
export type PublishOutcome = { acknowledged: true; reasonCode: number } | { acknowledged: false; closed: boolean; message: string };

export interface ConnectionEnd {
  /** Reason code of a DISCONNECT the server sent (MQTT 5), if it sent one. */
  disconnectReasonCode?: number;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class SessionClient {
  readonly sessionPresent: boolean;
  readonly connackProperties: Record<string, unknown>;
  /** When its CONNACK arrived (performance.now()): the target had accepted it by then. */
  readonly acceptedAt = performance.now();
  /**
   * How and when (performance.now()) the client began to leave its session: the target cannot have
   * seen the session left any earlier, so its expiry cannot end before this plus the interval (the one
   * its DISCONNECT gave, if it gave one).
   */
  left?: { how: 'disconnect' | 'drop'; at: number; sessionExpiry?: number };
  private readonly inbox: ReceivedMessage[] = [];
  private readonly waiters = new Set<() => void>();
  private disconnectReasonCode?: number;
  readonly ended: Promise<ConnectionEnd>;

  private constructor(
    private readonly mqttClient: MqttClient,
    connack: mqtt.IConnackPacket,
    private readonly timeoutMs: number,
  ) {
    this.sessionPresent = connack.sessionPresent;
    this.connackProperties = (connack.properties ?? {}) as Record<string, unknown>;
    mqttClient.on('message', (topic, payload, packet) => {
      this.inbox.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain, ...(packet.properties ? { properties: packet.properties as Record<string, unknown> } : {}) });
      for (const wake of [...this.waiters]) wake();
    });
    mqttClient.on('disconnect', (packet) => (this.disconnectReasonCode = packet.reasonCode));
    this.ended = new Promise((resolve) =>
      mqttClient.once('close', () => resolve({ disconnectReasonCode: this.disconnectReasonCode })),
    );
  }

  /** Opens the connection; resolves with the CONNACK's verdict, never rejects for a refusal. */
  static connect(options: SessionClientOptions): Promise<Accepted | Refused> {
    const username = options.username === undefined ? options.identity.entry.authenticationName : options.username;
    const secureContext = secureContextFor(options.identity, options.ca, options.withoutCertificate || options.token !== undefined || options.password !== undefined);
    const token = options.token;
    const authentication = token && options.version === '5' ? { authenticationMethod: token.method, authenticationData: Buffer.from(token.data) } : undefined;
    const session = options.tlsSessions?.offer(secureContext, options.url);
    const keepSessions = (socket: TLSSocket) => options.tlsSessions?.keep(socket, secureContext, options.url);
    // Over TLS, mqtt.js hands its options on to tls.connect, secureContext and session included (its types
    // leave them out); over WebSockets, ws makes the TLS connection with them (transport.ts).
    const overWebSockets = transportOf(options.url) === 'wss';
    const mqttOptions: IClientOptions & { secureContext: SecureContext; session?: Buffer } = {
      secureContext,
      ...(session ? { session } : {}),
      ...(overWebSockets ? { wsOptions: webSocketOptions({ secureContext, session, onSocket: keepSessions }) } : {}),
      clientId: options.sessionName,
      protocolVersion: options.version === '5' ? 5 : 4,
      clean: options.cleanStart ?? false,
      reconnectPeriod: 0,
      ...(options.keepAlive === undefined ? {} : { keepalive: options.keepAlive }),
      connectTimeout: options.timeoutMs,
      ...(username === null ? {} : { username }),
      ...(token && options.version === '3.1.1' ? { password: Buffer.from(token.data) } : {}),
      ...(options.password === undefined ? {} : { password: Buffer.from(options.password) }),
      ...(options.version === '5' && (options.sessionExpiry !== undefined || options.maximumPacketSize !== undefined || options.requestResponseInformation || options.userProperties || authentication)
        ? {
            properties: {
              ...(options.sessionExpiry === undefined ? {} : { sessionExpiryInterval: options.sessionExpiry }),
              ...(options.maximumPacketSize === undefined ? {} : { maximumPacketSize: options.maximumPacketSize }),
              ...(options.requestResponseInformation ? { requestResponseInformation: true } : {}),
              ...(options.userProperties ? { userProperties: options.userProperties } : {}),
              ...authentication,
            },
          }
        : {}),
      ...(options.will
        ? {
            will: {
              topic: options.will.topic,
              payload: Buffer.from(options.will.payload),
              qos: options.will.qos,
              retain: options.will.retain ?? false,
              ...(options.version === '5' && options.will.properties ? { properties: options.will.properties } : {}),
            },
          }
        : {}),
    };
    const client = mqtt.connect(options.url, mqttOptions);
    const log = options.packetLog;
    if (log) {
      const connection = log.connection(options.identity.entry.id, options.sessionName);
      // mqtt.js writes its CONNECT without a 'packetsend': it is recorded from what it is given.
      const { clientId, username: user, password, clean, keepalive, protocolVersion, properties, will } = mqttOptions;
      log.packet(connection, 'sent', { cmd: 'connect', clientId, username: user, password, clean, keepalive: keepalive ?? 60, protocolVersion, properties, will } as { cmd: string });
      client.on('packetsend', (packet) => packet.cmd !== 'connect' && log.packet(connection, 'sent', packet));
      client.on('packetreceive', (packet) => log.packet(connection, 'received', packet));
      client.stream.once('close', () => log.event(connection, 'closed', 'close'));
    }
    if (!overWebSockets) keepSessions(client.stream as TLSSocket);
    const outcome = new Promise<Accepted | Refused>((resolve) => {
      let refusal: Refused | undefined;
      client.once('connect', (connack) => resolve({ accepted: true, client: new SessionClient(client, connack, options.timeoutMs) }));
      client.on('error', (error: Error & { code?: number | string }) => {
        refusal ??= {
          accepted: false,
          code: typeof error.code === 'number' ? error.code : undefined,
          message: error.message,
        };
      });
      client.on('packetreceive', (packet) => {
        if (packet.cmd === 'connack' && refusal === undefined && (packet.reasonCode || packet.returnCode)) {
          refusal = {
            accepted: false,
            code: packet.reasonCode ?? packet.returnCode,
            reasonString: packet.properties?.reasonString,
            message: 'refused by CONNACK',
          };
        }
      });
      client.once('close', () => {
        client.end(true);
        resolve(refusal ?? { accepted: false, message: 'the connection closed with no CONNACK' });
      });
    });
    return withTimeout(outcome, options.timeoutMs + 1000, `a CONNACK for session "${options.sessionName}"`).catch(
      (error: Error) => {
        client.end(true);
        throw error;
      },
    );
  }

  /**
   * Ends a session for good, whatever it held: connects with Clean Start and no expiry, then
   * disconnects. Resolves false when the target would not let this identity in.
   */
  static async end(options: Omit<SessionClientOptions, 'cleanStart' | 'sessionExpiry'>): Promise<boolean> {
    const outcome = await SessionClient.connect({ ...options, cleanStart: true, ...(options.version === '5' ? { sessionExpiry: 0 } : {}) }).catch(() => undefined);
    if (!outcome?.accepted) return false;
    await outcome.client.disconnect().catch(() => outcome.client.close());
    return true;
  }

  get connected(): boolean {
    return this.mqttClient.connected;
  }

  async subscribe(topic: string, qos: 0 | 1): Promise<void> {
    const code = await this.subscribeCode(topic, qos);
    if (code === undefined || code >= 0x80) throw new Error(`subscription to ${topic} was refused (SUBACK code 0x${code?.toString(16)}): does a permission binding grant it?`);
  }

  /** Publishes at QoS 1; resolves with the PUBACK's reason code or how the connection ended instead. */
  async tryPublish(topic: string, payload: string | Buffer, options: { retain?: boolean } = {}): Promise<PublishOutcome> {
    const sent = this.mqttClient.publishAsync(topic, payload, { qos: 1, retain: options.retain ?? false }).then(
      (packet) => ({ acknowledged: true as const, reasonCode: (packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0 }),
      (error: Error & { code?: number }) =>
        typeof error.code === 'number'
          ? { acknowledged: true as const, reasonCode: error.code }
          : { acknowledged: false as const, closed: !this.mqttClient.connected, message: error.message },
    );
    const closed = this.ended.then(() => ({ acknowledged: false as const, closed: true, message: 'the connection closed' }));
    return withTimeout(Promise.race([sent, closed]), this.timeoutMs, `PUBACK for ${topic}`).catch((error: Error) => ({
      acknowledged: false as const,
      closed: false,
      message: error.message,
    }));
  }

  async publish(topic: string, payload: string | Buffer, qos: 0 | 1, options: { retain?: boolean } = {}): Promise<void> {
    await withTimeout(this.mqttClient.publishAsync(topic, payload, { qos, retain: options.retain ?? false }), this.timeoutMs, `PUBACK for ${topic}`);
  }

  /** Subscribes and returns the SUBACK's code for the filter (granted QoS, or a failure code), whatever it is; MQTT 5 may give the SUBSCRIBE User Properties (M5). */
  async subscribeCode(topic: string, qos: 0 | 1 | 2, userProperties?: Record<string, string>): Promise<number | undefined> {
    try {
      const options = userProperties ? { qos, properties: { userProperties } } : { qos };
      const granted = await withTimeout(this.mqttClient.subscribeAsync(topic, options), this.timeoutMs, `SUBACK for ${topic.slice(0, 40)}`);
      return granted[0]?.qos;
    } catch (error) {
      // mqtt.js rejects a refused subscription with the SUBACK (ErrorWithSubackPacket) or its code.
      const granted = (error as { packet?: { granted?: unknown[] } }).packet?.granted?.[0];
      if (typeof granted === 'number') return granted;
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'number') return code;
      throw error;
    }
  }

  /** MQTT 5: sends a SUBSCRIBE carrying a Subscription Identifier, without waiting for the SUBACK (it may end the connection). */
  sendSubscribeWithIdentifier(topic: string, qos: 0 | 1, subscriptionIdentifier: number): void {
    this.mqttClient.subscribe(topic, { qos, properties: { subscriptionIdentifier } }, () => {});
  }

  /** Sends a PUBLISH without waiting for any acknowledgement (it may end the connection). */
  /**
   * MQTT 5 re-authentication: an AUTH packet of reason 0x19 carrying a token; what came of it within
   * the timeout (undefined: nothing): the server's AUTH reason code, or how the connection ended.
   */
  async reauthenticate(token: { method: string; data: string }): Promise<{ authReasonCode: number } | { ended: ConnectionEnd; afterMs: number } | undefined> {
    const sentAt = performance.now();
    const answered = new Promise<{ authReasonCode: number }>((resolve) => {
      const onPacket = (packet: mqtt.Packet) => {
        if (packet.cmd !== 'auth') return;
        this.mqttClient.off('packetreceive', onPacket);
        resolve({ authReasonCode: packet.reasonCode ?? 0 });
      };
      this.mqttClient.on('packetreceive', onPacket);
    });
    // mqtt.js sends no AUTH of its own once connected (its API has none to send): the packet goes on its
    // stream whole, in one write, as mqtt.js writes its own packets.
    const auth = { cmd: 'auth' as const, reasonCode: REAUTHENTICATE, properties: { authenticationMethod: token.method, authenticationData: Buffer.from(token.data) } };
    this.mqttClient.stream.write(mqttPacket.generate(auth, { protocolVersion: 5 }));
    const ended = this.ended.then((end) => ({ ended: end, afterMs: Math.round(performance.now() - sentAt) }));
    return within(Promise.race([answered, ended]), this.timeoutMs);
  }

  sendPublish(topic: string, payload: string, qos: 0 | 1 | 2): void {
    this.mqttClient.publish(topic, payload, { qos }, () => {});
  }

  /**
   * Writes a QoS 1 PUBLISH carrying a Topic Alias (MQTT 5) as it is: mqtt.js would refuse to send an
   * alias above the server's maximum itself.
   */
  sendPublishWithAlias(topic: string, payload: string, topicAlias: number, messageId: number): void {
    const publish = { cmd: 'publish' as const, topic, payload: Buffer.from(payload), qos: 1 as const, retain: false, dup: false, messageId, properties: { topicAlias } };
    this.mqttClient.stream.write(mqttPacket.generate(publish, { protocolVersion: 5 }));
  }

  /** Messages received and not yet taken, on any topic. */
  pending(): readonly ReceivedMessage[] {
    return [...this.inbox];
  }

  /** Waits for a message on the topic that has not been taken yet, and takes it. */
  async nextMessage(topic: string, timeoutMs = this.timeoutMs): Promise<ReceivedMessage> {
    const take = () => {
      const index = this.inbox.findIndex((message) => message.topic === topic);
      return index < 0 ? undefined : this.inbox.splice(index, 1)[0];
    };
    const found = take();
    if (found) return found;
    let wake!: () => void;
    const arrived = new Promise<ReceivedMessage>((resolve) => {
      // A waiter takes one message and leaves at once: several PUBLISHes in one read are emitted in one
      // go, before any promise settles, and a waiter still registered would take (and lose) the next ones.
      wake = () => {
        const message = take();
        if (!message) return;
        this.waiters.delete(wake);
        resolve(message);
      };
      this.waiters.add(wake);
    });
    return withTimeout(arrived, timeoutMs, `a message on ${topic}`).finally(() => this.waiters.delete(wake));
  }

  /**
   * Ends the connection with a DISCONNECT: the session is held until its expiry, which MQTT 5 may
   * change here (0 ends the session with the connection).
   */
  async disconnect(options: { sessionExpiry?: number } = {}): Promise<void> {
    const packet = options.sessionExpiry === undefined ? {} : { properties: { sessionExpiryInterval: options.sessionExpiry } };
    this.left ??= { how: 'disconnect', at: performance.now(), ...(options.sessionExpiry === undefined ? {} : { sessionExpiry: options.sessionExpiry }) };
    await withTimeout(this.mqttClient.endAsync(false, packet), this.timeoutMs, 'the client to disconnect');
  }

  /** Drops the connection without a DISCONNECT, as a lost network would. */
  async drop(): Promise<void> {
    this.left ??= { how: 'drop', at: performance.now() };
    this.mqttClient.stream.destroy();
    await withTimeout(this.ended, this.timeoutMs, 'the connection to close');
    this.mqttClient.end(true);
  }

  /** Ends the client whatever its state, without waiting for the server. */
  close(): void {
    this.mqttClient.end(true);
  }
}
