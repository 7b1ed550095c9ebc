// Everything this project reads or changes of aedes beyond its documented options, hooks and events,
// fenced in one module: aedes-internals.test.ts fails when aedes no longer has the shape relied on here.
// Each change acts on one broker or one client, never on aedes for the whole process.
import { finished, type Readable } from 'node:stream';
import type { Aedes, Client } from 'aedes';
import mqttPacket from 'mqtt-packet';

/** What of a QoS message queued for a session, or on its way to one, the broker reads. */
export interface QueuedPacket {
  /** The broker that took the message in, and its number there: together, the message's identity. */
  brokerId?: string | null;
  brokerCounter?: number;
  /** The packet identifier it was last sent with on a connection of the session. */
  messageId?: number;
  qos?: number;
  retain?: boolean;
  dup?: boolean;
  payload?: Buffer | string;
}

/** The part of aedes' persistence (untyped in its declarations) that the broker uses. */
export interface Persistence {
  cleanSubscriptions(client: { id: string }): Promise<void>;
  delWill(client: { id: string; brokerId: string }): Promise<unknown>;
  outgoingStream(client: { id: string }): AsyncIterable<unknown>;
  outgoingUpdate(client: { id: string }, packet: QueuedPacket): Promise<unknown>;
  outgoingClearMessageId(client: { id: string }, packet: QueuedPacket): Promise<unknown>;
  outgoingEnqueue(sub: { clientId: string }, packet: QueuedPacket): Promise<unknown>;
  outgoingEnqueueCombi(subs: { clientId: string; qos: number }[], packet: { payload?: Buffer | string }): Promise<unknown>;
  createRetainedStream(pattern: string): AsyncIterable<QueuedPacket & { qos: number }>;
}

/** aedes' broker, as far as its declarations leave it out. */
interface BrokerInternals {
  persistence: Persistence;
  clients: Record<string, Client>;
  registerClient(client: Client): void;
  unregisterClient(client: Client): void;
  scheduleSessionExpiry(client: Client): void;
}

/** aedes' client, as far as its declarations leave it out. */
interface ClientInternals {
  broker: Aedes;
  /** The connection's mqtt-packet parser: aedes listens for its 'packet' events. */
  _parser: { emit(event: string, ...args: unknown[]): boolean };
  /** Set once the accepting CONNACK is written. */
  connackSent?: boolean;
  /** Set once aedes has resent the session's queue after the CONNACK (until then, `connecting`). */
  connected?: boolean;
  /** Set when the connection failed (aedes then closes it without a DISCONNECT). */
  errored?: boolean;
  /** The CONNECT's protocol version, once it is accepted. */
  version?: number;
  /** MQTT 5: the Session Expiry Interval in force, as the CONNECT or a DISCONNECT set it (capped). */
  sessionExpiryInterval?: number;
  /** Set when the client ended with a DISCONNECT packet. */
  _disconnected?: boolean;
  /** aedes' answer to a packet over its maximumPacketSize (L15), and its mark that it is giving it. */
  rejectPacketTooLarge(size: number, done?: () => void): void;
  _rejectingPacketTooLarge?: boolean;
  /** The session ends with this connection (Session Expiry Interval 0): aedes persists nothing for it, and drops its queue on connecting. */
  clean: boolean;
  /** The Keep Alive timer (handlers/index.js refreshes it on each packet it handles). */
  _keepaliveTimer: NodeJS.Timeout | null;
  _keepaliveInterval: number;
  /** When set before the CONNACK, aedes announces it (MQTT 5 Server Keep Alive) and times the connection by it. */
  _serverKeepAlive?: number;
  /** Sends a QoS 1 or 2 message to this connection (aedes' subscriptions capture it when they are made). */
  deliverQoS(packet: QueuedPacket, callback: () => void): void;
  /** Sends a message at QoS 0 to this connection. */
  deliver0(packet: QueuedPacket, callback: () => void): void;
  closed?: boolean;
  /** The packet identifier the connection gives the next message it sends. */
  _nextId: number;
}

const brokerInternals = (broker: Aedes) => broker as unknown as BrokerInternals;
const clientInternals = (client: Client) => client as unknown as ClientInternals;

