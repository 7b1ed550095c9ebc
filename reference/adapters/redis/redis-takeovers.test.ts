// Takeovers between instances on Redis: an ask reaches only the instance it is addressed to, and its
// answer only the one that asked; an instance that is gone is not waited for, one that does not answer
// is waited for a bounded time.
import { describe, expect, it } from 'vitest';
import { fanOutsForTestFile, redisSkipNotice, REDIS_AVAILABLE } from '../../../testkit/redis-server.ts';
import { RedisTakeovers } from './redis-takeovers.ts';

redisSkipNotice('reference/adapters/redis/redis-takeovers.test.ts');

const redis = fanOutsForTestFile();

/** An instance's takeovers, on a fan-out and a store connection of its own. */
async function instance(name: string, answerMs?: number): Promise<RedisTakeovers> {
  return RedisTakeovers.start(redis.fanOut().mq, redis.connection(), name, { answerMs });
}

describe.skipIf(!REDIS_AVAILABLE)('takeovers between instances on Redis', () => {
  it('asks the instance the connection is at, and nobody else; the answer comes back to the one that asked', async () => {
    const [a, b, c] = await Promise.all([instance('a'), instance('b'), instance('c')]);
    const asked: string[] = [];
    await a.serve({
      takeOver: async (session, connection, from) => {
        asked.push(`a: take ${session} ${connection} from ${from}`);
        return { ending: 'taken', nextPacketId: 77 };
      },
      stillHolds: async (session, connection) => {
        asked.push(`a: check ${session} ${connection}`);
        return connection === 12;
      },
    });
    await c.serve({
      takeOver: async (session) => {
        asked.push(`c: take ${session}`);
        return { ending: 'held' };
      },
      stillHolds: async (session) => {
        asked.push(`c: check ${session}`);
        return true;
      },
    });
    expect(await b.stillHolds('a', 's1', 12)).toBe(true);
    expect(await b.stillHolds('a', 's1', 13)).toBe(false);
    expect(await b.ask('a', 's1', 12)).toEqual({ ending: 'taken', nextPacketId: 77 });
    expect(asked).toEqual(['a: check s1 12', 'a: check s1 13', 'a: take s1 12 from b']);
  });

  it('does not wait for an instance that is gone (nobody listens to its asks), and waits a bounded time for one that does not answer', async () => {
    const b = await instance('b', 300);
    let started = Date.now();
    expect(await b.ask('gone', 's1', 1)).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(250);
    expect(await b.stillHolds('gone', 's1', 1)).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(500);
    const silent = await instance('silent');
    await silent.serve({ takeOver: () => new Promise(() => {}), stillHolds: () => new Promise(() => {}) });
    started = Date.now();
    expect(await b.ask('silent', 's1', 1)).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    started = Date.now();
    expect(await b.stillHolds('silent', 's1', 1)).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });
});
