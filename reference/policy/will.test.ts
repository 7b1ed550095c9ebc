// The CONNECT decision on a Will Message, judged as the PUBLISH it would become: its QoS (L9), and the
// permission bindings its topic must lie in (P2, P3); and the mutants that break those checks.
import { describe, expect, it } from 'vitest';
import { parseNamespace } from '../../eventgrid/namespace.ts';
import type { WillRequest } from './behaviour.ts';
import type { SessionLookup } from './session-record.ts';
import { ConnectPolicy } from './connect.ts';
import { EVENT_GRID } from './event-grid.ts';
import { mutatedBehaviour } from './mutants.ts';

const namespace = parseNamespace({
  clients: [
    { name: 'dev1', authenticationName: 'dev1' },
    { name: 'dev2', authenticationName: 'dev2' },
  ],
  topicSpaces: [{ name: 'own', topicTemplates: ['devices/${client.authenticationName}/#'] }],
  permissionBindings: [{ name: 'pub', clientGroupName: '$all', topicSpaceName: 'own', permission: 'Publisher' }],
});

/** No session exists yet: every CONNECT asks for a new one. */
const NO_SESSIONS: SessionLookup = { find: () => undefined, countOwnedBy: () => 0 };

/** The decision on dev1's CONNECT with this will, under production or the mutants named. */
function decide(version: 4 | 5, will: WillRequest | undefined, mutants: string[] = []) {
  const behaviour = mutants.length ? mutatedBehaviour(mutants) : EVENT_GRID;
  const policy = new ConnectPolicy(namespace, behaviour);
  const client = namespace.clients.find((candidate) => candidate.name === 'dev1')!;
  const decision = policy.decide(
    { protocolVersion: version, clientId: 'dev1-s1', username: 'dev1', cleanStart: true, authentication: { identity: { client, nameSource: 'username' } }, ...(will ? { will } : {}) },
    new Date(),
    NO_SESSIONS,
  );
  return decision.accept ? 'accepted' : { rule: decision.refusal.rule, code: decision.refusal.code.reasonCode, returnCode: decision.refusal.code.returnCode };
}

const will = (topic: string, qos = 1): WillRequest => ({ topic, qos, retain: false });

describe('a Will of QoS 2 (L9)', () => {
  it('is refused over MQTT 5 with 0x9B, and accepted over MQTT 3.1.1 (which has no code for it)', () => {
    expect(decide(5, will('devices/dev1/will', 2))).toEqual({ rule: 'L9', code: 0x9b, returnCode: undefined });
    expect(decide(5, will('devices/dev1/will', 1))).toBe('accepted');
    expect(decide(5, undefined)).toBe('accepted');
    expect(decide(4, will('devices/dev1/will', 2))).toBe('accepted');
  });

  it('is accepted under the L9 mutant, which serves QoS 2', () => {
    expect(decide(5, will('devices/dev1/will', 2), ['L9'])).toBe('accepted');
  });
});

describe("a Will's topic (P2, P3): authorized as a PUBLISH of the client, at CONNECT", () => {
  it.each([4, 5] as const)('MQTT level %i: outside the bindings or reserved [P2], or another client\'s [P3], is refused as not authorized', (version) => {
    const notAuthorized = { code: 0x87, returnCode: 5 };
    expect(decide(version, will('devices/dev1/s1/will'))).toBe('accepted');
    expect(decide(version, will('elsewhere/will'))).toEqual({ rule: 'P2', ...notAuthorized });
    expect(decide(version, will('$SYS/will'))).toEqual({ rule: 'P2', ...notAuthorized });
    expect(decide(version, will('devices/dev2/will'))).toEqual({ rule: 'P3', ...notAuthorized });
  });

  it('comes after the Will QoS check: a QoS 2 will outside the bindings is refused for its QoS over MQTT 5', () => {
    expect(decide(5, will('elsewhere/will', 2))).toMatchObject({ rule: 'L9' });
  });

  it.each([
    ['P2', 'elsewhere/will', 'accepted'],
    ['P2', 'devices/dev2/will', 'P3'],
    ['P2.will', 'elsewhere/will', 'accepted'],
    ['P2.will', 'devices/dev2/will', 'P3'],
    ['P3', 'devices/dev2/will', 'accepted'],
    ['P3', 'elsewhere/will', 'P2'],
    ['P3.will', 'devices/dev2/will', 'accepted'],
    ['P3.will', 'elsewhere/will', 'P2'],
  ] as const)('the %s mutant changes a will on %s to %s', (mutant, topic, expected) => {
    const decision = decide(5, will(topic), [mutant]);
    expect(decision === 'accepted' ? decision : decision.rule).toBe(expected);
  });
});

