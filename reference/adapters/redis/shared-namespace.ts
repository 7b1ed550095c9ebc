// What one broker instance needs to be part of a namespace kept in Redis, beside the other instances:
// the session store (who owns which session, where it is connected, the leases), aedes' persistence
// (subscriptions, queued QoS 1 messages, retained messages, wills: aedes-persistence-redis) and aedes'
// message fan-out between instances (mqemitter-redis, in msgpackr: fan-out-codec.ts). broker.ts loads this module only for --redis,
// so the in-memory default never loads a Redis client.
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import MQEmitterRedis from 'mqemitter-redis';
import type { Clock } from '../../ports/clock.ts';
import type { SharedStateWipe } from '../../ports/session-store.ts';
import { BatchedCalls } from './batched-calls.ts';
import { fanOutInMsgpackr } from './fan-out-codec.ts';
import { RedisClientRegistry, type RedisClientRegistryOptions } from './redis-client-registry.ts';
import { redisPersistence } from './redis-persistence.ts';
import { ConnectReads } from './connect-reads.ts';
import { namespacePrefix, newInstanceId, RedisSessionStore } from './redis-session-store.ts';
import { redisSessionWipe } from './redis-session-wipe.ts';
import { RedisTakeovers } from './redis-takeovers.ts';
import { RedisTallies } from './redis-tallies.ts';
import { WritesInFlight } from './writes-in-flight.ts';

/**
 * Redis pub/sub has no databases: a channel reaches every client of the server, and so every namespace
 * kept in it (each in a database of its own). mqemitter-redis names a channel by the topic alone: a
 * message published in one namespace reached the subscribers of its topic in another, and aedes'
 * "client registered" notice ended another namespace's connection of the same ClientID (0x8E). The
 * channels of the two connections handed to it are given the namespace's fan-out name first; the
 * channel a topic goes on is answered, for those that ask Redis about a channel (PUBSUB NUMSUB).
 */
function channelsOfNamespace(fanOut: string, publish: Redis, subscribe: Redis): (channel: string) => string {
  const inNamespace = (channel: string) => `${fanOut}/${channel}`;
  const send = publishedTogether(publish);
  publish.publish = ((channel: string, message: Buffer) => send.call([inNamespace(channel), message])) as typeof publish.publish;
  // mqemitter-redis (un)subscribes one channel or pattern at a time, with a callback.
  const methods = subscribe as unknown as Record<'subscribe' | 'psubscribe' | 'unsubscribe' | 'punsubscribe', (...args: unknown[]) => Promise<unknown>>;
  for (const method of ['subscribe', 'psubscribe', 'unsubscribe', 'punsubscribe'] as const) {
    const call = methods[method].bind(subscribe);
    methods[method] = (channel: unknown, ...callback: unknown[]) => call(inNamespace(String(channel)), ...callback);
  }
  return inNamespace;
}

/** Messages (channel, then message) published in turn by one script. */
const PUBLISH_MESSAGES = `
for i = 1, #ARGV, 2 do redis.call('PUBLISH', ARGV[i], ARGV[i + 1]) end
return 0`;

/**
 * The fan-out's PUBLISHes of one turn (a message a PUBLISH a publisher sent, the PUBLISHes read
 * together), in one script (batched-calls.ts); in the order they were made, as Redis then delivers them.
 */
function publishedTogether(publish: Redis): BatchedCalls<[string, Buffer], number> {
  type PublishCall = (keyCount: number, ...channelsAndMessages: (string | Buffer)[]) => Promise<number>;
  const commands = publish as unknown as { mmcPublishMessages?: PublishCall };
  if (!commands.mmcPublishMessages) publish.defineCommand('mmcPublishMessages', { lua: PUBLISH_MESSAGES });
  const publishCall = commands.mmcPublishMessages!.bind(publish);
  return new BatchedCalls((calls) => publishCall(0, ...calls.flat()).then(() => calls.map(() => 0)));
}

/** The namespace's fan-out name: a random one, the first instance's, kept in Redis for every instance after it. */
async function fanOutName(redis: Redis, prefix: string): Promise<string> {
  await redis.set(`${prefix}fan-out`, randomBytes(8).toString('hex'), 'NX');
  return (await redis.get(`${prefix}fan-out`))!;
}