export const persistenceOf = (broker: Aedes): Persistence => brokerInternals(broker).persistence;

/** The mqtt-packet parser that reads this client's connection. */
export const parserOf = (client: Client): object => clientInternals(client)._parser;

/** The protocol version of the client's accepted CONNECT. */
export const protocolVersionOf = (client: Client): 4 | 5 => (clientInternals(client).version === 5 ? 5 : 4);

/** MQTT 5: the Session Expiry Interval in force when the connection ended (a DISCONNECT may change it); undefined over 3.1.1. */
export function expiryAtEnd(client: Client): number | undefined {
  const { version, sessionExpiryInterval } = clientInternals(client);
  return version === 5 ? sessionExpiryInterval : undefined;
}

/** Set once the accepting CONNACK is written (aedes sets it just after its 'connackSent' event). */
export const connackSent = (client: Client): boolean => clientInternals(client).connackSent === true;

/** The connection that holds this session now, once its CONNACK is out and until it closes; undefined when none does. */
export function liveClient(broker: Aedes, sessionName: string): Client | undefined {
  const client = brokerInternals(broker).clients[sessionName];
  return client && connackSent(client) && !clientInternals(client).closed ? client : undefined;
}

/**
 * Sends one message to one connection as aedes' own subscription would (M3: a shared group's member):
 * at most `qos`; a QoS 1 message to a session that outlives its connection goes in the session's queue
 * first, as aedes queues every message it sends such a session, so that its PUBACK clears it there.
 */
export function deliverToClient(broker: Aedes, client: Client, packet: QueuedPacket & { qos: number }, qos: number, done: () => void): void {
  const internals = clientInternals(client);
  const copy = { ...packet, qos: Math.min(packet.qos, qos), messageId: undefined };
  if (copy.qos === 0) return internals.deliver0(copy, done);
  if (internals.clean) return internals.deliverQoS(copy, done);
  persistenceOf(broker)
    .outgoingEnqueue({ clientId: client.id }, copy)
    .then(() => internals.deliverQoS(copy, done), done);
}

/**
 * Queues one QoS 1 message in a session held without a connection (M3: a shared group's member while
 * none of the group is connected), as aedes queues a message for an offline subscriber: it is sent
 * when the session resumes, and counts towards the session's queue (L8, `onQueued`).
 */
export async function enqueueForSession(broker: Aedes, sessionName: string, packet: QueuedPacket & { qos: number }, qos: number): Promise<void> {
  const copy = { ...packet, qos: Math.min(packet.qos, qos), messageId: undefined };
  await persistenceOf(broker).outgoingEnqueueCombi([{ clientId: sessionName, qos: copy.qos }], copy);
}

/** The retained messages whose topics match a filter, as aedes keeps them (M3 mutant: sent to a group's new member). */
export const retainedMessages = (broker: Aedes, filter: string): AsyncIterable<QueuedPacket & { qos: number }> => persistenceOf(broker).createRetainedStream(filter);

export const endedWithDisconnect = (client: Client): boolean => clientInternals(client)._disconnected === true;

/** A packet as a take sees it: only the type is read here. */
export type IncomingPacket = { cmd?: string };

/**
 * Packets the client's parser decodes go to `take` before aedes sees them; those it takes (returns
 * true for), aedes never sees, unless the take hands one on later with `pass`. The take installed
 * last sees each packet first. A packet taken still counts as the client's activity for its Keep
 * Alive, as it would had aedes handled it.
 */
export function takeIncoming(client: Client, take: (packet: IncomingPacket, pass: (packet: IncomingPacket) => void) => boolean): void {
  const internals = clientInternals(client);
  const parser = internals._parser;
  const emit = parser.emit;
  const pass = (packet: IncomingPacket) => void emit.call(parser, 'packet', packet);
  parser.emit = (event: string, ...args: unknown[]) => {
    if (event !== 'packet' || !take(args[0] as IncomingPacket, pass)) return emit.call(parser, event, ...args);
    if (internals._keepaliveInterval > 0) internals._keepaliveTimer?.refresh();
    return true;
  };
}

