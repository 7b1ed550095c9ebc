// The session registry on its own: binding, holding, expiry, and connections that never started.
import { describe, expect, it } from 'vitest';
import { SessionRegistry } from './session-registry.ts';

function registry() {
  let now = 0;
  return { sessions: new SessionRegistry(() => now), advance: (ms: number) => (now += ms) };
}

describe('SessionRegistry', () => {
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
});
