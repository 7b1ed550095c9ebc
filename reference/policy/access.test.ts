// The SUBSCRIBE and PUBLISH checks: what Event Grid's bindings grant, which rule refuses the rest, and
// that each mutant changes exactly the decision it claims to.
import { describe, expect, it } from 'vitest';
import { parseNamespace } from '../../eventgrid/namespace.ts';
import { ACCESS_MUTANTS } from './access.ts';
import type { Behaviour } from './behaviour.ts';
import { EVENT_GRID } from './event-grid.ts';
import { firstRefusal } from './check.ts';
import { mutatedBehaviour } from './mutants.ts';

const namespace = parseNamespace({
  clients: [
    { name: 'dev1', authenticationName: 'dev1', attributes: { type: 'device' } },
    { name: 'dev2', authenticationName: 'dev2', attributes: { type: 'device' } },
    { name: 'app', authenticationName: 'app', attributes: { type: 'app' } },
  ],
  clientGroups: [{ name: 'devices', query: "attributes.type = 'device'" }],
  topicSpaces: [
    { name: 'device-topics', topicTemplates: ['devices/${client.authenticationName}/#'] },
    { name: 'all-devices', topicTemplates: ['devices/#'] },
  ],
  permissionBindings: [
    { name: 'devices-pub', clientGroupName: 'devices', topicSpaceName: 'device-topics', permission: 'Publisher' },
    { name: 'devices-sub', clientGroupName: 'devices', topicSpaceName: 'device-topics', permission: 'Subscriber' },
    { name: 'all-sub', clientGroupName: '$all', topicSpaceName: 'all-devices', permission: 'Subscriber' },
  ],
});
const client = (name: string) => namespace.clients.find((candidate) => candidate.name === name)!;
const { limits } = namespace.reference;

/** The rule of the first refusal of a SUBSCRIBE filter or PUBLISH topic under the behaviour's checks. */
function ask(behaviour: Behaviour, name: string, action: 'subscribe' | 'publish', topic: string, sessionName = `${name}-s1`) {
  const common = { version: 5 as const, sessionName, client: client(name), namespace, limits, behaviour };
  const refusal =
    action === 'subscribe'
      ? firstRefusal(behaviour.subscribeChecks, { ...common, filter: topic, qos: 1, held: 0, alreadyHeld: false })
      : firstRefusal(behaviour.publishChecks, { ...common, topic, qos: 1, retain: false, payloadBytes: 0 });
  return refusal?.rule;
}

describe('Event Grid access control', () => {
  const eventGrid = EVENT_GRID;

  it('grants a group member its own topics (P1) and refuses others by rule', () => {
    expect(ask(eventGrid, 'dev1', 'publish', 'devices/dev1/telemetry')).toBeUndefined();
    expect(ask(eventGrid, 'dev1', 'subscribe', 'devices/dev1/#')).toBeUndefined();
    expect(ask(eventGrid, 'dev1', 'publish', 'devices/dev2/telemetry')).toBe('P3');
    expect(ask(eventGrid, 'dev1', 'publish', 'elsewhere/x')).toBe('P2');
    expect(ask(eventGrid, 'dev1', 'subscribe', '$SYS/#')).toBe('P2');
    // A wider filter than the grant is refused; $all's binding lets anyone subscribe to every device.
    expect(ask(eventGrid, 'dev1', 'subscribe', '#')).toBe('P2');
    expect(ask(eventGrid, 'app', 'subscribe', 'devices/+/telemetry')).toBeUndefined();
    expect(ask(eventGrid, 'app', 'publish', 'devices/dev1/telemetry')).toBe('P2');
  });

  it("gives every session of a client the client's permissions (P4)", () => {
    expect(ask(eventGrid, 'dev1', 'publish', 'devices/dev1/dev1-s1/t', 'dev1-s2')).toBeUndefined();
    expect(ask(eventGrid, 'dev1', 'subscribe', 'devices/dev1/dev1-s2/t', 'dev1-s1')).toBeUndefined();
  });
});

describe('access mutants', () => {
  it.each([
    ['P1', 'dev1', 'publish', 'devices/dev1/t', 'P1'],
    ['P1', 'dev1', 'subscribe', 'devices/dev1/#', undefined],
    ['P2', 'dev1', 'publish', 'elsewhere/x', undefined],
    ['P2', 'dev1', 'subscribe', '$SYS/#', undefined],
    ['P2', 'dev1', 'publish', 'devices/dev2/t', 'P3'],
    ['P3', 'dev1', 'publish', 'devices/dev2/t', undefined],
    ['P3', 'dev1', 'publish', 'elsewhere/x', 'P2'],
  ] as const)('%s changes %s %s %s to %s', (rule, name, action, topic, expected) => {
    expect(ask(mutatedBehaviour([rule]), name, action, topic)).toBe(expected);
  });

  it("P4 refuses a session its client's topics under another session's name", () => {
    const broken = mutatedBehaviour(['P4']);
    expect(ask(broken, 'dev1', 'publish', 'devices/dev1/dev1-s1/t', 'dev1-s1')).toBeUndefined();
    expect(ask(broken, 'dev1', 'publish', 'devices/dev1/dev1-s1/t', 'dev1-s2')).toBe('P4');
    // Templates without variables are not the session's to lose.
    expect(ask(broken, 'app', 'subscribe', 'devices/dev1/t', 'app-s1')).toBeUndefined();
  });

  it('refuse as their packet requires: a SUBACK code per filter, a PUBACK that keeps the connection', () => {
    const common = { version: 5 as const, sessionName: 'dev1-s1', client: client('dev1'), namespace, limits, behaviour: EVENT_GRID };
    const subscribe = firstRefusal(EVENT_GRID.subscribeChecks, { ...common, filter: 'elsewhere/#', qos: 1, held: 0, alreadyHeld: false });
    const publish = firstRefusal(EVENT_GRID.publishChecks, { ...common, topic: 'devices/dev2/t', qos: 1, retain: false, payloadBytes: 0 });
    expect(subscribe?.code).toEqual({ packet: 'SUBACK', reasonCode: 0x87, returnCode: 0x80 });
    expect(publish?.code).toEqual({ packet: 'PUBACK', reasonCode: 0x87 });
    const p1 = firstRefusal(mutatedBehaviour(['P1']).publishChecks, { ...common, topic: 'devices/dev1/t', qos: 1, retain: false, payloadBytes: 0 });
    expect(p1).toMatchObject({ rule: 'P1', code: { packet: 'PUBACK' } });
  });

  it('declares one mutant per access rule, and one more each for the Will checks of P2 and P3', () => {
    expect(ACCESS_MUTANTS.map((mutant) => mutant.id ?? mutant.rule)).toEqual(['P1', 'P2', 'P2.will', 'P3', 'P3.will', 'P4']);
  });
});