/**
 * Hands a packet to this client's packet handling again, as if its parser had just decoded it: every
 * take installed with takeIncoming sees it, in order, and then aedes (for packets a take held back).
 */
export function replayIncoming(client: Client, packet: object): void {
  clientInternals(client)._parser.emit('packet', packet);
}

/**
 * aedes keys its client table by ClientID alone: a connection of the same identity that passed
 * CONNECT checks and then dropped before registering would unregister, or wipe the session of, the
 * live client with that id. Make those steps act only for the client that is really registered.
 */
export function guardAgainstStaleClients(broker: Aedes): void {
  const internals = brokerInternals(broker);
  const { registerClient, unregisterClient, scheduleSessionExpiry } = internals;
  internals.registerClient = (client) => {
    if (!client.closed) registerClient.call(broker, client);
  };
  internals.unregisterClient = (client) => {
    if (internals.clients[client.id] === client) unregisterClient.call(broker, client);
  };
  internals.scheduleSessionExpiry = (client) => {
    const live = internals.clients[client.id];
    if (!live || live === client) scheduleSessionExpiry.call(broker, client);
  };
}

/**
 * aedes resends a session's queued QoS 1 messages when it resumes (after a takeover or reconnect) but
 * leaves their DUP flag clear. A queued message that already has a packet identifier was sent before
 * [MQTT-4.4.0-1]: it goes out again with DUP=1 [MQTT-3.3.1-1]. One never sent keeps DUP=0, unless
 * `maySendAgain` says that a connection elsewhere may have sent any of them meanwhile: a session taken
 * over from a live connection at another instance, which goes on sending live messages until it hears
 * of the takeover, and gives a message its packet identifier in the queue only as it sends it, so
 * that this instance may read the queue before it does. Each is then sent with DUP=1.
 */
export function markRedeliveries(broker: Aedes, maySendAgain: (client: Client) => boolean = () => false): void {
  const persistence = persistenceOf(broker);
  const outgoingStream = persistence.outgoingStream.bind(persistence);
  persistence.outgoingStream = (client) => {
    const every = maySendAgain(client as Client);
    // A QoS 2 flow's PUBREL, queued in place of its PUBLISH once the PUBREC came, is resent as it is: a
    // PUBREL has no DUP flag (its fixed header's flags are 0010 [MQTT-3.6.1-1]; mqtt-packet writes DUP when asked).
    const resent = (packet: { cmd?: string; messageId?: number }) => (packet.cmd === undefined || packet.cmd === 'publish') && (every || packet.messageId !== undefined);
    return (outgoingStream(client) as Readable).map((packet: { cmd?: string; messageId?: number }) => (resent(packet) ? Object.assign(packet, { dup: true }) : packet));
  };
}

/**
 * aedes keeps each QoS 1 message it sent a persistent session until the PUBACK clears it, and sends it
 * again when the session resumes. A message the client was never sent, and must not be (too large for
 * it, L16), is cleared as an acknowledged one is.
 */
export function forgetOutgoing(client: Client, messageId: number): Promise<unknown> {
  const { broker } = clientInternals(client);
  return persistenceOf(broker).outgoingClearMessageId(client, { messageId });
}

/** The packet identifier aedes gives the next message it sends this client. */
export const nextPacketId = (client: Client): number => clientInternals(client)._nextId;

/**
 * A connection that takes a session over from one at another instance numbers its packets on from
 * the older one's (`id`, as that instance answered), as a takeover in one broker does (SessionDeliveries):
 * identifiers the older gave may still be in flight, and in the queue.
 */
export function numberPacketsFrom(client: Client, id: number): void {
  if (Number.isInteger(id) && id >= 1 && id <= 65_535) clientInternals(client)._nextId = id;
}

/**
 * aedes marks a connection whose Session Expiry Interval is 0 `clean` (its session ends with it) and, on
 * connecting, drops unsent what the session had queued, even when Clean Start 0 resumes that session
 * (whose subscriptions it does restore, Session Present 1). MQTT 5 resumes the session with its state
 * all the same [MQTT-3.1.2-5], the expiry only ends it with this connection [MQTT-3.1.2-11]. For the
 * clients `resumes` names, the mark is lifted from the CONNACK (which aedes follows with the queue)
 * until the client is ready: the queue is delivered, and the session still ends with the connection
 * (aedes ends it by its Session Expiry Interval, not by the mark).
 */
