// M2: Subscription Identifiers, which Event Grid does not support, in the protocol checks and the CONNACK.
import { describe, expect, it } from 'vitest';
import type { PacketContext } from './behaviour.ts';
import { firstRefusal } from './check.ts';
import { EVENT_GRID } from './event-grid.ts';
import { mutatedBehaviour } from './mutants.ts';

const subscribe = (properties?: Record<string, unknown>): PacketContext => ({
  version: 5,
  packet: { cmd: 'subscribe', ...(properties ? { properties } : {}) },
  scan: { repeated: [], outOfRange: [] },
});

describe('M2: Subscription Identifiers are not supported', () => {
  it('a SUBSCRIBE carrying one is refused with DISCONNECT 0xA1; one without passes; an identifier of 0 is M1\'s protocol error first', () => {
    expect(firstRefusal(EVENT_GRID.packetChecks, subscribe({ subscriptionIdentifier: 7 }))).toMatchObject({ rule: 'M2', code: { packet: 'DISCONNECT', reasonCode: 0xa1 } });
    expect(firstRefusal(EVENT_GRID.packetChecks, subscribe())).toBeUndefined();
    expect(firstRefusal(EVENT_GRID.packetChecks, subscribe({ userProperties: { a: 'b' } }))).toBeUndefined();
    expect(firstRefusal(EVENT_GRID.packetChecks, subscribe({ subscriptionIdentifier: 0 }))).toMatchObject({ rule: 'M1', code: { reasonCode: 0x82 } });
    expect(EVENT_GRID.subscriptionIdentifiersAvailable).toBe(false);
  });

  it('the M2 mutant serves them: announced as available, a SUBSCRIBE carrying one passes', () => {
    const mutant = mutatedBehaviour(['M2']);
    expect(mutant.subscriptionIdentifiersAvailable).toBe(true);
    expect(firstRefusal(mutant.packetChecks, subscribe({ subscriptionIdentifier: 7 }))).toBeUndefined();
    expect(firstRefusal(mutant.packetChecks, subscribe({ subscriptionIdentifier: 0 }))).toMatchObject({ rule: 'M1' });
  });
});
