// What redis-persistence.ts keeps of a session's QoS 1 messages beside aedes-persistence-redis's
// queue: the packet identifier each session was sent a stored message with (`packet:…:ids`), never for
// a message no longer stored; and a message's count of the sessions holding it, which only ever grows
// as the message is queued again. One redis-server for the file, a database per test.
import { PassThrough } from 'node:stream';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { redisForTestFile, redisSkipNotice, REDIS_AVAILABLE, slowRequests } from '../../../testkit/redis-server.ts';
import { redisPersistence } from './redis-persistence.ts';
import { redisSessionWipe } from './redis-session-wipe.ts';
import { WritesInFlight } from './writes-in-flight.ts';

redisSkipNotice('reference/adapters/redis/redis-persistence.test.ts');

const redisFile = redisForTestFile();

const message = (counter: number) => ({ cmd: 'publish', topic: 't', payload: Buffer.from(`m${counter}`), qos: 1, retain: false, dup: false, brokerId: 'b1', brokerCounter: counter });

/** Every key of the database matching `pattern`, sorted (SCAN, as an operator would look). */
async function scan(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found.sort();
}

/** aedes-persistence-redis as redis-persistence.ts adapts it, on two connections as an instance has: its own, and the fan-out's (`queue`). */
async function persistenceIn(connect: () => Redis) {
  const [redis, queue] = [connect(), connect()];
  await Promise.all([redis.ping(), queue.ping()]);
  const failures: Error[] = [];
  const persistence = redisPersistence(redis, queue, new WritesInFlight((error) => failures.push(error)));
  /** The packet identifiers of the session's queue, as read when it resumes. */
  const queued = async (id: string) => {
    const identifiers: unknown[] = [];
    for await (const each of persistence.outgoingStream({ id })) identifiers.push((each as { messageId?: unknown }).messageId);
    return identifiers;
  };
  return { redis, queue, persistence, queued, failures };
}

describe.skipIf(!REDIS_AVAILABLE)('packet identifiers (`packet:…:ids`)', () => {
  it('are recorded for the messages a session has queued, and for no message that is not stored: live deliveries to sessions nothing was queued for leave no key', async () => {
    const { redis, persistence, queued, failures } = await persistenceIn(redisFile.database());
    // aedes' Client of the connection: a PUBACK is matched to what its own connection was sent.
    const connection = { id: 'queued' };
    await persistence.outgoingEnqueueCombi([{ clientId: 'queued' }], message(1));
    await persistence.outgoingUpdate(connection, { ...message(1), messageId: 1 });
    // A run of live deliveries to sessions the messages were not queued for (a subscription the
    // publishing instance had not heard of yet), never acknowledged: the connections ended first.
    for (let counter = 2; counter <= 41; counter += 1) {
      await persistence.outgoingUpdate({ id: `live ${counter % 4}` }, { ...message(counter), messageId: counter });
    }
    // One of them is stored for another session: its field goes with it.
    await persistence.outgoingUpdate({ id: 'live 0' }, { ...message(1), messageId: 50 });
    expect(await scan(redis, '*:ids')).toEqual(['packet:b1:1:ids']);
    expect(await queued('queued')).toEqual([1]);
    await persistence.outgoingClearMessageId(connection, { messageId: 1 });
    expect(await scan(redis, '*')).toEqual([]);
    expect(failures).toEqual([]);
  });

  it('are recorded for a message whose queueing Redis has not answered yet (the record goes behind it, on its connection)', async () => {
    const { queue, persistence, queued, failures } = await persistenceIn(redisFile.database());
    slowRequests(queue, 300);
    // aedes goes on once the queueing is sent, and sends the message at once.
    await persistence.outgoingEnqueueCombi([{ clientId: 's' }], message(1));
    await persistence.outgoingUpdate({ id: 's' }, { ...message(1), messageId: 7 });
    expect(await queued('s')).toEqual([7]);
    expect(failures).toEqual([]);
  });
});

