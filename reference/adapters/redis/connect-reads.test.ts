// The reads a CONNECT's view and claim carry for aedes (connect-reads.ts): the session's subscriptions
// as its claim read them, handed over once and only for a session no connection held; the fan-out
// subscribed ahead to a held session's topics, aedes answered only once Redis has answered those. One
// redis-server for the file, a database per test (aedes-persistence-redis's keys have no prefix).
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { redisForTestFile, redisSkipNotice, REDIS_AVAILABLE } from '../../../testkit/redis-server.ts';
import { sessionStoreContract } from '../test-support.ts';
import { ConnectReads, type FanOut } from './connect-reads.ts';
import { subscriptionsKey } from './redis-persistence.ts';
import { RedisSessionStore } from './redis-session-store.ts';

redisSkipNotice('reference/adapters/redis/connect-reads.test.ts');

const databases = redisForTestFile();

type Listener = Parameters<FanOut['on']>[1];

/** A fan-out that records what is subscribed and removed, and answers a subscription when told. */
class RecordingFanOut implements FanOut {
  readonly listeners: { topic: string; listener: Listener }[] = [];
  readonly unanswered: (() => void)[] = [];
  answerAtOnce = true;
  on(topic: string, listener: Listener, callback?: () => void): void {
    this.listeners.push({ topic, listener });
    if (this.answerAtOnce) callback?.();
    else if (callback) this.unanswered.push(callback);
  }
  removeListener(topic: string, listener: Listener): void {
    const index = this.listeners.findIndex((each) => each.topic === topic && each.listener === listener);
    if (index >= 0) this.listeners.splice(index, 1);
  }
}

/** A store of a fresh database with reads on `fanOut`, on the clock, and its connection. */
function storeWithReads(fanOut: FanOut = new RecordingFanOut(), clock = () => 0): { sessions: RedisSessionStore; reads: ConnectReads; redis: Redis } {
  const redis = databases.fresh({ maxRetriesPerRequest: 1 });
  const reads = new ConnectReads(fanOut);
  // A lease longer than any test's clock moves.
  // A lease no test's clock reaches, whose renewal (a third of it) setInterval still takes (past 2^31 ms it fires every 1 ms).
  return { sessions: new RedisSessionStore({ redis, namespace: 'n', instance: 'a', clock, leaseMs: 2e9, reads }), reads, redis };
}

/** A subscription as aedes-persistence-redis's oldest format keeps it: the QoS as a digit. */
const subscribed = (redis: Redis, name: string, topic: string) => redis.hset(subscriptionsKey(name), topic, '1');

