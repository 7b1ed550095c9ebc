// What the suite needs of a namespace, in one place: the topics every scenario and the probe use, the
// topic root that --topic-root changes, the identity that publishes to the sessions under test, and the
// access control that grants exactly that (P1-P4). The default namespace and `npm run provision`
// (certs/namespace.ts) grant what this says, the steps (steps/world.ts) and the probe (runner/probe.ts)
// use what it says, so the three cannot drift apart.
//
// Here in eventgrid/ because it is stated in Event Grid's own terms (topic templates, client groups,
// permission bindings: eventgrid/namespace.ts), and that is the lowest layer below all of its readers:
// certs/, stress/, provision/, steps/ and runner/.
import { UserError } from '../common/errors.ts';
import type { NamespaceConfig } from './namespace.ts';

/** The first topic level(s) of every topic the suite uses, unless --topic-root (or a target file's `topicRoot`) names others. */
export const DEFAULT_TOPIC_ROOT = 'mmc';

/**
 * The identity that publishes the scenarios' messages to every client's topics (the probe checks that
 * it may). Its id is also its authentication name, which its client group's query names.
 */
export const OBSERVER = 'observer';

/** Checks a --topic-root: one or more plain topic levels, no wildcards, not reserved. */
export function checkTopicRoot(root: string): string {
  if (!/^[^/$+#][^+#]*$/.test(root) || root.endsWith('/') || root.includes('//') || root.includes('${')) {
    throw new UserError(`topic root "${root}" must be one or more topic levels without "+", "#", "\${" or an empty level, not starting with "$"`);
  }
  return root;
}

/**
 * Where a client's own topics start: `<root>/<authentication name>/`. Every topic the scenarios are
 * granted is under one client's, so that one template with a variable grants each client its own (P3).
 */
export function ownTopics(root: string, authenticationName: string): string {
  return `${root}/${authenticationName}/`;
}

/** The inbox topic of a session: `<root>/<authentication name of its client>/<ClientID>/inbox`. */
export function sessionTopic(root: string, authenticationName: string, clientId: string): string {
  return `${ownTopics(root, authenticationName)}${clientId}/inbox`;
}

/** A topic no binding of the suite grants: beside the root (`<root>-not-granted/…`), not under it (P2). */
export function ungrantedTopic(root: string, clientId: string): string {
  return `${root}-not-granted/${clientId}/inbox`;
}

/** The topic template that gives every client its own topics. */
export function ownTopicsTemplate(root: string): string {
  return `${root}/\${client.authenticationName}/#`;
}

/** The topic template of every client's topics, which the observer publishes to. */
export function everyClientsTopicsTemplate(root: string): string {
  return `${root}/+/#`;
}

/** The suite's topic spaces: each client's own topics, and every client's (the observer's). */
export const SUITE_TOPIC_SPACES = { own: 'conformance-own-topics', all: 'conformance-all-clients' } as const;

/** The suite's client groups. Its clients are the identities with `attributes.role = 'client'` (certs/namespace.ts sets the attribute). */
export const SUITE_CLIENT_GROUPS = { clients: 'conformance-clients', observers: 'conformance-observers' } as const;

/**
 * What the suite's scenarios need, and no more (P1-P4): every client publishes and subscribes under
 * its own topics, and the observer identity publishes to every client's topics.
 */
export function suiteAccessControl(topicRoot = DEFAULT_TOPIC_ROOT): Pick<NamespaceConfig, 'clientGroups' | 'topicSpaces' | 'permissionBindings'> {
  const root = checkTopicRoot(topicRoot);
  const { clients, observers } = SUITE_CLIENT_GROUPS;
  return {
    clientGroups: [
      { name: clients, query: "attributes.role = 'client'", description: 'identities the conformance scenarios connect as' },
      { name: observers, query: `authenticationName IN ['${OBSERVER}']`, description: 'publishes to the sessions under test' },
    ],
    topicSpaces: [
      { name: SUITE_TOPIC_SPACES.own, topicTemplates: [ownTopicsTemplate(root)], description: "a client's own topics" },
      { name: SUITE_TOPIC_SPACES.all, topicTemplates: [everyClientsTopicsTemplate(root)], description: "every client's topics, for the observer" },
    ],
    permissionBindings: [
      { name: 'conformance-clients-publish', clientGroupName: clients, topicSpaceName: SUITE_TOPIC_SPACES.own, permission: 'Publisher' },
      { name: 'conformance-clients-subscribe', clientGroupName: clients, topicSpaceName: SUITE_TOPIC_SPACES.own, permission: 'Subscriber' },
      { name: 'conformance-observers-publish', clientGroupName: observers, topicSpaceName: SUITE_TOPIC_SPACES.all, permission: 'Publisher' },
    ],
  };
}
