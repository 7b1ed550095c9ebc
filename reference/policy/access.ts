// Who may publish and subscribe where (P1-P4): the checks a SUBSCRIBE filter, a PUBLISH and a CONNECT's
// Will pass through as Event Grid applies its client groups, topic spaces and permission bindings, in
// the shape of behaviour.ts (entries of Behaviour's subscribeChecks and publishChecks, which the packet
// gate runs, and of its connectChecks), and the mutants that break them. A refusal's code says how it
// is answered (rules/codes.ts): a SUBSCRIBE filter gets SUBACK 0x87 / 0x80; a PUBLISH is not delivered
// and the connection is kept (MQTT 5: PUBACK 0x87 for QoS 1); a CONNECT whose Will the client could not
// publish is refused, CONNACK 0x87 / 5 (inferred: Event Grid documents wills, not their authorization;
// brokers with access control commonly refuse such a CONNECT as not authorized).
import {
  ALL_CLIENTS_GROUP,
  evaluateQuery,
  filterCovers,
  instantiateTemplate,
  isReservedTopic,
  parseQuery,
  templateShape,
  type Permission,
  type Query,
} from '../../eventgrid/access-control.ts';
import type { ClientResource, NamespaceConfig } from '../../eventgrid/namespace.ts';
import type { RuleId } from '../../rules/catalogue.ts';
import { REFUSAL } from '../../rules/codes.ts';
import type { ConnectContext, GrantPieces, Mutant, PublishContext, SubscribeContext } from './behaviour.ts';
import { withCheckBefore, withoutCheck, type Check } from './check.ts';
import { refuse, type Refusal } from './refusal.ts';

type Action = 'subscribe' | 'publish';

/** One SUBSCRIBE filter or PUBLISH topic, as an access check judges it. */
export interface AccessQuestion {
  action: Action;
  /** The SUBSCRIBE topic filter or the PUBLISH topic name. */
  topic: string;
  /** The registered client the session authenticated as. */
  client: ClientResource;
  /** The session's name (its ClientID). */
  sessionName: string;
  /** Topic templates bound to the client's groups for the action's permission, as declared. */
  templates: readonly string[];
}

const PERMISSION: Record<Action, Permission> = { subscribe: 'Subscriber', publish: 'Publisher' };
const CASE: Record<Action, string> = { subscribe: 'SUBSCRIBE', publish: 'PUBLISH' };

const parsedQueries = new Map<string, Query>();

/** Which of the namespace's groups (by name, $all included) the client belongs to. */
export function groupsOf(namespace: NamespaceConfig, client: ClientResource): string[] {
  const facts = { authenticationName: client.authenticationName, attributes: client.attributes };
  const matches = (query: string) => {
    if (!parsedQueries.has(query)) parsedQueries.set(query, parseQuery(query));
    return evaluateQuery(parsedQueries.get(query)!, facts);
  };
  return [ALL_CLIENTS_GROUP, ...namespace.clientGroups.filter((group) => matches(group.query)).map((group) => group.name)];
}

const grantCache = new WeakMap<NamespaceConfig, WeakMap<ClientResource, Partial<Record<Permission, string[]>>>>();

/** The topic templates a permission binding grants the client for the permission (names compare without case). */
export function grantedTemplates(namespace: NamespaceConfig, client: ClientResource, permission: Permission): string[] {
  const perClient = grantCache.get(namespace) ?? new WeakMap();
  grantCache.set(namespace, perClient);
  const cached = perClient.get(client) ?? {};
  perClient.set(client, cached);
  if (cached[permission]) return cached[permission];
  const groups = new Set(groupsOf(namespace, client).map((name) => name.toLowerCase()));
  const spaces = new Set(
    namespace.permissionBindings
      .filter((binding) => binding.permission === permission && groups.has(binding.clientGroupName.toLowerCase()))
      .map((binding) => binding.topicSpaceName.toLowerCase()),
  );
  cached[permission] = namespace.topicSpaces.filter((space) => spaces.has(space.name.toLowerCase())).flatMap((space) => space.topicTemplates);
  return cached[permission];
}

function question(action: Action, topic: string, context: SubscribeContext | PublishContext): AccessQuestion {
  const { client, sessionName, namespace, behaviour } = context;
  return { action, topic, client, sessionName, templates: behaviour.grantsOf(namespace, client, PERMISSION[action]) };
}

/** P1-P4, E2: an Entra principal's role assignments stand in for permission bindings; any other client has its groups' bindings. */
export const EVENT_GRID_GRANTS: GrantPieces = {
  grantsOf: (namespace, client, permission) => client.roleGrants?.[permission] ?? grantedTemplates(namespace, client, permission),
};

