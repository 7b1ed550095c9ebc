// aedes' persistence on Redis: aedes-persistence-redis 11.2, adapted to aedes 2.0.0-beta.1 (the only
// module that touches it beyond its API, with redis-session-wipe.ts, which removes a session's keys;
// shared-namespace.test.ts and redis-session-wipe.test.ts check its shape).
//
// aedes-persistence-redis 11.2 writes each persistent session's QoS 1 queue, and each connection's will,
// in sequential round trips, and aedes waits for each in turn on a connection's path: a publisher's next
// packet waits for the queueing (and so does its PUBACK: durable-acks.ts), a subscriber's next packet for
// the clearing of the message it acknowledged, a CONNACK for the removal of the connection's earlier
// will. The same keys and values are written here in one round trip each (the keys,
// `packet:<broker>:<counter>`, `…:offlineCount`, `outgoing:<client>`, `will:<broker>:<client>`, are its
// own: shared-namespace.test.ts compares what both write). Its `packetTTL` option (an EXPIRE) and its
// cluster mode are not used here. A CONNECT's read of the session's subscriptions is answered from what
// the session store's claim read of them (connect-reads.ts), at the key and in the format given here.
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type { Redis } from 'ioredis';

const requireHere = createRequire(import.meta.url);
const requireBesidePersistence = createRequire(requireHere.resolve('aedes-persistence-redis/asyncPersistence.js'));
/** What aedes-persistence-redis stores a queued message as: aedes-persistence's Packet, in msgpack. */
const { Packet } = requireBesidePersistence('aedes-persistence') as { Packet: new (packet: object) => object };
const msgpack = requireBesidePersistence('msgpack-lite') as { encode(value: unknown): Buffer; decode(buffer: Buffer): Record<string, unknown> };
/** The bounded cache it keeps its own message identifiers in (least recently used out past the bound). */
const hashLru = requireBesidePersistence('hashlru') as (max: number) => { get(key: string): string | undefined; set(key: string, value: string): void; remove(key: string): void };

interface QueuedMessage {
  brokerId: string;
  brokerCounter: number;
  messageId?: number;
  cmd?: string;
  qos?: number;
}

/** What of aedes-persistence-redis is replaced here. */
export interface PersistenceWrites {
  delWill(client: { id: string; brokerId?: string }): Promise<unknown>;
  outgoingEnqueueCombi(subs: { clientId: string }[], packet: QueuedMessage): Promise<void>;
  outgoingEnqueue(sub: { clientId: string }, packet: QueuedMessage): Promise<void>;
  outgoingUpdate(client: { id: string }, packet: QueuedMessage): Promise<void>;
  outgoingClearMessageId(client: { id: string }, packet: { messageId?: number }): Promise<unknown>;
}

/** A session's queue: the list of its messages' packet keys (the ClientID URI-encoded, as it writes it). */
export const queueKey = (clientId: string) => `outgoing:${encodeURIComponent(clientId)}`;

/**
 * The acknowledged message out of the session's queue, its subscriber count down, and the message gone
 * with its last subscriber: its GET, LREM, DECR and DEL as one script. Answers the stored packet (or
 * nil when it was gone already).
 */
const CLEAR_MESSAGE = `
local raw = redis.call('GET', KEYS[2])
redis.call('LREM', KEYS[1], 0, KEYS[2])
if raw and redis.call('DECR', KEYS[3]) <= 0 then redis.call('DEL', KEYS[2], KEYS[3]) end
return raw`;

type ClearCall = (queue: string, packetKey: string, countKey: string) => Promise<Buffer | null>;

/**
 * Removing a will in one MULTI (its own: an LREM sent with a GET, then a DEL), queueing a message for
 * its subscribers in one MULTI (its own: an MSET of the packet and its count,
 * then an RPUSH per subscriber, in turn), and clearing a QoS 1 message a session acknowledged in one
 * script (its own: GET, LREM, DECR, DEL in turn). Which packet key a session's packet identifier stands
 * for is recorded here as a QoS 1 message is sent (`outgoingUpdate`), where it records it in a private
 * cache; what is not recorded here (a QoS 2 flow's) is left to it.
 */
