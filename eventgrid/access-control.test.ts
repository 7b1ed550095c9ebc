// Client group queries, topic templates and permission bindings: what they match, and errors that
// name the field and the reason.
import { describe, expect, it } from 'vitest';
import { evaluateQuery, filterCovers, instantiateTemplate, parseQuery, QueryError, templateProblem } from './access-control.ts';
import { armToNamespace, namespaceToArm } from './arm-template.ts';
import { NamespaceConfigError, parseNamespace } from './namespace.ts';

const client = (authenticationName: string, attributes: Record<string, unknown> = {}) => ({ authenticationName, attributes });

describe('client group queries', () => {
  it.each([
    ["attributes.role = 'client'", client('a', { role: 'client' }), true],
    ["attributes.role = 'client'", client('a', { role: 'observer' }), false],
    ["attributes.role != 'client'", client('a', {}), true],
    ["attributes.role <> 'client'", client('a', { role: 'client' }), false],
    ["authenticationName IN ['client1', 'client2']", client('CLIENT2'), true],
    ["authenticationName IN ['client1', 'client2']", client('client3'), false],
    ['attributes.sensors IN ["motion", "humidity"] and attributes.floor <= 5', client('a', { sensors: ['humidity', 'x'], floor: 5 }), true],
    ['attributes.sensors IN ["motion", "humidity"] and attributes.floor <= 5', client('a', { sensors: ['humidity'], floor: 6 }), false],
    // "and" binds tighter than "or".
    ["attributes.a = 'x' or attributes.b = 'y' and attributes.c = 'z'", client('n', { a: 'x' }), true],
    ["(attributes.a = 'x' or attributes.b = 'y') and attributes.c = 'z'", client('n', { a: 'x' }), false],
    ['attributes.floor > 2', client('n', { floor: '7' }), false],
  ])('%s for %j is %s', (query, facts, expected) => {
    expect(evaluateQuery(parseQuery(query), facts)).toBe(expected);
  });

  it.each([
    ['', /empty/],
    ["attributes.role == 'client'", /expected a quoted string or an integer, found "="/],
    ["role = 'client'", /expected authenticationName or attributes.<name>, found "role"/],
    ["attributes.floor < 'five'", /compares integers only/],
    ["attributes.role IN ['a'", /expected "\]", found the end/],
    ["attributes.role = 'a' attributes.b = 'c'", /after a complete query/],
  ])('rejects %j', (query, message) => {
    expect(() => parseQuery(query)).toThrow(QueryError);
    expect(() => parseQuery(query)).toThrow(message);
  });
});

describe('topic templates', () => {
  it.each([
    ['devices/${client.authenticationName}/#', undefined],
    ['area/${client.attributes.area}/telemetry', undefined],
    ['machines/${client.authenticationName}.factory1/temp', undefined],
    ['$share/x', /reserved/],
    ['devices/${client.name}/#', /is not a variable/],
    ['devices/#/x', /"#" must be a whole level, and the last/],
    ['devices/a+/x', /"\+" must be a whole level/],
  ])('%s: %s', (template, problem) => {
    if (problem) expect(templateProblem(template)).toMatch(problem);
    else expect(templateProblem(template)).toBeUndefined();
  });

  it('fills in the client, and matches nothing for a missing or multi-level value', () => {
    expect(instantiateTemplate('d/${client.authenticationName}/#', client('alpha'))).toBe('d/alpha/#');
    expect(instantiateTemplate('a/${client.attributes.area}/t', client('x', { area: 's1' }))).toBe('a/s1/t');
    expect(instantiateTemplate('a/${client.attributes.area}/t', client('x'))).toBeUndefined();
    expect(instantiateTemplate('a/${client.attributes.area}/t', client('x', { area: 'a/b' }))).toBeUndefined();
    expect(instantiateTemplate('a/${client.attributes.area}/t', client('x', { area: '#' }))).toBeUndefined();
  });

  it.each([
    ['d/alpha/#', 'd/alpha/x/inbox', true],
    ['d/alpha/#', 'd/alpha', true],
    ['d/alpha/#', 'd/alpha/+/inbox', true],
    ['d/alpha/#', 'd/beta/x', false],
    ['d/alpha/#', 'd/#', false],
    ['d/+/t', 'd/x/t', true],
    ['d/+/t', 'd/+/t', true],
    ['d/x/t', 'd/+/t', false],
    ['d/+/t', 'd/x/t/more', false],
  ])('grant %s covers %s: %s', (grant, filter, expected) => {
    expect(filterCovers(grant, filter)).toBe(expected);
  });
});

describe('access control in the namespace', () => {
  const valid = {
    clients: [{ name: 'dev1', authenticationName: 'dev1' }],
    clientGroups: [{ name: 'devices', query: "attributes.type = 'device'" }],
    topicSpaces: [{ name: 'device-topics', topicTemplates: ['devices/${client.authenticationName}/#'] }],
    permissionBindings: [
      { name: 'devices-pub', clientGroupName: 'devices', topicSpaceName: 'device-topics', permission: 'Publisher' },
      { name: 'all-sub', clientGroupName: '$all', topicSpaceName: 'device-topics', permission: 'Subscriber' },
    ],
  };

  it('reads and writes it as ARM resources', () => {
    const namespace = parseNamespace(valid);
    expect(armToNamespace(namespaceToArm(namespace))).toEqual(namespace);
  });

  it.each([
    [{ clientGroups: [{ name: 'devices', query: 'type = 1' }] }, /clientGroups\.0\.query: not a client group query: expected authenticationName/],
    [{ clientGroups: [{ name: '$all', query: "attributes.a = 'b'" }] }, /clientGroups\.0\.name: must be 3 to 50 letters/],
    [{ topicSpaces: [{ name: 'device-topics', topicTemplates: Array(11).fill('a/#') }] }, /topicSpaces\.0\.topicTemplates: a topic space holds at most 10/],
    [{ topicSpaces: [{ name: 'device-topics', topicTemplates: ['$SYS/#'] }] }, /topicSpaces\.0\.topicTemplates\.0: .*reserved/],
    [{ permissionBindings: [{ name: 'pb1', clientGroupName: 'nobody', topicSpaceName: 'device-topics', permission: 'Publisher' }] }, /permissionBindings\.0\.clientGroupName: no client group "nobody"/],
    [{ permissionBindings: [{ name: 'pb1', clientGroupName: '$all', topicSpaceName: 'nowhere', permission: 'Publisher' }] }, /permissionBindings\.0\.topicSpaceName: no topic space "nowhere"/],
    [{ permissionBindings: [{ name: 'pb1', clientGroupName: '$all', topicSpaceName: 'device-topics', permission: 'Owner' }] }, /permissionBindings\.0\.permission: Invalid option/],
  ])('rejects %j naming the field', (change, message) => {
    expect(() => parseNamespace({ ...valid, ...change })).toThrow(NamespaceConfigError);
    expect(() => parseNamespace({ ...valid, ...change })).toThrow(message);
  });
});