/** An access check on both paths: `judge` gives the reason for a refusal under `rule`, or undefined. */
interface AccessCheck {
  name: string;
  rule: RuleId;
  judge(question: AccessQuestion): string | undefined;
  /** Builds the refusal; default: the rule's expected refusal for the packet (the catalogue's case). */
  refusal?(question: AccessQuestion, reason: string): Refusal;
}

function refusalOf(check: AccessCheck, asked: AccessQuestion): Refusal | undefined {
  const reason = check.judge(asked);
  if (reason === undefined) return undefined;
  return check.refusal ? check.refusal(asked, reason) : refuse(check.rule, reason, CASE[asked.action]);
}

function onSubscribe(check: AccessCheck): Check<SubscribeContext> {
  return { name: check.name, rule: check.rule, run: (context) => refusalOf(check, question('subscribe', context.filter, context)) };
}

function onPublish(check: AccessCheck): Check<PublishContext> {
  return { name: check.name, rule: check.rule, run: (context) => refusalOf(check, question('publish', context.topic, context)) };
}

const verb = (asked: AccessQuestion) => (asked.action === 'subscribe' ? 'subscribe to' : 'publish to');
const covered = (asked: AccessQuestion) => asked.templates.some((template) => filterCovers(templateShape(template), asked.topic));
const factsOf = (asked: AccessQuestion) => ({ authenticationName: asked.client.authenticationName, attributes: asked.client.attributes });
const hasVariable = (template: string) => template.includes('${');

const RESERVED_TOPICS: AccessCheck = {
  name: 'topics starting with "$" are reserved',
  rule: 'P2',
  judge: (asked) => (isReservedTopic(asked.topic) ? `topics starting with "$" are reserved: may not ${verb(asked)} ${asked.topic}` : undefined),
};

/** P2: the topic must lie in a topic space bound to one of the client's groups, whoever's topic it is. */
const BOUND_TOPIC_SPACE: AccessCheck = {
  name: "the topic lies in a topic space bound to one of the client's groups",
  rule: 'P2',
  judge: (asked) =>
    covered(asked) ? undefined : `no topic space bound to a group of client "${asked.client.name}" as ${PERMISSION[asked.action]} covers ${asked.topic}`,
};

/**
 * P3: a topic that fits a bound template's shape must still be covered once the client's own values
 * are in the variables. (A topic that fits no template at all is P2's to refuse.)
 */
const TEMPLATE_VARIABLES: AccessCheck = {
  name: "template variables hold the client's own values",
  rule: 'P3',
  judge: (asked) => {
    if (!covered(asked)) return undefined;
    const own = asked.templates.flatMap((template) => instantiateTemplate(template, factsOf(asked)) ?? []);
    return own.some((grant) => filterCovers(grant, asked.topic))
      ? undefined
      : `${asked.topic} is another client's topic: the templates' variables give "${asked.client.authenticationName}" only ${own.join(', ') || 'nothing'}`;
  },
};

/** A CONNECT's Will, judged as the PUBLISH it would become: a refusal refuses the CONNECT, as not authorized. */
function onWill(check: AccessCheck): Check<ConnectContext> {
  return {
    name: `a Will: ${check.name}`,
    rule: check.rule,
    run(context) {
      const { will, clientId } = context.request;
      if (!will) return undefined;
      const client = context.registeredClient;
      const asked: AccessQuestion = { action: 'publish', topic: will.topic, client, sessionName: clientId, templates: context.behaviour.grantsOf(context.namespace, client, 'Publisher') };
      const reason = check.judge(asked);
      return reason === undefined ? undefined : refuse(check.rule, `the Will may not be published: ${reason}`, 'a Will');
    },
  };
}

const SUBSCRIBE_RESERVED = onSubscribe(RESERVED_TOPICS);
const SUBSCRIBE_BOUND = onSubscribe(BOUND_TOPIC_SPACE);
const SUBSCRIBE_VARIABLES = onSubscribe(TEMPLATE_VARIABLES);
const PUBLISH_RESERVED = onPublish(RESERVED_TOPICS);
const PUBLISH_BOUND = onPublish(BOUND_TOPIC_SPACE);
const PUBLISH_VARIABLES = onPublish(TEMPLATE_VARIABLES);
const WILL_RESERVED = onWill(RESERVED_TOPICS);
const WILL_BOUND = onWill(BOUND_TOPIC_SPACE);
const WILL_VARIABLES = onWill(TEMPLATE_VARIABLES);

/** P2, P3 on a SUBSCRIBE filter, in order. */
export const SUBSCRIBE_ACCESS_CHECKS: readonly Check<SubscribeContext>[] = [SUBSCRIBE_RESERVED, SUBSCRIBE_BOUND, SUBSCRIBE_VARIABLES];
/** P2, P3 on a PUBLISH, in order. */
export const PUBLISH_ACCESS_CHECKS: readonly Check<PublishContext>[] = [PUBLISH_RESERVED, PUBLISH_BOUND, PUBLISH_VARIABLES];
/** P2, P3 on a CONNECT's Will, in order (last in Behaviour's connectChecks). */
export const WILL_ACCESS_CHECKS: readonly Check<ConnectContext>[] = [WILL_RESERVED, WILL_BOUND, WILL_VARIABLES];