describe.skipIf(!REDIS_AVAILABLE)("a message's count of the sessions holding it (`packet:…:offlineCount`)", () => {
  it('is raised by each queueing of the message (M3: held for a shared group member, given to a connected one), never reset: the message stays until its last holder acknowledged it', async () => {
    const { redis, persistence, queued, failures } = await persistenceIn(redisFile.database());
    // aedes queues it for the persistent subscribers of its topic; then two groups' copies are queued.
    await persistence.outgoingEnqueueCombi([{ clientId: 's1' }, { clientId: 's2' }], message(1));
    await persistence.outgoingEnqueueCombi([{ clientId: 'held member' }], { ...message(1), messageId: undefined });
    await persistence.outgoingEnqueue({ clientId: 'connected member' }, { ...message(1), messageId: undefined });
    expect(await redis.get('packet:b1:1:offlineCount')).toBe('4');
    for (const [id, messageId] of [['s1', 1], ['s2', 2], ['connected member', 3]] as const) {
      const connection = { id };
      await persistence.outgoingUpdate(connection, { ...message(1), messageId });
      await persistence.outgoingClearMessageId(connection, { messageId });
    }
    expect(await queued('held member')).toEqual([undefined]);
    const resumed = { id: 'held member' };
    await persistence.outgoingUpdate(resumed, { ...message(1), messageId: 4 });
    await persistence.outgoingClearMessageId(resumed, { messageId: 4 });
    expect(await scan(redis, '*')).toEqual([]);
    expect(failures).toEqual([]);
  });

  it('is counted down by every copy a PUBACK takes out of the queue: a queueing run twice (ioredis resends a script unanswered when its connection dropped) leaves nothing once acknowledged', async () => {
    const { redis, persistence, failures } = await persistenceIn(redisFile.database());
    await persistence.outgoingEnqueueCombi([{ clientId: 's1' }], message(1));
    await persistence.outgoingEnqueueCombi([{ clientId: 's1' }], message(1));
    expect(await redis.lrange('outgoing:s1', 0, -1)).toEqual(['packet:b1:1', 'packet:b1:1']);
    const connection = { id: 's1' };
    await persistence.outgoingUpdate(connection, { ...message(1), messageId: 1 });
    await persistence.outgoingClearMessageId(connection, { messageId: 1 });
    expect(await scan(redis, '*')).toEqual([]);
    expect(failures).toEqual([]);
  });
});

describe.skipIf(!REDIS_AVAILABLE)('a PUBACK', () => {
  it('acknowledges the message its own connection was sent with that identifier: after a wipe of the session at another instance, a later connection of the name, never sent it, acknowledges nothing', async () => {
    const connect = redisFile.database();
    const { redis, persistence, failures } = await persistenceIn(connect);
    await persistence.outgoingEnqueueCombi([{ clientId: 's' }, { clientId: 'other' }], message(1));
    // aedes' Client of each connection of session "s".
    const [earlier, later] = [{ id: 's' }, { id: 's' }];
    await persistence.outgoingUpdate(earlier, { ...message(1), messageId: 5 });
    // A Clean Start (or an expiry) of "s" at another instance wipes it: this instance hears only of its subscriptions.
    await redisSessionWipe(connect(), 'mmc:{ns}:', 'b2', (topic) => topic)('s', false);
    expect(await persistence.outgoingClearMessageId(later, { messageId: 5 })).toBeUndefined();
    // The earlier connection's own PUBACK, late, is answered with its message, which "other" keeps.
    expect(await persistence.outgoingClearMessageId(earlier, { messageId: 5 })).toMatchObject({ topic: 't', messageId: 5 });
    expect(await redis.get('packet:b1:1:offlineCount')).toBe('1');
    expect(await redis.lrange('outgoing:other', 0, -1)).toEqual(['packet:b1:1']);
    expect(failures).toEqual([]);
  });
});

describe.skipIf(!REDIS_AVAILABLE)("a SUBSCRIBE's retained messages", () => {
  it('are told as unread when Redis fails their read, where aedes pipes the stream with no error listener (an unhandled error ended the process)', async () => {
    const connect = redisFile.database();
    const [redis, queue] = [connect({ maxRetriesPerRequest: 0 }), connect()];
    await Promise.all([redis.ping(), queue.ping()]);
    const told: string[] = [];
    const persistence = redisPersistence(redis, queue, new WritesInFlight(() => {}), undefined, (line) => told.push(line));
    redis.disconnect();
    const stream = persistence.createRetainedStreamCombi(['mmc/#']) as unknown as NodeJS.ReadableStream;
    // As aedes reads it: piped on, with no listener of its own for an error.
    stream.pipe(new PassThrough({ objectMode: true }));
    await expect.poll(() => told).toEqual([expect.stringContaining('the retained messages of a SUBSCRIBE could not be read from Redis')]);
  });
});