describe.skipIf(!REDIS_AVAILABLE)('the reads a CONNECT carries', () => {
  // The store answers as it does without reads.
  sessionStoreContract(
    'the session store contract, with reads',
    async () => {
      let now = 0;
      const { sessions } = storeWithReads(new RecordingFanOut(), () => now);
      await sessions.start();
      return { sessions, advance: (ms: number) => (now += ms), now: () => now };
    },
    1_000,
  );

  it("hands over, once, the subscriptions the claim of a new or held session read, as they were at the claim, not the view", async () => {
    const { sessions, reads, redis } = storeWithReads();
    await sessions.start();
    expect(await sessions.claim(await sessions.view('new', 'alpha'), 1, 60, Infinity)).toEqual({ replaced: undefined });
    expect(await reads.take('new')).toEqual([]);
    expect(await reads.take('new')).toBeUndefined();

    await subscribed(redis, 'new', 't/1');
    expect(await sessions.close('new', 1)).toBe('held');
    const seen = await sessions.view('new', 'alpha');
    await subscribed(redis, 'new', 't/2');
    expect(await sessions.claim(seen, 2, 60, Infinity)).not.toBe('conflict');
    expect(await reads.take('new')).toEqual([
      { topic: 't/1', qos: 1 },
      { topic: 't/2', qos: 1 },
    ]);
  });

  it('hands nothing over for a claim that took a session from a connection, or lost, or whose connection ended first', async () => {
    const { sessions, reads, redis } = storeWithReads();
    await sessions.start();
    await subscribed(redis, 's', 't/1');
    await sessions.claim(await sessions.view('s', 'alpha'), 1, 60, Infinity);
    // Taken over from connection 1: it may still change its subscriptions until it ends.
    expect(await sessions.claim(await sessions.view('s', 'alpha'), 2, 60, Infinity)).toMatchObject({ replaced: { connectionId: 1 } });
    expect(await reads.take('s')).toBeUndefined();
    // A claim on a view that no longer stands.
    const stale = await sessions.view('s', 'alpha');
    await sessions.close('s', 2);
    expect(await sessions.claim(stale, 3, 60, Infinity)).toBe('conflict');
    expect(await reads.take('s')).toBeUndefined();
    // A connection that ended before aedes read them: what was read goes with it.
    await sessions.claim(await sessions.view('s', 'alpha'), 4, 60, Infinity);
    await sessions.abandon('s', 4, undefined);
    expect(await reads.take('s')).toBeUndefined();
    await sessions.claim(await sessions.view('s', 'alpha'), 5, 60, Infinity);
    reads.forget('s');
    expect(await reads.take('s')).toBeUndefined();
  });

  it("reads a held session's subscriptions at its view and subscribes the fan-out ahead only for a CONNECT that resumes it, not for a Clean Start", async () => {
    const fanOut = new RecordingFanOut();
    const { sessions, redis } = storeWithReads(fanOut);
    await sessions.start();
    await subscribed(redis, 's', 't/1');
    await sessions.claim(await sessions.view('s', 'alpha'), 1, 60, Infinity);
    await sessions.close('s', 1);
    // What Redis runs, scripts' own commands among them: the view's read of the session's subscriptions is one.
    const monitor = await redis.monitor();
    const run: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[]) => run.push(args));
    const readsOfSubscriptions = async (viewing: () => Promise<unknown>) => {
      run.length = 0;
      await viewing();
      const mark = `mark-${Math.random()}`;
      await redis.echo(mark);
      await expect.poll(() => run.some((args) => args.includes(mark))).toBe(true);
      return run.filter((args) => args[0]?.toLowerCase() === 'hgetall' && args[1] === subscriptionsKey('s')).length;
    };
    try {
      expect(await readsOfSubscriptions(() => sessions.view('s', 'alpha', true))).toBe(0);
      expect(fanOut.listeners).toEqual([]);
      expect(await readsOfSubscriptions(() => sessions.view('s', 'alpha'))).toBe(1);
      expect(fanOut.listeners.map((each) => each.topic)).toEqual(['t/1']);
    } finally {
      monitor.disconnect();
    }
  });

  it("subscribes the fan-out to a held session's topics at its view, answers aedes once Redis has answered them, and removes its own listeners after", async () => {
    const fanOut = new RecordingFanOut();
    const { sessions, reads, redis } = storeWithReads(fanOut);
    await sessions.start();
    await subscribed(redis, 's', 't/1');
    await subscribed(redis, 's', 't/+/x');
    // Not for a session live at a connection (nor a new one).
    await sessions.claim(await sessions.view('s', 'alpha'), 1, 60, Infinity);
    const live = await sessions.view('s', 'alpha');
    expect(fanOut.listeners).toEqual([]);
    await sessions.claim(live, 2, 60, Infinity);
    await sessions.close('s', 2);

    fanOut.answerAtOnce = false;
    const seen = await sessions.view('s', 'alpha');
    expect(fanOut.listeners.map((each) => each.topic).sort()).toEqual(['t/+/x', 't/1']);
    await sessions.claim(seen, 3, 60, Infinity);
    let handed = false;
    const taking = reads.take('s').then((subscriptions) => {
      handed = true;
      return subscriptions;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(handed).toBe(false);
    for (const answer of fanOut.unanswered.splice(0)) answer();
    expect(await taking).toHaveLength(2);
    // aedes adds its own listeners in the turn it is handed the subscriptions; the ones made ahead go in the next.
    expect(fanOut.listeners).toHaveLength(2);
    await new Promise((resolve) => setImmediate(resolve));
    expect(fanOut.listeners).toEqual([]);
  });
});
