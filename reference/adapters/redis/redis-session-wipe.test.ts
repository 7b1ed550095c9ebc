// The wipe of a session's state in Redis: whole (its queue, the messages in it, its subscriptions,
// its will, the QoS 2 PUBLISHes it sent awaiting their PUBREL, the store's mark), once (a second wipe,
// by any instance, removes nothing of anyone else's), and only while the store marks the name unwiped
// when it is an ended session's. One redis-server for the file, a database per test.
import { Redis } from 'ioredis';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { redisForTestFile, redisSkipNotice, REDIS_AVAILABLE } from '../../../testkit/redis-server.ts';
import { redisPersistence } from './redis-persistence.ts';
import { RedisSessionStore } from './redis-session-store.ts';
import { redisSessionWipe } from './redis-session-wipe.ts';
import { WritesInFlight } from './writes-in-flight.ts';

redisSkipNotice('reference/adapters/redis/redis-session-wipe.test.ts');

const requireHere = createRequire(import.meta.url);
const msgpack = createRequire(requireHere.resolve('aedes-persistence-redis/asyncPersistence.js'))('msgpack-lite') as {
  encode(value: unknown): Buffer;
  decode(buffer: Buffer): { id: string; msg: { topic: string; payload: string } };
};

const PREFIX = 'mmc:{ns}:';
const redisFile = redisForTestFile();

const keys = async (redis: Redis) => (await redis.keys('*')).sort();

/** Session "s 1" (a name its keys URI-encode) with two queued messages, one of them shared with session "other" and sent to both, one sent at QoS 2; two subscriptions; a will; a QoS 2 PUBLISH it sent awaiting its PUBREL, as "other" has one: written by aedes-persistence-redis (as redis-persistence.ts adapts it). */
async function stateIn(connect: () => Redis) {
  const redis = connect();
  const persistence = redisPersistence(
    redis,
    redis,
    new WritesInFlight((error) => {
      throw error;
    }),
  ) as ReturnType<typeof redisPersistence> & {
    outgoingUpdate(client: { id: string }, packet: object): Promise<void>;
    setup(broker: object): Promise<void>;
    addSubscriptions(client: { id: string }, subs: object[]): Promise<void>;
    putWill(client: { id: string }, packet: object): Promise<void>;
  };
  // A broker as far as its subscription announcements go: each is heard back at once.
  const listeners: ((packet: object, done: () => void) => void)[] = [];
  await persistence.setup({
    id: 'b1',
    subscribe: (_topic: string, listener: (packet: object, done: () => void) => void, done: () => void) => (listeners.push(listener), done()),
    publish: (packet: object, done: () => void) => (listeners.forEach((listener) => listener(packet, () => {})), done()),
  });
  const packet = (counter: number, qos: number) => ({ cmd: 'publish', topic: 't', payload: Buffer.from('m'), qos, retain: false, dup: false, brokerId: 'b1', brokerCounter: counter });
  await persistence.outgoingEnqueueCombi([{ clientId: 's 1' }, { clientId: 'other' }], packet(1, 1));
  await persistence.outgoingEnqueueCombi([{ clientId: 's 1' }], packet(2, 2));
  // The shared message sent to both sessions: the packet identifier each was sent it with.
  // aedes' Client of the session's connection (a PUBACK is matched to what its own connection was sent).
  const connection = { id: 's 1' };
  await persistence.outgoingUpdate(connection, { ...packet(1, 1), messageId: 3 });
  await persistence.outgoingUpdate({ id: 'other' }, { ...packet(1, 1), messageId: 4 });
  // Sent at QoS 2 and received (PUBREC): the queue holds the session's own copy of the message.
  await persistence.outgoingUpdate(connection, { ...packet(2, 2), messageId: 7 });
  await persistence.outgoingUpdate(connection, { cmd: 'pubrel', messageId: 7 });
  await persistence.addSubscriptions({ id: 's 1' }, [
    { topic: 'a/+', qos: 1 },
    { topic: 'b', qos: 1 },
  ]);
  await persistence.addSubscriptions({ id: 'other' }, [{ topic: 'a/+', qos: 1 }]);
  await persistence.putWill({ id: 's 1' }, { cmd: 'publish', topic: 'w', payload: Buffer.from('gone'), qos: 1, retain: false });
  // QoS 2 PUBLISHes each session sent (as under the L9 mutant), stored until their PUBREL: one of them has had it.
  const sent = (messageId: number) => ({ cmd: 'publish', topic: 'in', payload: Buffer.from('i'), qos: 2, retain: false, dup: false, messageId });
  for (const messageId of [11, 12]) await persistence.incomingStorePacket({ id: 's 1' }, sent(messageId));
  await persistence.incomingStorePacket({ id: 'other' }, sent(11));
  await persistence.incomingDelPacket({ id: 's 1' }, sent(12));
  expect((await keys(redis)).filter((key) => /^(client|will|incoming)/.test(key))).toEqual(['client:other', 'client:s%201', 'clients', 'incoming:other', 'incoming:other:11', 'incoming:s%201', 'incoming:s%201:11', 'will', 'will:b1:s%201']);
  await redis.set(`${PREFIX}w:s 1`, 'a');
  return { redis, persistence, connection };
}

