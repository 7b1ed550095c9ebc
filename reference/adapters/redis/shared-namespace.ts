// What one broker instance needs to be part of a namespace kept in Redis, beside the other instances:
// the session store (who owns which session, where it is connected, the leases), aedes' persistence
// (subscriptions, queued QoS 1 messages, retained messages, wills: aedes-persistence-redis) and aedes'
// message fan-out between instances (mqemitter-redis). broker.ts loads this module only for --redis,
// so the in-memory default never loads a Redis client.
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { Redis } from 'ioredis';
import MQEmitterRedis from 'mqemitter-redis';
import type { Clock } from '../../ports/clock.ts';
import { inFewerRoundTrips, type PersistenceWrites } from './persistence-round-trips.ts';
import { newInstanceId, RedisSessionStore } from './redis-session-store.ts';
import { RedisTallies } from './redis-tallies.ts';

const requireHere = createRequire(import.meta.url);

/** What of aedes-persistence-redis is adapted here: its streams, its queue's writes, and its end. */
interface RedisPersistence extends PersistenceWrites {
  createRetainedStreamCombi(patterns: string[]): AsyncIterable<unknown>;
  createRetainedStream(pattern: string): AsyncIterable<unknown>;
  outgoingStream(client: { id: string }): AsyncIterable<unknown>;
  destroy(): Promise<void>;
}

/** aedes-persistence-redis 11's own async class (its main export is a callback wrapper aedes 2.0 refuses). */
const AsyncRedisPersistence = requireHere('aedes-persistence-redis/asyncPersistence.js') as new (options: { conn: Redis }) => RedisPersistence;

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

/** The object without its keys whose value is undefined. */
function defined<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;
}

/**
 * mqemitter-redis sends each message through Redis as msgpack, which turns a key set to undefined into
 * null; aedes leaves such keys on the packets it publishes (it strips a PUBLISH's Topic Alias by setting
 * it undefined), and every instance, this one included, would then deliver a PUBLISH with Topic Alias
 * null, which mqtt-packet cannot write (L17's PUBLISH by alias reached nobody). Such keys are left out
 * before the message is sent.
 */
function withoutUndefinedKeys(mq: ReturnType<typeof MQEmitterRedis>): void {
  const emit = mq.emit.bind(mq);
  mq.emit = ((packet: { properties?: object }, done?: (error?: Error) => void) =>
    emit(defined({ ...packet, ...(packet.properties ? { properties: defined(packet.properties) } : {}) }) as Parameters<typeof emit>[0], done)) as typeof mq.emit;
}

/** The error code of a Redis that could not be reached at start. */
export const REDIS_UNREACHABLE = 'EREDISUNREACHABLE';

export interface SharedNamespaceOptions {
  url: string;
  namespace: string;
  clock: Clock;
  leaseMs?: number;
  log: (line: string) => void;
  /** Told when this instance's lease had run out: its connections no longer hold their sessions. */
  onLeaseLost: () => void;
}

export interface SharedNamespace {
  /** This instance's id: aedes' broker id and the store's instance name. */
  instance: string;
  sessions: RedisSessionStore;
  /** The queue counts (L8) and shared subscription groups (M3) of the namespace. */
  tallies: RedisTallies;
  /** For aedes' options. */
  persistence: unknown;
  mq: ReturnType<typeof MQEmitterRedis>;
  /** After the broker has closed: hands the sessions still held here over as held, and closes the connections. */
  close(): Promise<void>;
}

/** A connection that reports a loss as one line (until it is back) and does not retry a request forever. */
function connection(url: string, log: (line: string) => void, role: string): Redis {
  // Auto-pipelining: the commands issued in one turn of the event loop (aedes-persistence-redis's for
  // every message in flight, the store's scripts for CONNECTs racing) go to Redis in one write.
  const redis = new Redis(url, { maxRetriesPerRequest: 3, lazyConnect: true, enableAutoPipelining: true });
  // Before the first connection, a failure is the start's to report (joinSharedNamespace rejects).
  let reported = true;
  redis.on('error', (error: Error) => {
    if (!reported) log(`Redis (${role}) at ${url}: ${error.message}`);
    reported = true;
  });
  redis.on('ready', () => (reported = false));
  return redis;
}

/** Connects to the namespace's Redis; rejects (with the reason) when it cannot be reached. */
export async function joinSharedNamespace(options: SharedNamespaceOptions): Promise<SharedNamespace> {
  const { url, log } = options;
  const instance = newInstanceId();
  const storeConnection = connection(url, log, 'sessions');
  const persistenceConnection = connection(url, log, 'persistence');
  const publish = connection(url, log, 'fan-out');
  const subscribe = connection(url, log, 'fan-out');
  const all = [storeConnection, persistenceConnection, publish, subscribe];
  let failure: Error | undefined;
  storeConnection.once('error', (error: Error) => (failure ??= error));
  try {
    await Promise.all(all.map((redis) => redis.connect()));
  } catch (error) {
    for (const redis of all) redis.disconnect();
    const reason = (failure ?? (error as Error)).message;
    throw Object.assign(new Error(`cannot reach Redis at ${url}: ${reason}`), { code: REDIS_UNREACHABLE });
  }
  const sessions = new RedisSessionStore({
    redis: storeConnection,
    namespace: options.namespace,
    instance,
    clock: options.clock,
    ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}),
    onLeaseLost: options.onLeaseLost,
    log,
  });
  await sessions.start();
  const persistence = withReadableStreams(new AsyncRedisPersistence({ conn: persistenceConnection }));
  inFewerRoundTrips(persistence, persistenceConnection);
  const mq = MQEmitterRedis({ pubConn: publish, subConn: subscribe });
  withoutUndefinedKeys(mq);
  // Its connections' errors are re-emitted here; the connections report a loss themselves (connection()).
  (mq as unknown as { state: { on(event: 'error', listener: () => void): void } }).state.on('error', () => {});
  return {
    instance,
    sessions,
    tallies: new RedisTallies(storeConnection, sessions.prefix, instance),
    persistence,
    mq,
    async close() {
      await sessions.stop().catch((error: Error) => log(`the sessions held here could not be handed over: ${error.message}`));
      await persistence.destroy().catch(() => {});
      for (const redis of all) redis.disconnect();
    },
  };
}
