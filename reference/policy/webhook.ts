// Who is connecting, by webhook (W1-W3): the checks a webhook's answer passes, in order, the piece that
// names its client, and the mutants that break them. The webhook authenticator
// (reference/adapters/webhook/) asks the webhook; what it answered (or that it did not) is data here.
import type { ClientResource } from '../../eventgrid/namespace.ts';
import type { Authentication, Behaviour, Mutant, WebhookContext, WebhookDecision, WebhookPieces } from './behaviour.ts';
import { firstRefusal, withoutCheck, type Check } from './check.ts';
import type { WebhookAnswer } from './presented.ts';
import { refuse } from './refusal.ts';

const MAX_NAME_LENGTH = 128;

/** The body as Event Grid documents it, or why it is not. */
function decisionOf(answer: WebhookAnswer): WebhookDecision | string {
  if (!answer.answered) return answer.problem;
  if (answer.status !== 200) return `the webhook answered HTTP ${answer.status}`;
  const body = answer.body as Partial<WebhookDecision> | undefined;
  if (typeof body !== 'object' || body === null) return 'the webhook answered no JSON object';
  if (body.decision !== 'allow' && body.decision !== 'deny') return 'the webhook answered no decision ("allow" or "deny")';
  if (body.decision === 'allow') {
    const name = body.clientAuthenticationName;
    if (typeof name !== 'string' || name.length < 1 || name.length > MAX_NAME_LENGTH) return `the webhook allowed with no clientAuthenticationName of 1 to ${MAX_NAME_LENGTH} characters`;
    if (body.expiration !== undefined && typeof body.expiration !== 'number') return 'the webhook answered an expiration that is no Unix time';
  }
  return body as WebhookDecision;
}

// W3: no answer in time, or one that is not the documented JSON, is a failure: "Server unavailable".
const ANSWERED: Check<WebhookContext> = {
  name: 'the webhook answered in time',
  rule: 'W3',
  run: ({ answer }) => (answer.answered ? undefined : refuse('W3', `the webhook ${answer.problem}`)),
};

const WELL_FORMED: Check<WebhookContext> = {
  name: 'the webhook answered HTTP 200 with a decision as documented',
  rule: 'W3',
  run: ({ answer }) => {
    const decision = decisionOf(answer);
    return typeof decision === 'string' ? refuse('W3', decision) : undefined;
  },
};

// W2: "deny" is "Not authorized", with the webhook's reason.
const ALLOWED: Check<WebhookContext> = {
  name: 'the webhook allowed the client',
  rule: 'W2',
  run: ({ decision }) => (decision.decision === 'deny' ? refuse('W2', `the webhook denied the client${decision.errorReason ? `: ${decision.errorReason}` : ''}`) : undefined),
};

/** W2, W3, in order: an answer, a well-formed one, an allowing one. */
export const WEBHOOK_CHECKS: readonly Check<WebhookContext>[] = [ANSWERED, WELL_FORMED, ALLOWED];

/** W1: the decision's clientAuthenticationName names the client. */
export const EVENT_GRID_WEBHOOK: WebhookPieces = { nameOfWebhookClient: (decision) => decision?.clientAuthenticationName };

/** The attribute values Event Grid takes from a decision: 32-bit integers, strings and arrays of strings. */
function attributesOf(attributes: Record<string, unknown> | undefined): Record<string, unknown> {
  const usable = (value: unknown) =>
    typeof value === 'string' || (Number.isInteger(value) && Math.abs(value as number) < 2 ** 31) || (Array.isArray(value) && value.every((item) => typeof item === 'string'));
  return Object.fromEntries(Object.entries(attributes ?? {}).filter(([, value]) => usable(value)));
}

/** What a webhook's answer proves under Behaviour's webhook checks; no client is registered for it. */
export function authenticateByWebhook(answer: WebhookAnswer, username: string | undefined, behaviour: Behaviour): Authentication {
  const parsed = decisionOf(answer);
  const decision = typeof parsed === 'string' ? undefined : parsed;
  const refusal = firstRefusal(behaviour.webhookChecks, { answer, decision: decision ?? { decision: 'deny' } });
  if (refusal) return { refusal };
  const name = behaviour.nameOfWebhookClient(decision, username) ?? '';
  const client: ClientResource = {
    name: name.toLowerCase(),
    authenticationName: name,
    state: 'Enabled',
    clientCertificateAuthentication: { validationScheme: 'SubjectMatchesAuthenticationName', allowedThumbprints: [] },
    attributes: attributesOf(decision?.attributes),
  };
  const expiresAt = decision?.expiration === undefined ? undefined : decision.expiration * 1000;
  return { identity: { client, nameSource: 'webhook (clientAuthenticationName)', ...(expiresAt === undefined ? {} : { expiresAt }) } };
}

const without = (...checks: Check<WebhookContext>[]) => (behaviour: Behaviour): Behaviour => ({
  ...behaviour,
  webhookChecks: checks.reduce(withoutCheck, behaviour.webhookChecks),
});

/** A mutated broker that lets a client in without a name from the webhook names it by its Username. */
const usernameNames = (behaviour: Behaviour): Behaviour => ({ ...behaviour, nameOfWebhookClient: (decision, username) => decision?.clientAuthenticationName ?? username });

export const WEBHOOK_MUTANTS: readonly Mutant[] = [
  { rule: 'W1', breaks: "the webhook's clientAuthenticationName is ignored: the Username names the client", apply: (behaviour) => ({ ...behaviour, nameOfWebhookClient: (_decision, username) => username }) },
  { rule: 'W2', breaks: 'a "deny" decision is not heeded: the Username names the client', apply: (behaviour) => usernameNames(without(ALLOWED)(behaviour)) },
  { rule: 'W3', breaks: 'fails open: a webhook that does not answer well lets the client in, named by its Username', apply: (behaviour) => usernameNames(without(ANSWERED, WELL_FORMED)(behaviour)) },
];
