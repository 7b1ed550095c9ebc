// Takeovers between instances on Redis: an ask reaches only the instance it is addressed to, and its
// answer only the one that asked; an instance that is gone is not waited for, one that does not answer
// is waited for a bounded time.
import { Redis } from 'ioredis';
import MQEmitterRedis from 'mqemitter-redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redisSkipNotice, REDIS_AVAILABLE, startRedis, type TestRedis } from '../../../testkit/redis-server.ts';
import { RedisTakeovers } from './redis-takeovers.ts';

redisSkipNotice('reference/adapters/redis/redis-takeovers.test.ts');

let redis: TestRedis | undefined;
const connections: Redis[] = [];
const fanouts: ReturnType<typeof MQEmitterRedis>[] = [];
beforeAll(async () => {
  if (REDIS_AVAILABLE) redis = await startRedis();
});
afterAll(() => redis?.stop());
afterEach(async () => {
  await Promise.all(fanouts.splice(0).map((mq) => new Promise<void>((resolve) => mq.close(() => resolve()))));
  for (const connection of connections.splice(0)) connection.disconnect();
});

/** An instance's takeovers, on a fan-out and a store connection of its own. */
async function instance(name: string, answerMs?: number): Promise<RedisTakeovers> {
  const [store, pub, sub] = [new Redis(redis!.url), new Redis(redis!.url), new Redis(redis!.url)];
  connections.push(store);
  const mq = MQEmitterRedis({ pubConn: pub, subConn: sub });
  fanouts.push(mq);
  return RedisTakeovers.start(mq, store, name, answerMs);
}

describe.skipIf(!REDIS_AVAILABLE)('takeovers between instances on Redis', () => {
  it('asks the instance the connection is at, and nobody else; the answer comes back to the one that asked', async () => {
    const [a, b, c] = await Promise.all([instance('a'), instance('b'), instance('c')]);
    const asked: string[] = [];
    await a.serve(async (session, connection, from) => {
      asked.push(`a: ${session} ${connection} from ${from}`);
      return { ending: 'taken', nextPacketId: 77 };
    });
    await c.serve(async (session) => {
      asked.push(`c: ${session}`);
      return { ending: 'held' };
    });
    expect(await b.ask('a', 's1', 12)).toEqual({ ending: 'taken', nextPacketId: 77 });
    expect(asked).toEqual(['a: s1 12 from b']);
  });

  it('does not wait for an instance that is gone (nobody listens to its asks), and waits a bounded time for one that does not answer', async () => {
    const b = await instance('b', 300);
    let started = Date.now();
    expect(await b.ask('gone', 's1', 1)).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(250);
    const silent = await instance('silent');
    await silent.serve(() => new Promise(() => {}));
    started = Date.now();
    expect(await b.ask('silent', 's1', 1)).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });
});