export function deliverQueueOnResume(broker: Aedes, resumes: (client: Client) => boolean): void {
  broker.on('connackSent', (connack, client) => {
    const code = (connack as { reasonCode?: number; returnCode?: number }).reasonCode ?? (connack as { returnCode?: number }).returnCode;
    if (!code && clientInternals(client).clean && resumes(client)) clientInternals(client).clean = false;
  });
  broker.on('clientReady', (client) => {
    if (resumes(client) && clientInternals(client).sessionExpiryInterval === 0) clientInternals(client).clean = true;
  });
}

/** Calls `queued` for every message aedes stores for sessions to deliver later, once it is stored. */
export function onQueued(broker: Aedes, queued: (subs: { clientId: string; qos: number }[], packet: { payload?: Buffer | string }) => Promise<void>): void {
  const persistence = persistenceOf(broker);
  const enqueue = persistence.outgoingEnqueueCombi.bind(persistence);
  // aedes' publish goes on once the count (and an overflow's end of the session) is done.
  persistence.outgoingEnqueueCombi = (subs, packet) =>
    enqueue(subs, packet).then(async (result) => {
      await queued(subs, packet);
      return result;
    });
}

/**
 * What aedes publishes on its message fan-out (`$SYS/<broker id>/new/clients`, the ClientID as payload)
 * when it registers a client; brokers sharing the fan-out close their own client of that id on hearing it.
 */
export const NEW_CLIENTS_TOPIC = '$SYS/+/new/clients';

/** What aedes publishes on its fan-out when a client's connection ends (the ClientID as payload). */
export const GONE_CLIENTS_TOPIC = '$SYS/+/disconnect/clients';

/**
 * aedes times each MQTT 5 session that outlives its connection and wipes it at its expiry, in the
 * memory of the one process that saw it end. Where instances share the sessions (Redis), the session
 * may resume on another instance and the timer would wipe it there; a restart would forget it. The
 * session store sweeps expired sessions for the whole namespace instead (the adapter wipes them).
 */
export function leaveSessionExpiryToTheStore(broker: Aedes): void {
  brokerInternals(broker).scheduleSessionExpiry = () => {};
}

/** Stops the client's Keep Alive timer for good (aedes arms it before the client is ready). */
export function stopKeepAliveTimer(client: Client): void {
  const internals = clientInternals(client);
  if (internals._keepaliveTimer) clearTimeout(internals._keepaliveTimer);
  internals._keepaliveTimer = null;
  // Below zero, aedes no longer refreshes the timer on each packet.
  internals._keepaliveInterval = -1;
}

/** The Keep Alive in force for a client whose CONNECT is being accepted (before its CONNACK). */
export function setServerKeepAlive(client: Client, seconds: number): void {
  clientInternals(client)._serverKeepAlive = seconds;
}

/** MQTT 5 DISCONNECT reason codes: another connection took the session over; the server is shutting down; a packet over the limit. */
const SESSION_TAKEN_OVER = 0x8e;
const SERVER_SHUTTING_DOWN = 0x8b;
const PACKET_TOO_LARGE = 0x95;

/**
 * The Reason String of each DISCONNECT the broker sends with no reason of its own: those above, and
 * aedes' own (an invalid Topic Alias, a protocol error in a SUBSCRIBE). MQTT 5 does not require one,
 * but Python's paho-mqtt (1.6, as Debian ships it, and 2.x: eclipse-paho/paho.mqtt.python#860) reads a
 * DISCONNECT's reason code only when properties follow it: without them its users were told of a
 * takeover (0x8E) or a shutdown (0x8B) as of a lost connection. A Reason String that would take the
 * packet past the client's Maximum Packet Size is left out (client-flow-control.ts).
 */
const DISCONNECT_REASONS: Partial<Record<number, string>> = {
  0x82: 'protocol error',
  [SERVER_SHUTTING_DOWN]: 'server shutting down',
  [SESSION_TAKEN_OVER]: 'session taken over by another connection',
  0x94: 'topic alias invalid',
  [PACKET_TOO_LARGE]: 'packet too large',
};