/**
 * A wipe of a session's state here forgets what a claim here read of it (its subscriptions, for aedes).
 * The store's close and abandon forget it only once the connection that claimed it ends, and a wipe can
 * come first: a Clean Start CONNECT taking the session over from a connection here that aedes is still
 * accepting wipes it before its own claim (which forgets it too, a round trip later), and aedes would
 * have restored the wiped subscriptions for the older connection in between.
 */
function forgettingReads(wipe: SharedStateWipe, reads: ConnectReads): SharedStateWipe {
  return (sessionName, removed) => {
    reads.forget(sessionName);
    return wipe(sessionName, removed);
  };
}

/** How long a close waits for aedes-persistence-redis to end before it drops the connections anyway. */
const PERSISTENCE_END_WAIT_MS = 2000;

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
  /** A takeover from a connection at another instance: asked of it, and answered for this one's connections (S8). */
  takeovers: RedisTakeovers;
  /** For aedes' options. */
  persistence: unknown;
  /** A session's state in that persistence, wiped in one step. */
  wipeState: SharedStateWipe;
  mq: ReturnType<typeof MQEmitterRedis>;
  /** The namespace's registered clients as changed while it runs (A7, P5), read and listened to before it returns. */
  clientRegistry(options: Pick<RedisClientRegistryOptions, 'configured' | 'current' | 'apply'>): Promise<RedisClientRegistry>;
  /** Settles once every message queued and fanned out so far is written in Redis; rejects if a write failed meanwhile. */
  written(): Promise<void>;
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
    // A database the server does not have (redis://HOST:PORT/DB past its `databases` setting): ioredis
    // reports it as an error and goes on in database 0, another namespace's.
    if (failure) throw failure;
  } catch (error) {
    for (const redis of all) redis.disconnect();
    const reason = (failure ?? (error as Error)).message + (/DB index/.test((failure ?? (error as Error)).message) ? ` (the server's "databases" setting)` : '');
    throw Object.assign(new Error(`cannot reach Redis at ${url}: ${reason}`), { code: REDIS_UNREACHABLE });
  }
  const unawaited = new WritesInFlight((error) => log(`a message could not be written to Redis: ${error.message}`));
  const channelOf = channelsOfNamespace(await fanOutName(storeConnection, namespacePrefix(options.namespace)), publish, subscribe);
  const mq = MQEmitterRedis({ pubConn: publish, subConn: subscribe });
  // aedes waited for each message's fan-out before its next step, and so before the publishing
  // connection's next packet: it goes on once the PUBLISH is sent (fan-out-codec.ts).
  fanOutInMsgpackr(mq, publish, subscribe, instance, unawaited);
  // Its connections' errors are re-emitted here; the connections report a loss themselves (connection()).
  (mq as unknown as { state: { on(event: 'error', listener: () => void): void } }).state.on('error', () => {});
  // What aedes reads of a session at a CONNECT, read in the session store's round trips.
  const reads = new ConnectReads(mq);
  const sessions = new RedisSessionStore({
    redis: storeConnection,
    namespace: options.namespace,
    instance,
    clock: options.clock,
    ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}),
    onLeaseLost: options.onLeaseLost,
    log,
    reads,
  });
  await sessions.start();
  // Messages are queued on the fan-out's connection, so that a message is in its sessions' queues before
  // any instance hears of it.
  const persistence = redisPersistence(persistenceConnection, publish, unawaited, reads, log);
  let registry: RedisClientRegistry | undefined;
  const takeovers = await RedisTakeovers.start(mq, storeConnection, instance, { channelOf });
  return {
    instance,
    sessions,
    // L8's count reads a queue on the connection the queue is written on, after what was queued.
    tallies: new RedisTallies(storeConnection, sessions.prefix, instance, publish),
    takeovers,
    persistence,
    wipeState: forgettingReads(redisSessionWipe(persistenceConnection, sessions.prefix, instance, channelOf), reads),
    mq,
    async clientRegistry(pieces) {
      registry = new RedisClientRegistry({ ...pieces, redis: storeConnection, prefix: sessions.prefix, instance, mq, clock: options.clock, log });
      await registry.start();
      return registry;
    },
    written: () => unawaited.written(),
    async close() {
      registry?.stop();
      await sessions.stop().catch((error: Error) => log(`the sessions held here could not be handed over: ${error.message}`));
      // aedes-persistence-redis's end unsubscribes on the fan-out, which waits for ever when Redis is gone.
      await Promise.race([persistence.destroy().catch(() => {}), delay(PERSISTENCE_END_WAIT_MS, undefined, { ref: false })]);
      for (const redis of all) redis.disconnect();
    },
  };
}