describe.skipIf(!REDIS_AVAILABLE)('redisSessionWipe', () => {
  it("removes the session's queue, the messages only it held, its subscriptions, its will, the QoS 2 PUBLISHes it sent awaiting their PUBREL and the store's mark, and announces the subscriptions' removal on the fan-out", async () => {
    const connect = redisFile.database();
    const { redis } = await stateIn(connect);
    expect(await redis.lrange('outgoing:s%201', 0, -1)).toEqual(['packet:b1:1', 'outgoing:s%201:b1:2']);
    const listener = connect();
    const heard: Buffer[] = [];
    listener.on('messageBuffer', (_channel: Buffer, message: Buffer) => heard.push(message));
    await listener.subscribe('fan/$SYS/sub/rm');
    await redisSessionWipe(redis, PREFIX, 'b1', (topic) => `fan/${topic}`)('s 1', true);
    // The message that "other" still has keeps its payload, counted down to that one subscriber.
    expect(await keys(redis)).toEqual(['client:other', 'clients', 'incoming:other', 'incoming:other:11', 'outgoing:other', 'packet:b1:1', 'packet:b1:1:ids', 'packet:b1:1:offlineCount']);
    expect(await redis.get('packet:b1:1:offlineCount')).toBe('1');
    expect(await redis.hgetall('packet:b1:1:ids')).toEqual({ other: '4' });
    expect(await redis.smembers('clients')).toEqual(['other']);
    await expect.poll(() => heard.length).toBe(1);
    const { msg } = msgpack.decode(heard[0]!);
    expect(msg.topic).toBe('$SYS/sub/rm');
    expect(JSON.parse(msg.payload)).toEqual({ clientId: 's 1', subs: expect.arrayContaining([{ topic: 'a/+' }, { topic: 'b' }]) });
  });

  it('removes nothing more the second time, wherever it runs: the messages of other sessions keep their counts', async () => {
    const connect = redisFile.database();
    const { redis } = await stateIn(connect);
    const [atA, atB] = [redisSessionWipe(redis, PREFIX, 'b1', (topic) => topic), redisSessionWipe(connect(), PREFIX, 'b2', (topic) => topic)];
    await Promise.all([atA('s 1', true), atB('s 1', true), atB('s 1', false)]);
    expect(await keys(redis)).toEqual(['client:other', 'clients', 'incoming:other', 'incoming:other:11', 'outgoing:other', 'packet:b1:1', 'packet:b1:1:ids', 'packet:b1:1:offlineCount']);
    expect(await redis.get('packet:b1:1:offlineCount')).toBe('1');
  });

  it("ends the store's unwiped mark, whichever instance wipes: a CONNECT decided again after its claim conflicted does not wipe again", async () => {
    const connect = redisFile.database();
    const [a, b] = (['a', 'b'] as const).map((instance) => new RedisSessionStore({ redis: connect(), namespace: 'ns', instance, clock: () => 0 }));
    await Promise.all([a!.start(), b!.start()]);
    expect(await a!.claim(await a!.view('s', 'alpha'), 1, 0, Infinity)).not.toBe('conflict');
    expect(await a!.close('s', 1)).toBe('ended');
    // A removed it and marked it for its wipe; B's CONNECT wipes it first.
    expect((await b!.view('s', 'beta')).unwiped).toBe(true);
    await redisSessionWipe(connect(), b!.prefix, 'b', (topic) => topic)('s', true);
    expect((await b!.view('s', 'beta')).unwiped).toBeUndefined();
    await Promise.all([a!.stop(), b!.stop()]);
  });

  it("counts a message down once for a session wiped before its older connection's PUBACK came (a Clean Start): the sessions that still have it queued keep it", async () => {
    const connect = redisFile.database();
    const { redis, persistence, connection } = await stateIn(connect);
    await redisSessionWipe(redis, PREFIX, 'b1', (topic) => topic)('s 1', false);
    await expect(persistence.outgoingClearMessageId(connection, { messageId: 3 })).resolves.toMatchObject({ messageId: 3 });
    expect(await redis.get('packet:b1:1:offlineCount')).toBe('1');
    expect(await redis.lrange('outgoing:other', 0, -1)).toEqual(['packet:b1:1']);
    expect(await redis.exists('packet:b1:1')).toBe(1);
  });

  it("leaves an ended session's name alone once the store no longer marks it (a claim since: a new session's state), and wipes a replaced session's unmarked", async () => {
    const connect = redisFile.database();
    const { redis } = await stateIn(connect);
    await redis.del(`${PREFIX}w:s 1`);
    const wipe = redisSessionWipe(redis, PREFIX, 'b1', (topic) => topic);
    const before = await keys(redis);
    await wipe('s 1', true);
    expect(await keys(redis)).toEqual(before);
    await wipe('s 1', false);
    expect(await keys(redis)).toEqual(['client:other', 'clients', 'incoming:other', 'incoming:other:11', 'outgoing:other', 'packet:b1:1', 'packet:b1:1:ids', 'packet:b1:1:offlineCount']);
  });
});