/** An MQTT 5 DISCONNECT with `reasonCode`, and its Reason String when it has one. */
function disconnectPacket(reasonCode: number): mqttPacket.IDisconnectPacket {
  const reasonString = DISCONNECT_REASONS[reasonCode];
  return { cmd: 'disconnect', reasonCode, ...(reasonString ? { properties: { reasonString } } : {}) };
}

/** aedes' own DISCONNECTs to this client (client.disconnect with a reason code and no properties) carry the code's Reason String. */
export function explainDisconnects(client: Client): void {
  const disconnect = client.disconnect.bind(client) as (opts?: { reasonCode?: number; properties?: object }, callback?: () => void) => void;
  client.disconnect = ((opts?: { reasonCode?: number; properties?: object } | (() => void), callback?: () => void) => {
    if (typeof opts !== 'object' || opts.properties || opts.reasonCode === undefined) return disconnect(opts as never, callback);
    return disconnect({ ...opts, properties: disconnectPacket(opts.reasonCode).properties }, callback);
  }) as Client['disconnect'];
}

/**
 * Writes an MQTT 5 DISCONNECT to a client whose CONNACK is out (`connackOut`: written, when aedes has
 * not marked it yet), unless its connection is over.
 */
function writeDisconnect(client: Client, reasonCode: number, connackOut = clientInternals(client).connackSent === true): void {
  const internals = clientInternals(client);
  if (internals.version === 5 && connackOut && !client.closed && !internals.errored) {
    mqttPacket.writeToStream(disconnectPacket(reasonCode), client.conn as unknown as NodeJS.WritableStream, { protocolVersion: 5 });
  }
}

/**
 * aedes answers a packet over the packet limit (L15) with DISCONNECT 0x95 only to a client it counts as
 * connected, which it does once it has resent the session's queue after the CONNACK: a client that sent
 * one while its queue was resent (the longer the queue or the slower the store, Redis, the longer that
 * is) was closed without it. From its accepting CONNACK, a client is answered as a connected one is: the
 * broker's 'clientError', the DISCONNECT, and the close once it is written.
 */
export function disconnectOversizedFromConnack(broker: Aedes): void {
  broker.on('connackSent', (connack, client) => {
    const { reasonCode, returnCode } = connack as { reasonCode?: number; returnCode?: number };
    const internals = clientInternals(client);
    if (reasonCode || returnCode || internals.version !== 5 || internals.connected) return;
    const reject = internals.rejectPacketTooLarge.bind(client);
    internals.rejectPacketTooLarge = (size, done) => {
      if (internals.connected || overOrRefused(client)) return reject(size, done);
      const error = Object.assign(new Error('packet too large'), { size, maximumPacketSize: (broker as unknown as { maximumPacketSize: number }).maximumPacketSize });
      client.conn.write(refuseTooLarge(client, error), () => client.close(done));
    };
  });
}

/** Whether the client's connection is over, or was already refused a packet over the limit. */
function overOrRefused(client: Client): boolean {
  const internals = clientInternals(client);
  return client.closed || internals.errored === true || internals._rejectingPacketTooLarge === true;
}

/** Marks the client refused a packet over the limit, as aedes marks its own refusal, tells the broker ('clientError'), and answers the DISCONNECT 0x95 to write. */
function refuseTooLarge(client: Client, error: Error): Buffer {
  const internals = clientInternals(client);
  internals._rejectingPacketTooLarge = true;
  internals.broker.emit('clientError', client, error);
  return mqttPacket.generate(disconnectPacket(PACKET_TOO_LARGE), { protocolVersion: 5 });
}

/**
 * The DISCONNECT 0x95 owed to a client whose packet over the limit its transport refused before aedes
 * could read it (a WebSocket message past ws' bound), marked as given as aedes marks its own; undefined
 * when none is owed: MQTT 3.1.1, no accepting CONNACK yet (L15: the connection just ends), or the
 * connection over or already refused.
 */
