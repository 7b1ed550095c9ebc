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
// own: shared-namespace.test.ts compares what both write), but for a QoS 1 message's packet
// identifier, stored alone (`<packet key>:ids`) where it stores the message again, a message's count of
// its sessions, raised at each queueing where it sets it, and an index of a client's incoming QoS 2
// messages, for the session's wipe (`incomingIdentifiersKey`); and the writes made
// close together (the messages queued, sent or acknowledged in one turn) go as one script
// (batched-calls.ts), where it sends a command or more for each. Its `packetTTL` option (an EXPIRE)
// and its cluster mode are not used here. A CONNECT's read of the session's subscriptions is answered
// from what the session store's claim read of them (connect-reads.ts), at the key and in the format
// given here.
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type { Redis } from 'ioredis';
import { Packr, Unpackr } from 'msgpackr';
import { BatchedCalls } from './batched-calls.ts';
import { FIELDS, framed } from './script-fields.ts';
import type { WritesInFlight } from './writes-in-flight.ts';

const requireHere = createRequire(import.meta.url);
const requireBesidePersistence = createRequire(requireHere.resolve('aedes-persistence-redis/asyncPersistence.js'));
/** What aedes-persistence-redis stores a queued message as: aedes-persistence's Packet, in msgpack. */
const { Packet } = requireBesidePersistence('aedes-persistence') as { Packet: new (packet: object) => object };
/**
 * MessagePack as msgpackr writes and reads it, where aedes-persistence-redis uses msgpack-lite: the same
 * format (plain maps, a Buffer as bin, undefined as nil, as msgpack-lite writes them: what either
 * writes the other reads, and L8's count reads a payload's size from it, redis-tallies.ts), read about
 * four times faster (a stored packet is read back at each PUBACK).
 */
const msgpack = {
  packr: new Packr({ useRecords: false, encodeUndefinedAsNil: true }),
  unpackr: new Unpackr({ useRecords: false, mapsAsObjects: true }),
  encode(value: unknown): Buffer {
    return this.packr.pack(value);
  },
  decode(bytes: Buffer): Record<string, unknown> {
    return this.unpackr.unpack(bytes) as Record<string, unknown>;
  },
};

interface QueuedMessage {
  brokerId: string;
  brokerCounter: number;
  messageId?: number;
  cmd?: string;
  qos?: number;
}

/** What of aedes-persistence-redis is replaced here. */
export interface PersistenceWrites extends IncomingMessages {
  delWill(client: { id: string; brokerId?: string }): Promise<unknown>;
  outgoingEnqueueCombi(subs: { clientId: string }[], packet: QueuedMessage): Promise<void>;
  outgoingEnqueue(sub: { clientId: string }, packet: QueuedMessage): Promise<void>;
  outgoingUpdate(client: { id: string }, packet: QueuedMessage): Promise<void>;
  outgoingClearMessageId(client: { id: string }, packet: { messageId?: number }): Promise<unknown>;
  outgoingStream(client: { id: string }): AsyncIterable<unknown>;
}

/** Its store of the QoS 2 PUBLISHes a client sent, each until its PUBREL (`incoming:<client>:<packet identifier>`). */
interface IncomingMessages {
  incomingStorePacket(client: { id: string }, packet: { messageId?: number }): Promise<void>;
  incomingDelPacket(client: { id: string }, packet: { messageId?: number }): Promise<void>;
}

/**
 * The packet identifiers of the QoS 2 PUBLISHes a client sent that are stored until their PUBREL: a set,
 * `incoming:<client>` (the ClientID URI-encoded, so no key of its, `incoming:<client>:<identifier>`,
 * is one), kept here so that the session's wipe can find them (redis-session-wipe.ts) without a scan of
 * every key. Each message's key is that set's key, ':', its identifier.
 */
export const incomingIdentifiersKey = (clientId: string) => `incoming:${encodeURIComponent(clientId)}`;

/** A session's queue: the list of its messages' packet keys (the ClientID URI-encoded, as it writes it). */
export const queueKey = (clientId: string) => `outgoing:${encodeURIComponent(clientId)}`;

// Which packet identifier a session was sent a stored QoS 1 message with: the field of the session's
// name (its ClientID) in the hash `<packet key>:ids` (the scripts below name it), beside the packet.
// aedes-persistence-redis stores the whole packet again, with the identifier, at each send (a third
// msgpack encoding of the message, and a write of its payload again); the packet is one for all its
// subscribers, so the last session sent it overwrote the identifier of the others.