function inFewerRoundTrips(persistence: PersistenceWrites, redis: Redis, queue: Redis, writeFailed: (error: Error) => void): void {
  const command = redis as Redis & { mmcClearMessageBuffer?: ClearCall };
  if (!command.mmcClearMessageBuffer) redis.defineCommand('mmcClearMessage', { numberOfKeys: 3, lua: CLEAR_MESSAGE });
  const clearCall = (command.mmcClearMessageBuffer as ClearCall).bind(redis);
  /** `<client>:<packet identifier>` -> the packet key of the QoS 1 message sent to it with that identifier. */
  const sent = hashLru(100_000);
  const update = persistence.outgoingUpdate.bind(persistence);
  const clear = persistence.outgoingClearMessageId.bind(persistence);

  persistence.delWill = async (client) => {
    // aedes asks, before each CONNACK, to remove the connecting client's will, but names no broker (its
    // Client has no brokerId): the key would be `will:undefined:<client>`, which putWill, keying each will
    // by the broker it is set up with, never writes. Nothing to remove, and no round trip to find so.
    if (client.brokerId === undefined) return null;
    const key = `will:${client.brokerId}:${encodeURIComponent(client.id)}`;
    const replies = await redis.multi().lrem('will', 0, key).getBuffer(key).del(key).exec();
    const failed = replies?.find(([error]) => error);
    if (failed) throw failed[0];
    const will = replies?.[1]?.[1] as Buffer | null | undefined;
    return will ? msgpack.decode(will) : null;
  };
  /** The packet and its count, then the message in each subscriber's queue: one MULTI, on the queue connection. */
  const enqueue = async (subs: { clientId: string }[], packet: QueuedMessage) => {
    const packetKey = `packet:${packet.brokerId}:${packet.brokerCounter}`;
    const transaction = queue.multi().mset(packetKey, msgpack.encode(new Packet(packet)), `${packetKey}:offlineCount`, subs.length);
    for (const sub of subs) transaction.rpush(queueKey(sub.clientId), packetKey);
    const replies = await transaction.exec();
    const failed = replies?.find(([error]) => error);
    if (failed) throw failed[0];
  };
  // aedes' publish (and L8's count, sessions-queues.ts, and a shared group's held message) goes on as soon
  // as the MULTI is sent: what follows on the queue connection, the fan-out's PUBLISH and the count
  // included, runs after it, and the PUBACK waits for it (`written`, durable-acks.ts). A failure is the
  // PUBACK's to report.
  persistence.outgoingEnqueueCombi = async (subs, packet) => {
    if (subs && subs.length > 0) enqueue(subs, packet).catch(writeFailed);
  };
  // A message aedes queues for the one connection it then sends it to: the send's own writes (on the
  // other connection) must come after it.
  persistence.outgoingEnqueue = (sub, packet) => enqueue([sub], packet);
  persistence.outgoingUpdate = async (client, packet) => {
    // A QoS 2 flow (its PUBLISH, then its PUBREL) is left to it whole: its PUBREL finds the flow in its own cache.
    if (packet.cmd === 'pubrel' || packet.qos !== 1 || packet.brokerId === undefined || packet.messageId === undefined) return update(client, packet);
    // As its own: the message stored again with the packet identifier it is sent with (a resend after a
    // restart uses it), and the identifier recorded, but here, so that its cache never holds a QoS 1
    // identifier that this module's clear would leave behind.
    const packetKey = `packet:${packet.brokerId}:${packet.brokerCounter}`;
    sent.set(`${client.id}:${packet.messageId}`, packetKey);
    if ((await redis.set(packetKey, msgpack.encode(packet))) !== 'OK') throw new Error('no such packet');
  };
  persistence.outgoingClearMessageId = async (client, packet) => {
    const key = `${client.id}:${packet.messageId}`;
    const packetKey = sent.get(key);
    if (!packetKey) return clear(client, packet);
    sent.remove(key);
    const raw = await clearCall(queueKey(client.id), packetKey, `${packetKey}:offlineCount`);
    if (!raw) return undefined;
    // As its own answers: the stored message, with the identifier it was acknowledged by.
    return { ...msgpack.decode(raw), messageId: packet.messageId };
  };
}

/** A subscription as aedes-persistence-redis answers it. */
export interface StoredSubscription {
  topic: string;
  qos: number;
  [property: string]: unknown;
}

/** aedes-persistence-redis's hash of a client's subscriptions: topic -> the subscription, in msgpack. */
export const subscriptionsKey = (clientId: string) => `client:${encodeURIComponent(clientId)}`;

/** The hash as aedes-persistence-redis's `subscriptionsByClient` answers it (its `subsForClient`, with its fallback for a QoS stored as a digit). */
export function decodeSubscriptions(hash: Record<string, Buffer>): StoredSubscription[] {
  return Object.entries(hash).map(([topic, value]) => (value.length === 1 ? { topic, qos: Number.parseInt(value.toString(), 10) } : (msgpack.decode(value) as StoredSubscription)));
}

/** What a CONNECT read of a session's subscriptions before aedes asks for them (connect-reads.ts). */
export interface ReadsForAedes {
  /** What the claim of `clientId` read, once; undefined: nothing read (aedes' own read goes to Redis). */
  take(clientId: string): Promise<StoredSubscription[] | undefined>;
  /** The session's subscriptions are changed: what was read of them is no longer their state. */
  forget(clientId: string): void;
}