export function packetTooLargeDisconnect(client: Client): Buffer | undefined {
  const internals = clientInternals(client);
  if (internals.version !== 5 || !internals.connackSent || overOrRefused(client)) return undefined;
  return refuseTooLarge(client, new Error('packet too large: a WebSocket message past its bound'));
}

/**
 * The broker is closing: aedes sends DISCONNECT 0x8B only to a client it counts as connected, and one
 * still resending its session's queue after its CONNACK would be closed without it. It gets it here.
 */
export function announceShutdown(client: Client): void {
  if (!clientInternals(client).connected) writeDisconnect(client, SERVER_SHUTTING_DOWN);
}

/** How far a connection of a persistent session is in sending what its session holds. */
interface Delivery {
  /**
   * 'connecting' until aedes reads the session's queue to resend it (after the CONNACK), 'resending'
   * while it does, then 'live'.
   */
  phase: 'connecting' | 'resending' | 'live';
  /** Queued messages the resend has taken, until their live delivery (if one comes) is skipped. */
  resent: Set<string>;
  /** Messages sent live while the resend runs: the resend skips them. */
  sentLive: Set<string>;
}

/** A message's identity across its copies: the queued one and the ones aedes delivers live. */
function messageKey(packet: QueuedPacket): string | undefined {
  return packet.brokerId && packet.brokerCounter !== undefined ? `${packet.brokerId}:${packet.brokerCounter}` : undefined;
}

/**
 * Keeps a persistent session's QoS 1 and 2 messages whole across takeovers and reconnections, each sent
 * once per connection. aedes, for every message to a persistent session, stores it in the session's
 * queue and also delivers it to the connected client; when a connection takes the session over or
 * resumes it, aedes subscribes it before it reads the queue to resend it, and disconnects the old
 * connection after that. Left alone, this:
 *
 * - sends a message on both the old connection (after its DISCONNECT 0x8E, even) and the new one, each
 *   time as new (DUP=0), and lets the old one, still delivering, write its own packet identifier over
 *   the new one's in the queue, so that the new connection's PUBACK no longer clears it;
 * - sends one message twice on the new connection, from the queue and live, the second without DUP;
 * - closes the new connection, without a DISCONNECT, when a queued message was acknowledged (by a
 *   PUBACK of the old connection, or a stale one on the new connection) between aedes' reading of the
 *   queue and its resending of that message: outgoingUpdate fails with 'no such packet' and aedes takes
 *   that as a connection error. The session is then offline, and L8 soon ends it with all it held.
 *
 * So, per broker: a connection that was taken over sends nothing more and no longer writes packet
 * identifiers into the queue (its PUBACKs still count); a new connection sends nothing live until aedes
 * has read the queue, and then each message once, from the queue or live, whichever comes first; a
 * queued message gone by the time aedes resends it is skipped; and the new connection numbers its
 * packets on from the old one's, so that identifiers still in flight are never given twice. A
 * connection taken over while it still resends its queue gets its DISCONNECT 0x8E too.
 * Pass `authorizeForward` to the broker's options, `attach` the broker, `track` each client.
 */
export class SessionDeliveries {
  private readonly deliveries = new WeakMap<object, Delivery>();
  /** Clients another connection of their session took over. */
  private readonly supersededClients = new WeakSet<object>();
  /** Packets aedes is resending that are no longer in the queue. */
  private readonly gone = new WeakSet<object>();

  /** `takenOver` is told of a connection the moment another one takes its session over, before aedes disconnects it. */
  constructor(private readonly takenOver: (client: Client) => void = () => {}) {}

  /**
   * aedes' authorizeForward hook: a queued message that is gone by the time aedes resends it is not sent.
   * It never refuses a live delivery: for a persistent session aedes would then clear the queue's first
   * message not yet sent (it clears by a packet identifier the live copy does not have yet).
   */
  readonly authorizeForward = <Packet extends object>(_client: Client, packet: Packet): Packet | null => (this.gone.has(packet) ? null : packet);

  /** Whether another connection of this client's session took it over. */
  superseded(client: Client): boolean {
    return this.supersededClients.has(client);
  }

