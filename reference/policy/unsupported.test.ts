// What Event Grid does not support: Subscription Identifiers (M2), Response Information (M4), User
// Properties on CONNECT, SUBSCRIBE, PUBACK, AUTH and DISCONNECT (M5), in the checks and the CONNACK.
import { describe, expect, it } from 'vitest';
import { parseNamespace } from '../../eventgrid/namespace.ts';
import type { PacketContext, SubscribeContext } from './behaviour.ts';
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

const USER_PROPERTIES = { userProperties: { purpose: 'test' } };
const sent = (cmd: string, properties?: Record<string, unknown>, will?: Record<string, unknown>): PacketContext => ({
  version: 5,
  packet: { cmd, ...(properties ? { properties } : {}), ...(will ? { will: { properties: will } } : {}) },
  scan: { repeated: [], outOfRange: [] },
});

describe('M4: Response Information is not given', () => {
  it('none for a CONNECT that asks; the M4 mutant gives some', () => {
    expect(EVENT_GRID.responseInformation('s1')).toBeUndefined();
    expect(mutatedBehaviour(['M4']).responseInformation('s1')).toBe('responses/s1');
  });
});

describe('M5: User Properties where the request fails', () => {
  it.each(['connect', 'puback', 'auth', 'disconnect'])('a %s carrying them is refused with 0x83; without them it passes', (cmd) => {
    expect(firstRefusal(EVENT_GRID.packetChecks, sent(cmd, USER_PROPERTIES))).toMatchObject({ rule: 'M5', code: { reasonCode: 0x83 } });
    expect(firstRefusal(EVENT_GRID.packetChecks, sent(cmd, cmd === 'connect' ? { sessionExpiryInterval: 5 } : { reasonString: 'ok' }))).toBeUndefined();
  });

  it('a PUBLISH, an UNSUBSCRIBE and a CONNECT\'s Will may carry them (the will\'s are its PUBLISH\'s)', () => {
    expect(firstRefusal(EVENT_GRID.packetChecks, sent('publish', USER_PROPERTIES))).toBeUndefined();
    expect(firstRefusal(EVENT_GRID.packetChecks, sent('unsubscribe', USER_PROPERTIES))).toBeUndefined();
    expect(firstRefusal(EVENT_GRID.packetChecks, sent('connect', undefined, USER_PROPERTIES))).toBeUndefined();
  });

  it('a SUBSCRIBE carrying them has each filter refused with SUBACK 0x83, before any other check; the M5 mutant takes them everywhere', () => {
    const namespace = parseNamespace({ clients: [{ name: 'a', authenticationName: 'a' }] });
    const context = (behaviour: typeof EVENT_GRID, userProperties: boolean): SubscribeContext => ({
      version: 5, sessionName: 's1', filter: 'elsewhere/#', qos: 1, held: 0, alreadyHeld: false, client: namespace.clients[0]!, namespace, limits: namespace.reference.limits, behaviour,
      ...(userProperties ? { userProperties } : {}),
    });
    expect(firstRefusal(EVENT_GRID.subscribeChecks, context(EVENT_GRID, true))).toMatchObject({ rule: 'M5', code: { packet: 'SUBACK', reasonCode: 0x83 } });
    // Without them the filter is judged as any other (here: outside the client's topic spaces).
    expect(firstRefusal(EVENT_GRID.subscribeChecks, context(EVENT_GRID, false))?.rule).toBe('P2');
    const mutant = mutatedBehaviour(['M5']);
    expect(firstRefusal(mutant.subscribeChecks, context(mutant, true))?.rule).toBe('P2');
    expect(firstRefusal(mutant.packetChecks, sent('connect', USER_PROPERTIES))).toBeUndefined();
  });
});
