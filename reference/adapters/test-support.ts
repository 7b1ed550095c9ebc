// Test helpers of the adapters (not shipped: the build leaves test-support.ts out).
// The contract every session store keeps (reference/ports/session-store.ts): binding, holding,
// expiry, connections that never started, claims made on a view that no longer stands, and a long
// random run checked against a plain model. memory-session-store.test.ts runs it against the store in
// memory, redis/redis-session-store.test.ts against the one in Redis.
import { describe, expect, it } from 'vitest';
import type { SessionRecord } from '../policy/session-record.ts';
import type { SessionStore } from '../ports/session-store.ts';

/** A store on a hand-turned clock: `advance` moves it on and returns the new time. */
export interface StoreUnderTest {
  sessions: SessionStore;
  advance(ms: number): number;
  now(): number;
}

/** Views the session and claims it for the connection, as a CONNECT that was granted does. */
async function open(sessions: SessionStore, name: string, owner: string, connectionId: number, expirySeconds: number) {
  const claim = await sessions.claim(await sessions.view(name, owner), connectionId, expirySeconds, Infinity);
  if (claim === 'conflict') throw new Error(`claim of "${name}" conflicted with no other claim under way`);
  return claim.replaced;
}

/** The contract, for a store that `registry` makes fresh (on a clock at 0); `steps` of the random run. */
export function sessionStoreContract(label: string, registry: () => Promise<StoreUnderTest>, steps = 5_000): void {
  describe(label, () => {
    it('holds a session after its connection ends, until its expiry', async () => {
      const { sessions, advance } = await registry();
      await open(sessions, 's', 'alpha', 1, 10);
      expect(await sessions.close('s', 1)).toBe('held');
      expect(await sessions.countOwnedBy('alpha')).toBe(1);
      expect(await sessions.nextExpiry()).toBe(10_000);
      advance(10_000);
      expect(await sessions.find('s')).toBeUndefined();
      expect((await sessions.sweep()).map((record) => record.name)).toEqual(['s']);
      expect(await sessions.countOwnedBy('alpha')).toBe(0);
    });

    it('ends a session at once when the expiry in force at the end is 0', async () => {
      const { sessions } = await registry();
      await open(sessions, 's', 'alpha', 1, 10);
      expect(await sessions.close('s', 1, 0)).toBe('ended');
      expect(await sessions.find('s')).toBeUndefined();
    });

    it('ignores the end of a connection the session has moved on from', async () => {
      const { sessions } = await registry();
      await open(sessions, 's', 'alpha', 1, 10);
      expect((await open(sessions, 's', 'alpha', 2, 10))?.connectionId).toBe(1);
      expect(await sessions.close('s', 1)).toBe('stale');
      expect((await sessions.find('s'))?.connectionId).toBe(2);
    });

    it('puts back what a connection that never started replaced, or forgets its reservation', async () => {
      const { sessions } = await registry();
      await open(sessions, 's', 'alpha', 1, 10);
      const replaced = await open(sessions, 's', 'alpha', 2, 10);
      await sessions.abandon('s', 2, replaced);
      expect((await sessions.find('s'))?.connectionId).toBe(1);
      await open(sessions, 't', 'beta', 3, 10);
      await sessions.abandon('t', 3, undefined);
      expect(await sessions.find('t')).toBeUndefined();
    });

    it('counts each owner on its own, and stops counting a held session once it has expired, before any sweep', async () => {
      const { sessions, advance } = await registry();
      await open(sessions, 'a1', 'alpha', 1, 5);
      await open(sessions, 'a2', 'alpha', 2, 10);
      await open(sessions, 'b1', 'beta', 3, 5);
      await sessions.close('a1', 1);
      await sessions.close('b1', 3);
      expect([await sessions.countOwnedBy('alpha'), await sessions.countOwnedBy('beta'), await sessions.countOwnedBy('gamma')]).toEqual([2, 1, 0]);
      advance(5_000);
      expect([await sessions.countOwnedBy('alpha'), await sessions.countOwnedBy('beta')]).toEqual([1, 0]);
      expect(await sessions.size()).toBe(3);
      expect((await sessions.sweep()).map((record) => record.name).sort()).toEqual(['a1', 'b1']);
      expect(await sessions.size()).toBe(1);
    });

    it('sweeps soonest first, and forgets the expiry of a held session that was resumed or taken by another connection', async () => {
      const { sessions, advance } = await registry();
      await open(sessions, 'late', 'alpha', 1, 30);
      await open(sessions, 'soon', 'alpha', 2, 10);
      await open(sessions, 'resumed', 'beta', 3, 5);
      await sessions.close('late', 1);
      await sessions.close('soon', 2);
      await sessions.close('resumed', 3);
      expect(await sessions.nextExpiry()).toBe(5_000);
      await open(sessions, 'resumed', 'beta', 4, 5);
      expect(await sessions.nextExpiry()).toBe(10_000);
      advance(30_000);
      expect((await sessions.sweep()).map((record) => record.name)).toEqual(['soon', 'late']);
      expect((await sessions.find('resumed'))?.connectionId).toBe(4);
      expect(await sessions.nextExpiry()).toBeUndefined();
    });

    it('puts a held session back with its expiry when the connection that replaced it never starts', async () => {
      const { sessions, advance } = await registry();
      await open(sessions, 's', 'alpha', 1, 10);
      await sessions.close('s', 1);
      const replaced = await open(sessions, 's', 'alpha', 2, 10);
      expect(await sessions.nextExpiry()).toBeUndefined();
      await sessions.abandon('s', 2, replaced);
      expect(await sessions.nextExpiry()).toBe(10_000);
      advance(10_000);
      expect((await sessions.sweep()).map((record) => record.connectionId)).toEqual([undefined]);
      expect(await sessions.countOwnedBy('alpha')).toBe(0);
    });

    it('ends a held session before its time (L8): its name is free, its owner no longer counts it, its expiry is gone', async () => {
      const { sessions, advance } = await registry();
      await open(sessions, 'full', 'alpha', 1, 30);
      await open(sessions, 'other', 'alpha', 2, 60);
      await sessions.close('full', 1);
      await sessions.close('other', 2);
      expect(await sessions.nextExpiry()).toBe(30_000);
      await sessions.end('full');
      expect(await sessions.find('full')).toBeUndefined();
      expect(await sessions.countOwnedBy('alpha')).toBe(1);
      expect(await sessions.nextExpiry()).toBe(60_000);
      advance(60_000);
      expect((await sessions.sweep()).map((record) => record.name)).toEqual(['other']);
    });

    it('answers as a scan of every session would, over a long random sequence of operations', async () => {
      // The plain model: a list of records, scanned for every question.
      const model = new Map<string, SessionRecord>();
      const at = (record: SessionRecord) => (record.heldSince === undefined ? undefined : record.heldSince + record.expirySeconds * 1000);
      const { sessions, advance, now: clockNow } = await registry();
      let now = clockNow();
      const expired = (record: SessionRecord) => at(record) !== undefined && now >= at(record)!;
      let seed = 7;
      const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
      const names = Array.from({ length: 40 }, (_, index) => `s${index}`);
      const owners = ['alpha', 'beta', 'gamma'];
      let connectionId = 0;
      for (let step = 0; step < steps; step += 1) {
        const name = names[random(names.length)]!;
        const operation = random(5);
        if (operation === 0) {
          const owner = owners[random(owners.length)]!;
          const expirySeconds = random(4);
          connectionId += 1;
          const live = model.get(name);
          const replaced = await open(sessions, name, owner, connectionId, expirySeconds);
          expect(replaced?.connectionId).toBe(live && !expired(live) ? live.connectionId : undefined);
          const previous = live && !expired(live) ? live : undefined;
          model.set(name, { name, owner, connectionId, expirySeconds });
          if (random(5) === 0) {
            await sessions.abandon(name, connectionId, replaced);
            if (previous) model.set(name, previous);
            else model.delete(name);
          }
        } else if (operation === 1) {
          const record = model.get(name);
          const id = record?.connectionId ?? 0;
          const outcome = await sessions.close(name, id);
          if (record && record.connectionId === id && id !== 0) {
            expect(outcome).toBe(record.expirySeconds === 0 ? 'ended' : 'held');
            if (record.expirySeconds === 0) model.delete(name);
            else model.set(name, { ...record, connectionId: undefined, heldSince: now });
          } else expect(outcome).toBe('stale');
        } else if (operation === 2) {
          now = advance(random(1500));
        } else if (operation === 3) {
          await sessions.end(name);
          model.delete(name);
        } else {
          const swept = (await sessions.sweep()).map((record) => record.name).sort();
          const due = [...model.values()].filter(expired).map((record) => record.name).sort();
          for (const gone of due) model.delete(gone);
          expect(swept).toEqual(due);
        }
        for (const owner of owners) {
          expect(await sessions.countOwnedBy(owner)).toBe([...model.values()].filter((record) => record.owner === owner && !expired(record)).length);
        }
        const times = [...model.values()].map(at).filter((time): time is number => time !== undefined);
        expect(await sessions.nextExpiry()).toBe(times.length ? Math.min(...times) : undefined);
        expect((await sessions.find(name))?.connectionId).toBe(model.has(name) && !expired(model.get(name)!) ? model.get(name)!.connectionId : undefined);
      }
    });

    it('refuses a claim made on a view that no longer stands, and makes none', async () => {
      const { sessions } = await registry();
      const seen = await sessions.view('s', 'alpha');
      const rival = await sessions.view('s', 'alpha');
      expect(await sessions.claim(seen, 1, 10, Infinity)).toEqual({ replaced: undefined });
      // The name was free when the rival looked: now connection 1 holds it.
      expect(await sessions.claim(rival, 2, 10, Infinity)).toBe('conflict');
      expect((await sessions.find('s'))?.connectionId).toBe(1);
      // A view of the owner's count (1): another of its sessions began since, reaching a limit of 2;
      // below a limit of 3 the claim stands (one identity's CONNECTs do not hold each other up).
      const counted = await sessions.view('t', 'alpha');
      await open(sessions, 'u', 'alpha', 3, 10);
      expect(await sessions.claim(counted, 4, 10, 2)).toBe('conflict');
      expect(await sessions.find('t')).toBeUndefined();
      expect(await sessions.claim(counted, 4, 10, 3)).toEqual({ replaced: undefined });
      // A view of a connected session that was held since.
      const connected = await sessions.view('s', 'alpha');
      await sessions.close('s', 1);
      expect(await sessions.claim(connected, 5, 10, Infinity)).toBe('conflict');
      expect((await sessions.claim(await sessions.view('s', 'alpha'), 5, 10, Infinity)) !== 'conflict').toBe(true);
    });

    it('lets exactly one of many claims made on one view win', async () => {
      const { sessions } = await registry();
      const seen = await sessions.view('s', 'alpha');
      const claims = await Promise.all(Array.from({ length: 20 }, (_, index) => sessions.claim(seen, index + 1, 10, Infinity)));
      expect(claims.filter((claim) => claim !== 'conflict')).toHaveLength(1);
    });
  });
}
