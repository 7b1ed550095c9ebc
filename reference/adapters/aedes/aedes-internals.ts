// Everything this project reads or changes of aedes beyond its documented options, hooks and events,
// fenced in one module: aedes-internals.test.ts fails when aedes no longer has the shape relied on here.
// Each change acts on one broker or one client, never on aedes for the whole process.
import type { Readable } from 'node:stream';
import type { Aedes, Client } from 'aedes';

/** The part of aedes' persistence (untyped in its declarations) that the broker uses. */
export interface Persistence {
  cleanSubscriptions(client: { id: string }): Promise<void>;
  delWill(client: { id: string; brokerId: string }): Promise<unknown>;
  outgoingStream(client: { id: string }): AsyncIterable<unknown>;
  outgoingClearMessageId(client: { id: string }, packet: unknown): Promise<unknown>;
  outgoingEnqueueCombi(subs: { clientId: string; qos: number }[], packet: { payload?: Buffer | string }): Promise<unknown>;
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
  /** The CONNECT's protocol version, once it is accepted. */
  version?: number;
  /** MQTT 5: the Session Expiry Interval in force, as the CONNECT or a DISCONNECT set it (capped). */
  sessionExpiryInterval?: number;
  /** Set when the client ended with a DISCONNECT packet. */
  _disconnected?: boolean;
  /** The session ends with this connection (Session Expiry Interval 0): aedes persists nothing for it, and drops its queue on connecting. */
  clean: boolean;
  /** The Keep Alive timer (handlers/index.js refreshes it on each packet it handles). */
  _keepaliveTimer: NodeJS.Timeout | null;
  _keepaliveInterval: number;
  /** When set before the CONNACK, aedes announces it (MQTT 5 Server Keep Alive) and times the connection by it. */
  _serverKeepAlive?: number;
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
 * [MQTT-4.4.0-1]: it goes out again with DUP=1 [MQTT-3.3.1-1]. One never sent keeps DUP=0.
 */
export function markRedeliveries(broker: Aedes): void {
  const persistence = persistenceOf(broker);
  const outgoingStream = persistence.outgoingStream.bind(persistence);
  persistence.outgoingStream = (client) =>
    (outgoingStream(client) as Readable).map((packet: { messageId?: number }) => (packet.messageId ? Object.assign(packet, { dup: true }) : packet));
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
export function onQueued(broker: Aedes, queued: (subs: { clientId: string; qos: number }[], packet: { payload?: Buffer | string }) => void): void {
  const persistence = persistenceOf(broker);
  const enqueue = persistence.outgoingEnqueueCombi.bind(persistence);
  persistence.outgoingEnqueueCombi = async (subs, packet) => {
    const result = await enqueue(subs, packet);
    queued(subs, packet);
    return result;
  };
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