/**
 * Lua, for the scripts that end a session's hold on a stored message (the clearing below, the session's
 * wipe, redis-session-wipe.ts): `count_down(key, n)`, its count of the sessions holding it down by `n`,
 * and the message gone with its last holder; `forget(key)`, the message gone at once. A message is its
 * packet (`key`), its count (`:offlineCount`) and the identifiers its sessions were sent it with (`:ids`).
 */
export const MESSAGE_COUNTS = `
local function forget(key) redis.call('DEL', key, key .. ':offlineCount', key .. ':ids') end
local function count_down(key, n)
  if redis.call('DECRBY', key .. ':offlineCount', n) <= 0 then forget(key) end
end`;

/**
 * Acknowledged messages (fields, two each: the session's queue, the packet's key; its subscriber count's
 * key and its identifiers' are the packet's with `:offlineCount` and `:ids`) each out of its session's queue, its subscriber count down, and the message gone
 * (with its identifiers) with its last subscriber: its GET, LREM, DECR and DEL, for each in turn, as
 * one script; counted down by every copy taken out of the queue (a queueing that ran twice, resent by
 * ioredis after its connection dropped before Redis's answer, queued it twice and counted it twice).
 * Answers each stored packet (nil for one gone already, and with it any identifier recorded since). A message no longer in the session's queue is not counted down again: the
 * session's wipe counted it (a Clean Start wipes the session before its older connection has ended,
 * and that connection's PUBACKs still come), and a second count would end it for sessions that still
 * have it queued.
 */
const CLEAR_MESSAGES = `${FIELDS}${MESSAGE_COUNTS}
local f = fields(ARGV[1])
local out = {}
for i = 1, #f, 2 do
  local queue, key = f[i], f[i + 1]
  local raw = redis.call('GET', key)
  local removed = redis.call('LREM', queue, 0, key)
  if not raw then forget(key)
  elseif removed > 0 then count_down(key, removed) end
  out[#out + 1] = raw
end
return out`;

/**
 * Packet identifiers sent with (fields, three each: the message's packet key, the session's name, the
 * identifier; the identifiers' key is the packet's with `:ids`), each recorded only while the message is stored.
 * A message aedes delivers live to a session it did not queue for (a subscription the publishing
 * instance had not heard of yet, a session wiped while its older connection was still sent messages)
 * may have no packet: written, its identifiers would stay for ever, since only a packet's end (its last
 * subscriber's PUBACK, a wipe) removes them, and a PUBACK that never comes ends nothing. A message queued
 * for the session is stored by the time its identifier is: this script goes on the connection its
 * queueing went on, after it. A message stored for others only gets a field that goes with it.
 */
const RECORD_IDENTIFIERS = `${FIELDS}
local f = fields(ARGV[1])
for i = 1, #f, 3 do
  if redis.call('EXISTS', f[i]) == 1 then redis.call('HSET', f[i] .. ':ids', f[i + 1], f[i + 2]) end
end
return 0`;

/**
 * Queued messages of a session (KEYS: their packet keys) with the identifier it was sent each with
 * (ARGV[1]: the session's name): packet, identifier, packet, ... (nil for a packet gone, or for an
 * identifier not recorded).
 */
const READ_QUEUED = `
local out = {}
for i, key in ipairs(KEYS) do
  out[2 * i - 1] = redis.call('GET', key)
  out[2 * i] = redis.call('HGET', key .. ':ids', ARGV[1])
end
return out`;

/** The packets read in one script as a session's queue is resent. */
const READ_AT_ONCE = 200;

/**
 * Messages queued for their subscribers (fields, for each: its packet's key, the packet, its count of
 * subscribers, then their queues; its count's key is the packet's with `:offlineCount`): the packet, its count
 * raised by those subscribers, then its key at the end of each queue: its MSET and RPUSHes, for each in
 * turn, as one script. A script, not a MULTI: ioredis writes a MULTI to the socket at once, one write a
 * message, where a script goes with the other commands of the turn (auto-pipelining).
 *
 * The count is raised, never set (its MSET sets it): a message may be queued again while sessions still
 * hold it (M3: a shared group's copy held for a member, or given to a connected member, after aedes
 * queued it for the persistent subscribers of its topic, or for another group), and a count set to
 * the last queueing's subscribers ended the message while other sessions still had it queued (their
 * PUBACKs and wipes count it down): they lost it.
 */