// The mutants' own checks refuse as an authorization refusal does, under the rule they break.
const notAuthorized = (rule: RuleId) => (asked: AccessQuestion, reason: string): Refusal => ({
  rule,
  code: asked.action === 'subscribe' ? REFUSAL.subscribeNotAuthorized : REFUSAL.publishNotAuthorized,
  reason,
});

const LITERAL_TEMPLATES_ONLY: AccessCheck = {
  name: 'only templates without variables grant publishing',
  rule: 'P1',
  judge: (asked) =>
    asked.templates.some((template) => !hasVariable(template) && filterCovers(template, asked.topic)) ? undefined : `no template without variables grants publishing to ${asked.topic}`,
  refusal: notAuthorized('P1'),
};

const OWN_SESSION_TOPICS_ONLY: AccessCheck = {
  name: "a session may use only its own session's topics",
  rule: 'P4',
  judge: (asked) => {
    const literal = asked.templates.some((template) => !hasVariable(template) && filterCovers(template, asked.topic));
    const own = asked.templates.filter(hasVariable).flatMap((template) => instantiateTemplate(template, factsOf(asked)) ?? []);
    if (literal || !own.some((grant) => filterCovers(grant, asked.topic))) return undefined;
    return asked.topic.split('/').includes(asked.sessionName) ? undefined : `${asked.topic} is not under session "${asked.sessionName}"`;
  },
  refusal: notAuthorized('P4'),
};

// Each mutant breaks its rule where only that rule's scenarios (and those that presuppose it) look.
export const ACCESS_MUTANTS: readonly Mutant[] = [
  {
    rule: 'P1',
    breaks: 'a Publisher binding on a template with variables grants nothing: a client cannot publish on its own topics',
    apply: (behaviour) => ({ ...behaviour, publishChecks: withCheckBefore(behaviour.publishChecks, onPublish(LITERAL_TEMPLATES_ONLY), PUBLISH_RESERVED) }),
  },
  {
    rule: 'P2',
    breaks: "topics outside every bound topic space are allowed, for a Will too (another client's topics are still refused)",
    apply: (behaviour) => ({
      ...behaviour,
      subscribeChecks: withoutCheck(withoutCheck(behaviour.subscribeChecks, SUBSCRIBE_RESERVED), SUBSCRIBE_BOUND),
      publishChecks: withoutCheck(withoutCheck(behaviour.publishChecks, PUBLISH_RESERVED), PUBLISH_BOUND),
      connectChecks: withoutCheck(withoutCheck(behaviour.connectChecks, WILL_RESERVED), WILL_BOUND),
    }),
  },
  {
    id: 'P2.will',
    rule: 'P2',
    breaks: 'a Will is not authorized at CONNECT: one outside every bound topic space is accepted (SUBSCRIBE and PUBLISH still are)',
    apply: (behaviour) => ({ ...behaviour, connectChecks: withoutCheck(withoutCheck(behaviour.connectChecks, WILL_RESERVED), WILL_BOUND) }),
  },
  {
    rule: 'P3',
    breaks: "template variables match any value, so every client gets every client's topics, for its Will too",
    apply: (behaviour) => ({
      ...behaviour,
      subscribeChecks: withoutCheck(behaviour.subscribeChecks, SUBSCRIBE_VARIABLES),
      publishChecks: withoutCheck(behaviour.publishChecks, PUBLISH_VARIABLES),
      connectChecks: withoutCheck(behaviour.connectChecks, WILL_VARIABLES),
    }),
  },
  {
    id: 'P3.will',
    rule: 'P3',
    breaks: "a Will's template variables are not checked: a client may leave its will on another client's topic (SUBSCRIBE and PUBLISH still are)",
    onlyUnder: { methods: ['certificate'], why: "P3's Will scenarios run under the certificate; its token and webhook scenarios subscribe and publish, and leave no Will" },
    apply: (behaviour) => ({ ...behaviour, connectChecks: withoutCheck(behaviour.connectChecks, WILL_VARIABLES) }),
  },
  {
    rule: 'P4',
    breaks: "permissions belong to the session, not the client: a session may not use its client's topics under another session's name",
    apply: (behaviour) => ({
      ...behaviour,
      subscribeChecks: withCheckBefore(behaviour.subscribeChecks, onSubscribe(OWN_SESSION_TOPICS_ONLY), SUBSCRIBE_RESERVED),
      publishChecks: withCheckBefore(behaviour.publishChecks, onPublish(OWN_SESSION_TOPICS_ONLY), PUBLISH_RESERVED),
    }),
  },
];