/** What of aedes-persistence-redis's subscriptions aedes reads at a CONNECT, and writes. */
interface PersistenceSubscriptions {
  subscriptionsByClient(client: { id: string }): Promise<StoredSubscription[]>;
  cleanSubscriptions(client: { id: string }): Promise<void>;
  addSubscriptions(client: { id: string }, subs: object[]): Promise<void>;
  removeSubscriptions(client: { id: string }, topics: string[]): Promise<void>;
}

/**
 * A CONNECT's reads of the session's subscriptions answered from what its claim read (connect-reads.ts),
 * when it read them: aedes reads them (`subscriptionsByClient`) or, for a Clean Start, removes them
 * (`cleanSubscriptions`: nothing to remove when the claim read none). A change to a session's
 * subscriptions made here forgets what was read of them.
 */
function subscriptionsReadWithClaims(persistence: PersistenceSubscriptions, reads: ReadsForAedes): void {
  const byClient = persistence.subscriptionsByClient.bind(persistence);
  const clean = persistence.cleanSubscriptions.bind(persistence);
  const add = persistence.addSubscriptions.bind(persistence);
  const remove = persistence.removeSubscriptions.bind(persistence);
  persistence.subscriptionsByClient = async (client) => (await reads.take(client.id)) ?? byClient(client);
  persistence.cleanSubscriptions = async (client) => {
    const read = await reads.take(client.id);
    if (read?.length !== 0) await clean(client);
  };
  persistence.addSubscriptions = (client, subs) => {
    reads.forget(client.id);
    return add(client, subs);
  };
  persistence.removeSubscriptions = (client, topics) => {
    reads.forget(client.id);
    return remove(client, topics);
  };
}

/** What of aedes-persistence-redis is adapted here: its streams, its writes, its subscriptions, and its end. */
export interface RedisPersistence extends PersistenceWrites, PersistenceSubscriptions {
  createRetainedStreamCombi(patterns: string[]): AsyncIterable<unknown>;
  createRetainedStream(pattern: string): AsyncIterable<unknown>;
  outgoingStream(client: { id: string }): AsyncIterable<unknown>;
  destroy(): Promise<void>;
}

/** aedes-persistence-redis 11's own async class (its main export is a callback wrapper aedes 2.0 refuses). */
const AsyncRedisPersistence = requireHere('aedes-persistence-redis/asyncPersistence.js') as new (options: { conn: Redis; maxSessionDelivery?: number }) => RedisPersistence;

/**
 * How much of a session's queue aedes-persistence-redis reads when the session resumes (its
 * `maxSessionDelivery`, 1,000 by default: the LRANGE's last index). aedes reads the queue once per
 * connection, so a session resuming with more queued lost the rest on that connection: a connected
 * session's queue has no bound (what it was sent and has not acknowledged stays in it; L8 bounds only
 * an offline one), and under takeovers every 100 ms at 1,000 messages a second it grew past 1,000.
 * The whole queue is read, as aedes' memory persistence does.
 */
const WHOLE_QUEUE = Number.MAX_SAFE_INTEGER;

/**
 * aedes-persistence-redis 11 answers with async generators where aedes 2.0.0-beta.1 pipes Node streams
 * (`stream.pipe` for the retained messages a SUBSCRIBE gets) and aedes' memory persistence gives them:
 * its streams are handed over as Readables.
 */
function withReadableStreams(persistence: RedisPersistence): RedisPersistence {
  const retainedCombi = persistence.createRetainedStreamCombi.bind(persistence);
  const retained = persistence.createRetainedStream.bind(persistence);
  const outgoing = persistence.outgoingStream.bind(persistence);
  persistence.createRetainedStreamCombi = (patterns) => Readable.from(retainedCombi(patterns));
  persistence.createRetainedStream = (pattern) => Readable.from(retained(pattern));
  persistence.outgoingStream = (client) => Readable.from(outgoing(client));
  return persistence;
}

/**
 * aedes-persistence-redis on this connection, as aedes 2.0.0-beta.1 takes it, writing in fewer round
 * trips; messages are queued on `queue` (the connection the fan-out publishes on), and a queueing that
 * failed after aedes went on is told to `writeFailed`; a CONNECT's subscriptions are answered from what
 * its claim read, with `reads`.
 */
export function redisPersistence(connection: Redis, queue: Redis, writeFailed: (error: Error) => void, reads?: ReadsForAedes): RedisPersistence {
  const persistence = withReadableStreams(new AsyncRedisPersistence({ conn: connection, maxSessionDelivery: WHOLE_QUEUE }));
  inFewerRoundTrips(persistence, connection, queue, writeFailed);
  if (reads) subscriptionsReadWithClaims(persistence, reads);
  return persistence;
}