const ENQUEUE_MESSAGES = `${FIELDS}
local f = fields(ARGV[1])
local i = 1
while i <= #f do
  local key, subscribers = f[i], tonumber(f[i + 2])
  redis.call('SET', key, f[i + 1])
  redis.call('INCRBY', key .. ':offlineCount', subscribers)
  for j = 1, subscribers do redis.call('RPUSH', f[i + 2 + j], key) end
  i = i + 3 + subscribers
end
return 0`;

/** A script of those above: the count of its keys, its keys, then its arguments. */
type ScriptCall<Answer> = (keyCount: number, ...keysThenArguments: (string | number | Buffer)[]) => Promise<Answer>;

/**
 * Removing a will in one MULTI (its own: an LREM sent with a GET, then a DEL), queueing a message for
 * its subscribers in one script with the others of its turn (its own: an MSET of the packet and its
 * count, then an RPUSH per subscriber, in turn; here the count is raised: ENQUEUE_MESSAGES), and
 * clearing a QoS 1 message a session acknowledged in one script with the others of its turn (its own:
 * GET, LREM, DECR, DEL in turn). A QoS 1 message's packet identifier is recorded alone as it is sent,
 * with the others of its turn (`<packet key>:ids`), and read back with the queue (`outgoingStream`,
 * whole: below); which packet key an identifier stands for is kept here, per connection, where it
 * keeps it in a private cache, per ClientID. What is not recorded here (a QoS 2 flow's) is left to it,
 * but for an index of a client's incoming QoS 2 messages, for the session's wipe
 * (`incomingIdentifiersKey`).
 */
