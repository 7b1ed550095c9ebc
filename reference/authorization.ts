// Who may publish and subscribe where (P1-P4): the ordered checks a SUBSCRIBE and a PUBLISH pass
// through, as Event Grid applies its client groups, topic spaces and permission bindings, and the
// mutants that break them. Written in the shape of reference/behaviour.ts (the `checks` branch) so
// that the lists slot into its Behaviour.
import {
  ALL_CLIENTS_GROUP,
  evaluateQuery,
  filterCovers,
  instantiateTemplate,
  isReservedTopic,
  parseQuery,
  templateShape,
  type Permission,
} from '../eventgrid/access-control.ts';
import type { ClientResource, NamespaceConfig } from '../eventgrid/namespace.ts';
import type { RuleId } from '../rules/catalogue.ts';
import { ACCESS_REFUSAL } from '../rules/codes.ts';
import type { Refusal } from './identity.ts';

export interface AccessContext {
  action: 'subscribe' | 'publish';
  /** The SUBSCRIBE topic filter or the PUBLISH topic name. */
  topic: string;
  /** The registered client the session authenticated as. */
  client: ClientResource;
  /** The session's name (its ClientID). */
  sessionName: string;
  /** Topic templates bound to the client's groups for the action's permission, as declared. */
  templates: readonly string[];
}

export interface Check<Context> {
  name: string;
  rule: RuleId;
  run(context: Context): Refusal | undefined;
}

/** The pieces of access control a mutant may replace. */
export interface AccessControl {
  /** Which of the namespace's groups (by name, $all included) the client belongs to (P1). */
  groupsOf(namespace: NamespaceConfig, client: ClientResource): string[];
  subscribeChecks: readonly Check<AccessContext>[];
  publishChecks: readonly Check<AccessContext>[];
}

export interface AccessMutant {
  rule: RuleId;
  breaks: string;
  apply(access: AccessControl): AccessControl;
}

const PERMISSION: Record<AccessContext['action'], Permission> = { subscribe: 'Subscriber', publish: 'Publisher' };

const refuse = (rule: RuleId, reason: string): Refusal => ({ rule, code: ACCESS_REFUSAL, reason });

const verb = (context: AccessContext) => (context.action === 'subscribe' ? 'subscribe to' : 'publish to');

const parsedQueries = new Map<string, ReturnType<typeof parseQuery>>();

function groupsOf(namespace: NamespaceConfig, client: ClientResource): string[] {
  const facts = { authenticationName: client.authenticationName, attributes: client.attributes };
  const matches = (query: string) => {
    if (!parsedQueries.has(query)) parsedQueries.set(query, parseQuery(query));
    return evaluateQuery(parsedQueries.get(query)!, facts);
  };
  return [ALL_CLIENTS_GROUP, ...namespace.clientGroups.filter((group) => matches(group.query)).map((group) => group.name)];
}

const reservedTopics: Check<AccessContext> = {
  name: 'reserved-topics',
  rule: 'P2',
  run: (context) => (isReservedTopic(context.topic) ? refuse('P2', `topics starting with "$" are reserved: may not ${verb(context)} ${context.topic}`) : undefined),
};

/** P2: the topic must lie in a topic space bound to one of the client's groups, whoever's topic it is. */
const boundTopicSpace: Check<AccessContext> = {
  name: 'bound-topic-space',
  rule: 'P2',
  run: (context) =>
    context.templates.some((template) => filterCovers(templateShape(template), context.topic))
      ? undefined
      : refuse('P2', `no topic space bound to a group of client "${context.client.name}" as ${PERMISSION[context.action]} covers ${context.topic}`),
};

const factsOf = (context: AccessContext) => ({ authenticationName: context.client.authenticationName, attributes: context.client.attributes });
const hasVariable = (template: string) => template.includes('${');

/**
 * P3: a topic that fits a bound template's shape must still be covered once the client's own values
 * are in the variables. (A topic that fits no template at all is P2's to refuse.)
 */
const templateVariables: Check<AccessContext> = {
  name: 'template-variables',
  rule: 'P3',
  run: (context) => {
    if (!context.templates.some((template) => filterCovers(templateShape(template), context.topic))) return undefined;
    const own = context.templates.flatMap((template) => instantiateTemplate(template, factsOf(context)) ?? []);
    return own.some((grant) => filterCovers(grant, context.topic))
      ? undefined
      : refuse('P3', `${context.topic} is another client's topic: the templates' variables give "${context.client.authenticationName}" only ${own.join(', ') || 'nothing'}`);
  },
};

