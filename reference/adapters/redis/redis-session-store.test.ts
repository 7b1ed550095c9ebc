// The session store in Redis: the contract every store keeps (the same tests as the memory store),
// then what only a shared store has: instances racing for one name, and the lease that frees the
// sessions of an instance that died (kill -9) without letting an intruder take them. One
// redis-server for the file, a fresh namespace per test.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisSkipNotice, REDIS_AVAILABLE, startRedis, type TestRedis } from '../../../testkit/redis-server.ts';
import { sessionStoreContract } from '../test-support.ts';
import { RedisSessionStore } from './redis-session-store.ts';

redisSkipNotice('reference/adapters/redis/redis-session-store.test.ts');

let server: TestRedis | undefined;
const connections: Redis[] = [];
let namespaces = 0;

beforeAll(async () => {
  if (REDIS_AVAILABLE) server = await startRedis();
});

afterAll(async () => {
  for (const connection of connections.splice(0)) connection.disconnect();
  await server?.stop();
});

/** A store of a fresh namespace, as instance `instance`, on the hand-turned clock `clock`. */
function store(namespace: string, instance: string, clock: () => number, leaseMs?: number): RedisSessionStore {
  const redis = new Redis(server!.url, { lazyConnect: false, maxRetriesPerRequest: 1 });
  connections.push(redis);
  return new RedisSessionStore({ redis, namespace, instance, clock, ...(leaseMs ? { leaseMs } : {}) });
}