  attach(broker: Aedes): void {
    const internals = brokerInternals(broker);
    const registerClient = internals.registerClient;
    internals.registerClient = (client) => {
      const previous = client.closed ? undefined : internals.clients[client.id];
      if (previous && previous !== client) {
        // Identifiers the old connection gave are still in the queue: the new one numbers on from them.
        clientInternals(client)._nextId = clientInternals(previous)._nextId;
        // aedes sends DISCONNECT 0x8E only to a connection it counts as connected: one still resending
        // its session's queue after its CONNACK would be closed without it [S8].
        this.supersedeWith(previous, !clientInternals(previous).connected);
      }
      registerClient.call(broker, client);
    };

    const persistence = persistenceOf(broker);
    const outgoingStream = persistence.outgoingStream.bind(persistence);
    persistence.outgoingStream = (client) => {
      const stream = outgoingStream(client) as Readable;
      const delivery = this.deliveries.get(client);
      if (!delivery || this.supersededClients.has(client)) return stream;
      // aedes has just read the queue (the stream holds a copy): from here on, live messages go out too.
      delivery.phase = 'resending';
      const resend = stream.filter((packet: QueuedPacket) => {
        const key = messageKey(packet);
        if (key === undefined) return true;
        if (delivery.sentLive.delete(key)) return false;
        delivery.resent.add(key);
        return true;
      });
      finished(resend, () => {
        delivery.phase = 'live';
        delivery.sentLive.clear();
      });
      return resend;
    };

    const outgoingUpdate = persistence.outgoingUpdate.bind(persistence);
    persistence.outgoingUpdate = (client, packet) => {
      // The queue's packet identifiers are the new connection's.
      if (this.supersededClients.has(client)) {
        this.gone.add(packet);
        return Promise.resolve(undefined);
      }
      return outgoingUpdate(client, packet).catch((error: Error) => {
        // Acknowledged (or the session wiped) since aedes took it from the queue: not sent again.
        if (error.message !== 'no such packet') throw error;
        this.gone.add(packet);
        return undefined;
      });
    };

    const outgoingClearMessageId = persistence.outgoingClearMessageId.bind(persistence);
    persistence.outgoingClearMessageId = (client, packet) => (this.gone.has(packet) ? Promise.resolve(undefined) : outgoingClearMessageId(client, packet));
  }

  /**
   * A connection of another broker sharing the namespace took this client's session over: it gets
   * DISCONNECT 0x8E (MQTT 5) and nothing more. Its packet identifiers are the other connection's to
   * give from now on. `connackOut`: its CONNACK is written, though aedes may not have marked it yet.
   */
  supersede(client: Client, connackOut?: boolean): void {
    this.supersedeWith(client, true, connackOut);
  }

  private supersedeWith(client: Client, sendDisconnect: boolean, connackOut?: boolean): void {
    this.supersededClients.add(client);
    this.takenOver(client);
    if (sendDisconnect) writeDisconnect(client, SESSION_TAKEN_OVER, connackOut);
  }

  /** A new client, before aedes reads from it. */
  track(client: Client): void {
    const delivery: Delivery = { phase: 'connecting', resent: new Set(), sentLive: new Set() };
    this.deliveries.set(client, delivery);
    const internals = clientInternals(client);
    const deliverQoS = internals.deliverQoS;
    internals.deliverQoS = (packet, callback) => {
      if (this.sends(client, delivery, packet)) deliverQoS.call(client, packet, callback);
      else setImmediate(callback);
    };
  }

  /** Whether a message aedes delivers live goes out on this connection (a skipped one stays queued). */
  private sends(client: Client, delivery: Delivery, packet: QueuedPacket): boolean {
    if (this.supersededClients.has(client)) return false;
    // The hot path: resent and live no longer overlap.
    if (delivery.phase === 'live' && delivery.resent.size === 0) return true;
    const key = messageKey(packet);
    // Only what aedes also queued for the session: QoS 1 and 2, not retained on subscribing, to a session that outlives its connection.
    if (!packet.qos || packet.retain || key === undefined || client.clean) return true;
    // It is in the queue, which is sent after the CONNACK.
    if (delivery.phase === 'connecting') return false;
    if (delivery.resent.delete(key)) return false;
    if (delivery.phase === 'resending') delivery.sentLive.add(key);
    return true;
  }
}