function inFewerRoundTrips(persistence: PersistenceWrites, redis: Redis, queue: Redis, unawaited: WritesInFlight): void {
  const script = <Answer>(connection: Redis, name: string, lua: string): ScriptCall<Answer> => {
    const commands = connection as unknown as Record<string, ScriptCall<Answer> | undefined>;
    // The Buffer variant answers a bulk string as a Buffer (a stored packet).
    if (!commands[`${name}Buffer`]) connection.defineCommand(name, { lua });
    return commands[`${name}Buffer`]!.bind(connection);
  };
  const clearCall = script<(Buffer | null)[]>(redis, 'mmcClearMessages', CLEAR_MESSAGES);
  const readCall = script<(Buffer | null)[]>(redis, 'mmcReadQueued', READ_QUEUED);
  // On the queueing's connection: a message queued for the session is stored before its identifier is recorded.
  const recordCall = script<number>(queue, 'mmcRecordIdentifiers', RECORD_IDENTIFIERS);
  const enqueueCall = script<number>(queue, 'mmcEnqueueMessages', ENQUEUE_MESSAGES);
  /**
   * The messages aedes queues in one turn of the event loop, in one script: aedes publishes each
   * message a publisher sent in a callback of its own (setImmediate, once its PUBACK is written).
   */
  const enqueues = new BatchedCalls<{ packetKey: string; queues: string[]; packet: Buffer }, number>((calls) => {
    const fields = calls.flatMap(({ packetKey, packet, queues }) => [packetKey, packet, queues.length, ...queues]);
    return enqueueCall(0, framed(fields)).then(() => calls.map(() => 0));
  }, setImmediate);
  /** The identifiers of the messages sent in one turn of the event loop (each in a callback of its own, aedes' setImmediate), in one script. */
  const records = new BatchedCalls<{ packetKey: string; name: string; messageId: number }, number>((calls) => {
    const fields = calls.flatMap(({ packetKey, name, messageId }) => [packetKey, name, messageId]);
    return recordCall(0, framed(fields)).then(() => calls.map(() => 0));
  }, setImmediate);
  /** The messages acknowledged in one turn (PUBACKs read together), in one script. */
  const clears = new BatchedCalls<{ queue: string; packetKey: string }, Buffer | null>((calls) => {
    const fields = calls.flatMap(({ queue: queueOf, packetKey }) => [queueOf, packetKey]);
    return clearCall(0, framed(fields));
  });
  /**
   * Per connection (aedes' Client): packet identifier -> the packet key of the QoS 1 message sent on it
   * with that identifier. A PUBACK answers a PUBLISH sent on its own connection: a message an earlier
   * connection was sent and did not acknowledge is sent again on resuming, with its identifier
   * [MQTT-4.4.0-1], which records it here for the new one. Keyed by ClientID, an earlier connection's
   * identifiers stood for every later connection of the name at this instance, even once the session
   * was wiped at another instance (a Clean Start, an expiry): a PUBACK of an identifier the new
   * session was never sent was answered with the old session's message (aedes' 'ack' event). Gone with
   * the connection; bounded by its identifiers.
   */
  const sent = new WeakMap<object, Map<number, string>>();
  const update = persistence.outgoingUpdate.bind(persistence);
  const clear = persistence.outgoingClearMessageId.bind(persistence);

  persistence.delWill = async (client) => {
    // aedes asks, before each CONNACK, to remove the connecting client's will, but names no broker (its
    // Client has no brokerId): the key would be `will:undefined:<client>`, which putWill, keying each will
    // by the broker it is set up with, never writes. Nothing to remove, and no round trip to find so.
    if (client.brokerId === undefined) return null;
    const key = willKey(client.brokerId, client.id);
    const replies = await redis.multi().lrem('will', 0, key).getBuffer(key).del(key).exec();
    const failed = replies?.find(([error]) => error);
    if (failed) throw failed[0];
    const will = replies?.[1]?.[1] as Buffer | null | undefined;
    return will ? msgpack.decode(will) : null;
  };
  /** The packet and its count, then the message in each subscriber's queue, on the queue connection. */
  const enqueue = (subs: { clientId: string }[], packet: QueuedMessage) =>
    enqueues.call({ packetKey: `packet:${packet.brokerId}:${packet.brokerCounter}`, queues: subs.map((sub) => queueKey(sub.clientId)), packet: msgpack.encode(new Packet(packet)) });
  // aedes' publish (and L8's count, sessions-queues.ts, and a shared group's held message) goes on as soon
  // as the queueing is sent: what follows on the queue connection, the fan-out's PUBLISH and the count
  // included, runs after it, and the PUBACK waits for it (`unawaited`, durable-acks.ts). A failure is the
  // PUBACK's to report.
  persistence.outgoingEnqueueCombi = async (subs, packet) => {
    if (!subs || subs.length === 0) return;
    unawaited.add(enqueue(subs, packet));
    await enqueues.sent();
  };
  // A message aedes queues for the one connection it then sends it to: the send's own writes (on the
  // other connection) must come after it.
  persistence.outgoingEnqueue = async (sub, packet) => {
    await enqueue([sub], packet);
  };
  persistence.outgoingUpdate = async (client, packet) => {
    // A QoS 2 flow (its PUBLISH, then its PUBREL) is left to it whole: its PUBREL finds the flow in its own cache.
    if (packet.cmd === 'pubrel' || packet.qos !== 1 || packet.brokerId === undefined || packet.messageId === undefined) return update(client, packet);
    // The identifier is stored before the message is written to the client (aedes waits for this), so a
    // resend after a restart, or by another instance, uses it and sets DUP.
    const packetKey = `packet:${packet.brokerId}:${packet.brokerCounter}`;
    let identifiers = sent.get(client);
    if (!identifiers) sent.set(client, (identifiers = new Map()));
    identifiers.set(packet.messageId, packetKey);
    await records.call({ packetKey, name: client.id, messageId: packet.messageId });
  };
  const storeIncoming = persistence.incomingStorePacket.bind(persistence);
  const deleteIncoming = persistence.incomingDelPacket.bind(persistence);
  // Each after its own write, on its connection: a wipe that comes between them leaves the key and its
  // index entry, which the name's next wipe removes, never a key with no index entry.
  persistence.incomingStorePacket = async (client, packet) => {
    const stored = storeIncoming(client, packet);
    await Promise.all([stored, redis.sadd(incomingIdentifiersKey(client.id), String(packet.messageId))]);
  };
  persistence.incomingDelPacket = async (client, packet) => {
    const deleted = deleteIncoming(client, packet);
    await Promise.all([deleted, redis.srem(incomingIdentifiersKey(client.id), String(packet.messageId))]);
  };
  persistence.outgoingClearMessageId = async (client, packet) => {
    const identifiers = sent.get(client);
    const packetKey = packet.messageId === undefined ? undefined : identifiers?.get(packet.messageId);
    if (!packetKey) return clear(client, packet);
    identifiers!.delete(packet.messageId!);
    const raw = await clears.call({ queue: queueKey(client.id), packetKey });
    if (!raw) return undefined;
    // As its own answers: the stored message, with the identifier it was acknowledged by.
    return { ...msgpack.decode(raw), messageId: packet.messageId };
  };
  /**
   * The whole queue, as aedes' memory persistence reads it. Its own reads at most `maxSessionDelivery`
   * (1,000 by default) and aedes reads the queue once per connection, so a session resuming with more
   * lost the rest on that connection: a connected session's queue has no bound (what it was sent and has
   * not acknowledged stays in it; L8 bounds only an offline one), and under takeovers every 100 ms at
   * 1,000 messages a second it grew past 1,000. Its own reads each packet in a round trip of its own;
   * here they are read READ_AT_ONCE at a time, with the identifiers. A packet stored with an identifier
   * in it (its own QoS 2 flow's, or a QoS 1 message sent before identifiers were stored apart) keeps it
   * unless one is recorded; a key whose packet is gone leaves the queue, as with its own.
   */
  persistence.outgoingStream = async function* queued(client) {
    const queueOf = queueKey(client.id);
    const keys = await redis.lrange(queueOf, 0, -1);
    for (let from = 0; from < keys.length; from += READ_AT_ONCE) {
      const some = keys.slice(from, from + READ_AT_ONCE);
      const replies = await readCall(some.length, ...some, client.id);
      for (let index = 0; index < some.length; index += 1) {
        const [raw, identifier] = [replies[2 * index], replies[2 * index + 1]];
        if (!raw) {
          void redis.lrem(queueOf, 0, some[index]!).catch(() => {});
          continue;
        }
        const packet = msgpack.decode(raw);
        // A packet queued before it was sent was stored with no identifier, which msgpack reads back as
        // null: it was never sent, and goes out with DUP=0 (markRedeliveries tests for an identifier).
        if (identifier) packet.messageId = Number(identifier.toString());
        else if (packet.messageId === null) delete packet.messageId;
        yield packet;
      }
    }
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

/** The will a client left at the broker `brokerId`, as aedes-persistence-redis keys it. */
export const willKey = (brokerId: string, clientId: string) => `will:${brokerId}:${encodeURIComponent(clientId)}`;

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
  destroy(): Promise<void>;
}

/** aedes-persistence-redis 11's own async class (its main export is a callback wrapper aedes 2.0 refuses). */
const AsyncRedisPersistence = requireHere('aedes-persistence-redis/asyncPersistence.js') as new (options: { conn: Redis; maxSessionDelivery?: number }) => RedisPersistence;

/**
 * aedes-persistence-redis 11 answers with async generators where aedes 2.0.0-beta.1 pipes Node streams
 * (`stream.pipe` for the retained messages a SUBSCRIBE gets) and aedes' memory persistence gives them:
 * its streams are handed over as Readables. aedes pipes the retained ones with no error listener: a read
 * that failed (Redis lost while a SUBSCRIBE's retained messages were read) ended the process on an
 * unhandled 'error' event. It is told (`log`) instead, and that SUBSCRIBE gets no more retained messages.
 */
function withReadableStreams(persistence: RedisPersistence, log: (line: string) => void): RedisPersistence {
  const retainedCombi = persistence.createRetainedStreamCombi.bind(persistence);
  const retained = persistence.createRetainedStream.bind(persistence);
  const outgoing = persistence.outgoingStream.bind(persistence);
  const told = (stream: Readable) => stream.on('error', (error: Error) => log(`the retained messages of a SUBSCRIBE could not be read from Redis: ${error.message}`));
  persistence.createRetainedStreamCombi = (patterns) => told(Readable.from(retainedCombi(patterns)));
  persistence.createRetainedStream = (pattern) => told(Readable.from(retained(pattern)));
  persistence.outgoingStream = (client) => Readable.from(outgoing(client));
  return persistence;
}

/**
 * aedes-persistence-redis on this connection, as aedes 2.0.0-beta.1 takes it, writing in fewer round
 * trips; messages are queued on `queue` (the connection the fan-out publishes on), and aedes goes on
 * before Redis answers: each queueing is added to `unawaited`; a CONNECT's subscriptions are answered
 * from what its claim read, with `reads`; a failed read of retained messages is told to `log`.
 */
export function redisPersistence(connection: Redis, queue: Redis, unawaited: WritesInFlight, reads?: ReadsForAedes, log: (line: string) => void = () => {}): RedisPersistence {
  const persistence = new AsyncRedisPersistence({ conn: connection });
  inFewerRoundTrips(persistence, connection, queue, unawaited);
  if (reads) subscriptionsReadWithClaims(persistence, reads);
  return withReadableStreams(persistence, log);
}