describe.skipIf(!REDIS_AVAILABLE)('RedisSessionStore', () => {
  // A lease longer than any test's clock moves: the contract is about one live instance.
  sessionStoreContract(
    'the session store contract',
    async () => {
      let now = 0;
      // A lease no test's clock reaches, whose renewal (a third of it) setInterval still takes (past 2^31 ms it fires every 1 ms).
      const sessions = store(`contract-${(namespaces += 1)}`, 'a', () => now, 2e9);
      await sessions.start();
      return { sessions, advance: (ms: number) => (now += ms), now: () => now };
    },
    2_000,
  );

  it("says a name is unwiped from when one instance removes its session until a claim took the name (or its state is wiped: redis-session-wipe.test.ts)", async () => {
    let now = 0;
    const namespace = `unwiped-${(namespaces += 1)}`;
    const [a, b] = [store(namespace, 'a', () => now), store(namespace, 'b', () => now)];
    await Promise.all([a.start(), b.start()]);
    // Swept at A: B's view finds no session, and that A has not wiped it yet.
    expect(await a.claim(await a.view('s', 'alpha'), 1, 1, Infinity)).not.toBe('conflict');
    expect(await a.close('s', 1)).toBe('held');
    now += 1000;
    expect((await a.sweep()).map((record) => record.name)).toEqual(['s']);
    expect(await b.view('s', 'beta')).toMatchObject({ record: undefined, unwiped: true });
    // Ended with its connection (expiry 0), and ended before its time (L8): the same, until a claim takes the name.
    expect(await a.claim(await a.view('s', 'alpha'), 2, 0, Infinity)).not.toBe('conflict');
    expect(await a.close('s', 2)).toBe('ended');
    const seen = await b.view('s', 'beta');
    expect(seen.unwiped).toBe(true);
    expect(await b.claim(seen, 1, 60, Infinity)).not.toBe('conflict');
    expect((await a.view('s', 'alpha')).unwiped).toBeUndefined();
    expect(await b.close('s', 1)).toBe('held');
    await b.end('s');
    expect((await a.view('s', 'alpha')).unwiped).toBe(true);
  });

  it('lets one of two instances claim a name both saw free, and tells each which instance holds it', async () => {
    let now = 0;
    const namespace = `race-${(namespaces += 1)}`;
    const [a, b] = [store(namespace, 'a', () => now), store(namespace, 'b', () => now)];
    await Promise.all([a.start(), b.start()]);
    const [seenA, seenB] = await Promise.all([a.view('s', 'alpha'), b.view('s', 'beta')]);
    const claims = await Promise.all([a.claim(seenA, 1, 60, Infinity), b.claim(seenB, 1, 60, Infinity)]);
    expect(claims.filter((claim) => claim === 'conflict')).toHaveLength(1);
    const winner = claims[0] === 'conflict' ? 'b' : 'a';
    expect(await a.find('s')).toMatchObject({ instance: winner, connectionId: 1 });
    // The other identity, deciding again, is refused by what the view now shows: the session is live elsewhere.
    expect((await b.view('s', 'beta')).record).toMatchObject({ owner: winner === 'a' ? 'alpha' : 'beta', instance: winner });
    // A connection of one instance does not end a session a connection of another holds under the same number.
    const other = winner === 'a' ? b : a;
    expect(await other.close('s', 1)).toBe('stale');
  });

  it('S9 across instances: of six racing new sessions of one identity, as many as its limit are claimed', async () => {
    const now = 0;
    const namespace = `limit-${(namespaces += 1)}`;
    const [a, b] = [store(namespace, 'a', () => now), store(namespace, 'b', () => now)];
    await Promise.all([a.start(), b.start()]);
    const stores = [a, b, a, b, a, b];
    const views = await Promise.all(stores.map((instance, index) => instance.view(`s${index}`, 'alpha')));
    const claims = await Promise.all(stores.map((instance, index) => instance.claim(views[index]!, index + 1, 60, 2)));
    expect(claims.filter((claim) => claim !== 'conflict')).toHaveLength(2);
    expect(await a.countOwnedBy('alpha')).toBe(2);
  });

  it("holds a dead instance's sessions offline once its lease has run out, still locked to their owner, until they expire", async () => {
    let now = 1_000;
    const namespace = `lease-${(namespaces += 1)}`;
    const a = store(namespace, 'a', () => now, 3_000);
    const b = store(namespace, 'b', () => now, 3_000);
    await Promise.all([a.start(), b.start()]);
    expect(await a.claim(await a.view('s', 'alpha'), 7, 60, Infinity)).toEqual({ replaced: undefined });
    // a dies (no more renewals); b lives on.
    now += 2_000;
    await b.renewLease();
    expect(await b.find('s')).toMatchObject({ connectionId: 7, instance: 'a' });
    now += 1_001;
    await b.renewLease();
    // Held since a's lease ran out (t = 4000): the owner may take it back, an intruder may not.
    expect(await b.find('s')).toEqual({ name: 's', owner: 'alpha', expirySeconds: 60, heldSince: 4_000 });
    expect((await b.view('s', 'beta')).record?.connectionId).toBeUndefined();
    expect(await b.countOwnedBy('alpha')).toBe(1);
    expect(await b.nextExpiry()).toBe(64_000);
    now = 64_000;
    await b.renewLease();
    expect((await b.sweep()).map((record) => record.name)).toEqual(['s']);
    // a comes back: its renewal says its lease had run out.
    expect(await a.renewLease()).toBe(true);
    expect(await a.renewLease()).toBe(false);
    await a.stop();
    await b.stop();
  });

  it('ends at once, for a sweep to wipe, a session of expiry 0 whose instance died', async () => {
    let now = 0;
    const namespace = `lease0-${(namespaces += 1)}`;
    const a = store(namespace, 'a', () => now, 3_000);
    const b = store(namespace, 'b', () => now, 3_000);
    await Promise.all([a.start(), b.start()]);
    await a.claim(await a.view('e', 'alpha'), 1, 0, Infinity);
    now = 3_001;
    await b.renewLease();
    expect(await b.find('e')).toBeUndefined();
    expect(await b.countOwnedBy('alpha')).toBe(0);
    expect((await b.sweep()).map((record) => record.name)).toEqual(['e']);
    await b.stop();
  });

  it('hands the sessions of an instance that stops over as held, at once', async () => {
    let now = 0;
    const namespace = `release-${(namespaces += 1)}`;
    const a = store(namespace, 'a', () => now);
    await a.start();
    await a.claim(await a.view('s', 'alpha'), 1, 60, Infinity);
    now = 500;
    await a.stop();
    expect(await a.find('s')).toEqual({ name: 's', owner: 'alpha', expirySeconds: 60, heldSince: 499 });
  });
});
