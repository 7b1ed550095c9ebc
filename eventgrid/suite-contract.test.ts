// The suite's contract: its topics are exactly what its access control grants, under any topic root.
import { describe, expect, it } from 'vitest';
import { UserError } from '../common/errors.ts';
import { evaluateQuery, filterCovers, instantiateTemplate, parseQuery, type ClientFacts, type Permission } from './access-control.ts';
import { parseNamespace } from './namespace.ts';
import { checkTopicRoot, DEFAULT_TOPIC_ROOT, OBSERVER, ownTopics, sessionTopic, suiteAccessControl, ungrantedTopic } from './suite-contract.ts';

/** Whether the suite's access control under `root` lets `client` take `permission` on `topic`. */
function granted(root: string, client: ClientFacts, permission: Permission, topic: string): boolean {
  const access = suiteAccessControl(root);
  return access.permissionBindings.some((binding) => {
    if (binding.permission !== permission) return false;
    const group = access.clientGroups.find((candidate) => candidate.name === binding.clientGroupName)!;
    if (!evaluateQuery(parseQuery(group.query), client)) return false;
    const space = access.topicSpaces.find((candidate) => candidate.name === binding.topicSpaceName)!;
    return space.topicTemplates.some((template) => {
      const filter = instantiateTemplate(template, client);
      return filter !== undefined && filterCovers(filter, topic);
    });
  });
}

// As namespaceFromPki registers them (certs/namespace.ts): the observer is a client too.
const alpha: ClientFacts = { authenticationName: 'alpha', attributes: { role: 'client' } };
const observer: ClientFacts = { authenticationName: OBSERVER, attributes: { role: 'client' } };

describe('the suite contract', () => {
  it('puts a session\'s inbox under its client\'s own topics, under the root', () => {
    expect(sessionTopic(DEFAULT_TOPIC_ROOT, 'alpha', 'mmc-x-1-s1')).toBe('mmc/alpha/mmc-x-1-s1/inbox');
    expect(sessionTopic('mmc-ci/run1', 'alpha', 'c')).toBe('mmc-ci/run1/alpha/c/inbox');
    expect(sessionTopic('r', 'alpha', 'c').startsWith(ownTopics('r', 'alpha'))).toBe(true);
    expect(ungrantedTopic('mmc', 'c')).toBe('mmc-not-granted/c/inbox');
  });

  it.each([DEFAULT_TOPIC_ROOT, 'mmc-ci/run1'])('under root %s, grants each client its own topics, the observer every client\'s, and nothing else', (root) => {
    expect(() => parseNamespace(suiteAccessControl(root))).not.toThrow();
    const own = sessionTopic(root, 'alpha', 'c1');
    const other = sessionTopic(root, 'beta', 'c1');
    expect(granted(root, alpha, 'Subscriber', own) && granted(root, alpha, 'Publisher', own)).toBe(true);
    expect(granted(root, alpha, 'Subscriber', other) || granted(root, alpha, 'Publisher', other)).toBe(false);
    expect(granted(root, observer, 'Publisher', other)).toBe(true);
    expect(granted(root, observer, 'Subscriber', other)).toBe(false);
    for (const client of [alpha, observer]) expect(granted(root, client, 'Publisher', ungrantedTopic(root, 'c1'))).toBe(false);
    // Another root's topics are not this one's.
    expect(granted(root, alpha, 'Publisher', sessionTopic(`${root}x`, 'alpha', 'c1'))).toBe(false);
  });

  it.each(['', '/mmc', 'mmc/', 'a//b', 'a/+/b', 'a/#', '$SYS', 'a/${client.authenticationName}'])('refuses the topic root %j', (root) => {
    expect(() => checkTopicRoot(root)).toThrow(UserError);
  });
});
