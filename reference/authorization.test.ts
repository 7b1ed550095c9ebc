// The SUBSCRIBE and PUBLISH checks: what Event Grid's bindings grant, which rule refuses the rest, and
// that each mutant changes exactly the decision it claims to.
import { describe, expect, it } from 'vitest';
import { parseNamespace } from '../eventgrid/namespace.ts';
import { ACCESS_MUTANTS, accessControlBreaking, Authorizer } from './authorization.ts';

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
const ask = (authorizer: Authorizer, name: string, action: 'subscribe' | 'publish', topic: string, sessionName = `${name}-s1`) =>
  authorizer.decide({ action, topic, client: client(name), sessionName })?.rule;

describe('Event Grid access control', () => {
  const authorizer = new Authorizer(namespace);

  it('grants a group member its own topics (P1) and refuses others by rule', () => {
    expect(ask(authorizer, 'dev1', 'publish', 'devices/dev1/telemetry')).toBeUndefined();
    expect(ask(authorizer, 'dev1', 'subscribe', 'devices/dev1/#')).toBeUndefined();
    expect(ask(authorizer, 'dev1', 'publish', 'devices/dev2/telemetry')).toBe('P3');
    expect(ask(authorizer, 'dev1', 'publish', 'elsewhere/x')).toBe('P2');
    expect(ask(authorizer, 'dev1', 'subscribe', '$SYS/#')).toBe('P2');
    // A wider filter than the grant is refused; $all's binding lets anyone subscribe to every device.
    expect(ask(authorizer, 'dev1', 'subscribe', '#')).toBe('P2');
    expect(ask(authorizer, 'app', 'subscribe', 'devices/+/telemetry')).toBeUndefined();
    expect(ask(authorizer, 'app', 'publish', 'devices/dev1/telemetry')).toBe('P2');
  });

  it("gives every session of a client the client's permissions (P4)", () => {
    expect(ask(authorizer, 'dev1', 'publish', 'devices/dev1/dev1-s1/t', 'dev1-s2')).toBeUndefined();
    expect(ask(authorizer, 'dev1', 'subscribe', 'devices/dev1/dev1-s2/t', 'dev1-s1')).toBeUndefined();
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
    expect(ask(new Authorizer(namespace, accessControlBreaking([rule])), name, action, topic)).toBe(expected);
  });

  it("P4 refuses a session its client's topics under another session's name", () => {
    const broken = new Authorizer(namespace, accessControlBreaking(['P4']));
    expect(ask(broken, 'dev1', 'publish', 'devices/dev1/dev1-s1/t', 'dev1-s1')).toBeUndefined();
    expect(ask(broken, 'dev1', 'publish', 'devices/dev1/dev1-s1/t', 'dev1-s2')).toBe('P4');
    // Templates without variables are not the session's to lose.
    expect(ask(broken, 'app', 'subscribe', 'devices/dev1/t', 'app-s1')).toBeUndefined();
  });

  it('declares one mutant per access rule', () => {
    expect(ACCESS_MUTANTS.map((mutant) => mutant.rule)).toEqual(['P1', 'P2', 'P3', 'P4']);
  });
});