export const EVENT_GRID_ACCESS: AccessControl = {
  groupsOf,
  subscribeChecks: [reservedTopics, boundTopicSpace, templateVariables],
  publishChecks: [reservedTopics, boundTopicSpace, templateVariables],
};

const withoutChecks = (access: AccessControl, names: string[]): AccessControl => ({
  ...access,
  subscribeChecks: access.subscribeChecks.filter((check) => !names.includes(check.name)),
  publishChecks: access.publishChecks.filter((check) => !names.includes(check.name)),
});

const prepend = (access: AccessControl, actions: AccessContext['action'][], check: Check<AccessContext>): AccessControl => ({
  ...access,
  subscribeChecks: actions.includes('subscribe') ? [check, ...access.subscribeChecks] : access.subscribeChecks,
  publishChecks: actions.includes('publish') ? [check, ...access.publishChecks] : access.publishChecks,
});

// Each mutant breaks its rule where only that rule's scenarios (and those that presuppose it) look.
export const ACCESS_MUTANTS: readonly AccessMutant[] = [
  {
    rule: 'P1',
    breaks: 'a Publisher binding on a template with variables grants nothing: a client cannot publish on its own topics',
    apply: (access) =>
      prepend(access, ['publish'], {
        name: 'publish-literal-templates-only',
        rule: 'P1',
        run: (context) =>
          context.templates.some((template) => !hasVariable(template) && filterCovers(template, context.topic))
            ? undefined
            : refuse('P1', `no template without variables grants publishing to ${context.topic}`),
      }),
  },
  {
    rule: 'P2',
    breaks: 'topics outside every bound topic space are allowed (another client\'s topics are still refused)',
    apply: (access) => withoutChecks(access, ['reserved-topics', 'bound-topic-space']),
  },
  {
    rule: 'P3',
    breaks: 'template variables match any value, so every client gets every client\'s topics',
    apply: (access) => withoutChecks(access, ['template-variables']),
  },
  {
    rule: 'P4',
    breaks: "permissions belong to the session, not the client: a session may not use its client's topics under another session's name",
    apply: (access) =>
      prepend(access, ['subscribe', 'publish'], {
        name: 'own-session-topics-only',
        rule: 'P4',
        run: (context) => {
          const literal = context.templates.some((template) => !hasVariable(template) && filterCovers(template, context.topic));
          const own = context.templates.filter(hasVariable).flatMap((template) => instantiateTemplate(template, factsOf(context)) ?? []);
          if (literal || !own.some((grant) => filterCovers(grant, context.topic))) return undefined;
          return context.topic.split('/').includes(context.sessionName)
            ? undefined
            : refuse('P4', `${context.topic} is not under session "${context.sessionName}"`);
        },
      }),
  },
];

/** The access control with the mutants of these rules applied (none: Event Grid's). */
export function accessControlBreaking(rules: Iterable<RuleId>): AccessControl {
  const broken = new Set(rules);
  return ACCESS_MUTANTS.filter((mutant) => broken.has(mutant.rule)).reduce((access, mutant) => mutant.apply(access), EVENT_GRID_ACCESS);
}

/**
 * Decides one SUBSCRIBE or PUBLISH: the templates the client's groups are bound to for the action,
 * then the checks in order; the first refusal wins.
 */
export class Authorizer {
  constructor(
    private readonly namespace: NamespaceConfig,
    private readonly access: AccessControl = EVENT_GRID_ACCESS,
  ) {}

  templatesFor(client: ClientResource, action: AccessContext['action']): string[] {
    const groups = new Set(this.access.groupsOf(this.namespace, client).map((name) => name.toLowerCase()));
    const spaces = new Set(
      this.namespace.permissionBindings
        .filter((binding) => binding.permission === PERMISSION[action] && groups.has(binding.clientGroupName.toLowerCase()))
        .map((binding) => binding.topicSpaceName.toLowerCase()),
    );
    return this.namespace.topicSpaces.filter((space) => spaces.has(space.name.toLowerCase())).flatMap((space) => space.topicTemplates);
  }

  decide(request: Omit<AccessContext, 'templates'>): Refusal | undefined {
    const context: AccessContext = { ...request, templates: this.templatesFor(request.client, request.action) };
    const checks = request.action === 'subscribe' ? this.access.subscribeChecks : this.access.publishChecks;
    for (const check of checks) {
      const refusal = check.run(context);
      if (refusal) return refusal;
    }
    return undefined;
  }
}
