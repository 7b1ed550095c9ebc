// The session registry on its own: binding, holding, expiry, and connections that never started.
import { describe, expect, it } from 'vitest';
import type { SessionRecord } from '../policy/session-record.ts';
import { MemorySessionStore } from './memory-session-store.ts';

function registry() {
  let now = 0;
  return { sessions: new MemorySessionStore(() => now), advance: (ms: number) => (now += ms) };
}

describe('MemorySessionStore', () => {
  it('holds a session after its connection ends, until its expiry', () => {
    const { sessions, advance } = registry();
    sessions.open('s', 'alpha', 1, 10);
    expect(sessions.close('s', 1)).toBe('held');
    expect(sessions.countOwnedBy('alpha')).toBe(1);
    expect(sessions.nextExpiry()).toBe(10_000);
    advance(10_000);
    expect(sessions.find('s')).toBeUndefined();
    expect(sessions.sweep().map((record) => record.name)).toEqual(['s']);
    expect(sessions.countOwnedBy('alpha')).toBe(0);
  });

  it('ends a session at once when the expiry in force at the end is 0', () => {
    const { sessions } = registry();
    sessions.open('s', 'alpha', 1, 10);
    expect(sessions.close('s', 1, 0)).toBe('ended');
    expect(sessions.find('s')).toBeUndefined();
  });

  it('ignores the end of a connection the session has moved on from', () => {
    const { sessions } = registry();
    sessions.open('s', 'alpha', 1, 10);
    expect(sessions.open('s', 'alpha', 2, 10)?.connectionId).toBe(1);
    expect(sessions.close('s', 1)).toBe('stale');
    expect(sessions.find('s')?.connectionId).toBe(2);
  });

  it('puts back what a connection that never started replaced, or forgets its reservation', () => {
    const { sessions } = registry();
    sessions.open('s', 'alpha', 1, 10);
    const replaced = sessions.open('s', 'alpha', 2, 10);
    sessions.abandon('s', 2, replaced);
    expect(sessions.find('s')?.connectionId).toBe(1);
    sessions.open('t', 'beta', 3, 10);
    sessions.abandon('t', 3, undefined);
    expect(sessions.find('t')).toBeUndefined();
  });

  it('counts each owner on its own, and stops counting a held session once it has expired, before any sweep', () => {
    const { sessions, advance } = registry();
    sessions.open('a1', 'alpha', 1, 5);
    sessions.open('a2', 'alpha', 2, 10);
    sessions.open('b1', 'beta', 3, 5);
    sessions.close('a1', 1);
    sessions.close('b1', 3);
    expect([sessions.countOwnedBy('alpha'), sessions.countOwnedBy('beta'), sessions.countOwnedBy('gamma')]).toEqual([2, 1, 0]);
    advance(5_000);
    expect([sessions.countOwnedBy('alpha'), sessions.countOwnedBy('beta')]).toEqual([1, 0]);
    expect(sessions.size).toBe(3);
    expect(sessions.sweep().map((record) => record.name).sort()).toEqual(['a1', 'b1']);
    expect(sessions.size).toBe(1);
  });

  it('sweeps soonest first, and forgets the expiry of a held session that was resumed or taken by another connection', () => {
    const { sessions, advance } = registry();
    sessions.open('late', 'alpha', 1, 30);
    sessions.open('soon', 'alpha', 2, 10);
    sessions.open('resumed', 'beta', 3, 5);
    sessions.close('late', 1);
    sessions.close('soon', 2);
    sessions.close('resumed', 3);
    expect(sessions.nextExpiry()).toBe(5_000);
    sessions.open('resumed', 'beta', 4, 5);
    expect(sessions.nextExpiry()).toBe(10_000);
    advance(30_000);
    expect(sessions.sweep().map((record) => record.name)).toEqual(['soon', 'late']);
    expect(sessions.find('resumed')?.connectionId).toBe(4);
    expect(sessions.nextExpiry()).toBeUndefined();
  });

  it('puts a held session back with its expiry when the connection that replaced it never starts', () => {
    const { sessions, advance } = registry();
    sessions.open('s', 'alpha', 1, 10);
    sessions.close('s', 1);
    const replaced = sessions.open('s', 'alpha', 2, 10);
    expect(sessions.nextExpiry()).toBeUndefined();
    sessions.abandon('s', 2, replaced);
    expect(sessions.nextExpiry()).toBe(10_000);
    advance(10_000);
    expect(sessions.sweep().map((record) => record.connectionId)).toEqual([undefined]);
    expect(sessions.countOwnedBy('alpha')).toBe(0);
  });

  it('ends a held session before its time (L8): its name is free, its owner no longer counts it, its expiry is gone', () => {
    const { sessions, advance } = registry();
    sessions.open('full', 'alpha', 1, 30);
    sessions.open('other', 'alpha', 2, 60);
    sessions.close('full', 1);
    sessions.close('other', 2);
    expect(sessions.nextExpiry()).toBe(30_000);
    sessions.end('full');
    expect(sessions.find('full')).toBeUndefined();
    expect(sessions.countOwnedBy('alpha')).toBe(1);
    expect(sessions.nextExpiry()).toBe(60_000);
    advance(60_000);
    expect(sessions.sweep().map((record) => record.name)).toEqual(['other']);
  });

  it('answers as a scan of every session would, over a long random sequence of operations', () => {
    // The plain model: a list of records, scanned for every question.
    const model = new Map<string, SessionRecord>();
    const at = (record: SessionRecord) => (record.heldSince === undefined ? undefined : record.heldSince + record.expirySeconds * 1000);
    let now = 0;
    const expired = (record: SessionRecord) => at(record) !== undefined && now >= at(record)!;
    const sessions = new MemorySessionStore(() => now);
    let seed = 7;
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const names = Array.from({ length: 40 }, (_, index) => `s${index}`);
    const owners = ['alpha', 'beta', 'gamma'];
    let connectionId = 0;
    for (let step = 0; step < 5_000; step += 1) {
      const name = names[random(names.length)]!;
      const operation = random(5);
      if (operation === 0) {
        const owner = owners[random(owners.length)]!;
        const expirySeconds = random(4);
        connectionId += 1;
        const live = model.get(name);
        const replaced = sessions.open(name, owner, connectionId, expirySeconds);
        expect(replaced?.connectionId).toBe(live && !expired(live) ? live.connectionId : undefined);
        const previous = live && !expired(live) ? live : undefined;
        model.set(name, { name, owner, connectionId, expirySeconds });
        if (random(5) === 0) {
          sessions.abandon(name, connectionId, replaced);
          if (previous) model.set(name, previous);
          else model.delete(name);
        }
      } else if (operation === 1) {
        const record = model.get(name);
        const id = record?.connectionId ?? 0;
        const outcome = sessions.close(name, id);
        if (record && record.connectionId === id && id !== 0) {
          expect(outcome).toBe(record.expirySeconds === 0 ? 'ended' : 'held');
          if (record.expirySeconds === 0) model.delete(name);
          else model.set(name, { ...record, connectionId: undefined, heldSince: now });
        } else expect(outcome).toBe('stale');
      } else if (operation === 2) {
        now += random(1500);
      } else if (operation === 3) {
        sessions.end(name);
        model.delete(name);
      } else {
        const swept = sessions.sweep().map((record) => record.name).sort();
        const due = [...model.values()].filter(expired).map((record) => record.name).sort();
        for (const gone of due) model.delete(gone);
        expect(swept).toEqual(due);
      }
      for (const owner of owners) {
        expect(sessions.countOwnedBy(owner)).toBe([...model.values()].filter((record) => record.owner === owner && !expired(record)).length);
      }
      const times = [...model.values()].map(at).filter((time): time is number => time !== undefined);
      expect(sessions.nextExpiry()).toBe(times.length ? Math.min(...times) : undefined);
      expect(sessions.find(name)?.connectionId).toBe(model.has(name) && !expired(model.get(name)!) ? model.get(name)!.connectionId : undefined);
    }
  });
});
