// Which scenarios may run at the same time, and which should start first. Read from a scenario's step
// texts alone (and the steps steps/roles.ts declares, matched as cucumber matches them): the runner
// (runner/scenario-lanes.ts) orders the run with it, and steps/hooks.ts hands canRunBeside to cucumber,
// and checks after each scenario that it saw every identity the steps held a session of. No cucumber
// registrations here, so that the runner can import it outside a run.
import { createRequire } from 'node:module';
import type * as CucumberExpressions from '@cucumber/cucumber-expressions';
import type { Pickle } from '@cucumber/messages';
import { controlCounterpart, IDENTITY_SPECS } from '../certs/identities.ts';
import { OWN_IDENTITIES } from './roles.ts';

// cucumber's own expressions (a dependency of @cucumber/cucumber, not of this package, reached as
// runner/step-matching.ts reaches them), so that a step's text matches here as it matches in a run.
const { CucumberExpression, ParameterTypeRegistry } = createRequire(createRequire(import.meta.url).resolve('@cucumber/cucumber'))(
  '@cucumber/cucumber-expressions',
) as typeof CucumberExpressions;
const registry = new ParameterTypeRegistry();
/** The steps that use identities of their own (steps/roles.ts), compiled once. */
const ownIdentitySteps = OWN_IDENTITIES.map(({ expression, identities }) => ({ expression: new CucumberExpression(expression, registry), identities }));

/** The identities named by the steps of a scenario that match `pattern` (its first group). */
function namedBy(pickle: Pickle, pattern: RegExp): string[] {
  return pickle.steps.flatMap((step) => [...step.text.matchAll(pattern)].map((match) => match[1]!));
}

/** What keeps a scenario from running beside others that use the same identities (canRunBeside). */
interface Exclusions {
  /** Identities whose every session the scenario counts: it fills their session limit (S9). */
  filled: string[];
  /** Identities whose registered client the scenario changes while it runs (A7, P5): disabled, other credentials, other client groups. */
  changed: string[];
  /** Identities whose ClientID is their bare authentication name, the same in every such scenario (S3). */
  bare: string[];
}

const exclusionsCache = new WeakMap<Pickle, Exclusions>();

/** A scenario's exclusions, read once: a run asks for them at every start, of every scenario waiting. */
function exclusionsOf(pickle: Pickle): Exclusions {
  let exclusions = exclusionsCache.get(pickle);
  if (!exclusions) {
    exclusions = {
      filled: namedBy(pickle, /identity "([^"]+)" holds as many sessions as the namespace allows/g),
      changed: namedBy(pickle, /the namespace (?:disables|changes the credentials of|moves out of its client group) identity "([^"]+)"/g),
      bare: namedBy(pickle, /identity "([^"]+)" connects without a Username with session named as its authentication name/g),
    };
    exclusionsCache.set(pickle, exclusions);
  }
  return exclusions;
}

/** Whether the scenario fills an identity's session limit (S9). */
export const fillsSessionLimit = (pickle: Pickle): boolean => exclusionsOf(pickle).filled.length > 0;

const identitiesCache = new WeakMap<Pickle, Set<string>>();

/**
 * The identities a scenario's steps use: those they name ('identity "alpha"', or several racing:
 * 'identities "alpha", "beta" and "gamma"'), the good identity that controls the refusals of one whose
 * certificate or registration is wrong on purpose (steps/world.ts), and those steps use on their own
 * (steps/roles.ts: the observer that publishes to a session, the identities that probe an expiry).
 */
export function identitiesOf(pickle: Pickle): Set<string> {
  const cached = identitiesCache.get(pickle);
  if (cached) return cached;
  const named = [
    ...namedBy(pickle, /identity "([^"]+)"/g),
    ...namedBy(pickle, /identities ((?:"[^"]+"(?:, | and )?)+)/g).flatMap((list) => [...list.matchAll(/"([^"]+)"/g)].map((name) => name[1]!)),
  ];
  const ids = new Set(named);
  for (const id of named) {
    const counterpart = controlCounterpart(IDENTITY_SPECS, id);
    if (counterpart) ids.add(counterpart);
  }
  for (const step of pickle.steps) {
    for (const { expression, identities } of ownIdentitySteps) {
      if (expression.match(step.text)) for (const id of identities) ids.add(id);
    }
  }
  identitiesCache.set(pickle, ids);
  return ids;
}

/**
 * Whether a scenario may start while others run. Scenarios overlap freely, as every scenario's
 * session names (and so topics, queues and retained messages) carry its own prefix, and none holds
 * more than two sessions of an identity at once (a held session and a refusal's control), which the
 * embedded namespace's limit leaves room for in every lane (runner/embedded-brokers.ts), except:
 * one that fills an identity's session limit, or changes its registered client (A7), shares that
 * identity with no other, and two that use an identity's bare name as ClientID never overlap.
 */
export function canRunBeside(candidate: Pickle, running: readonly Pickle[]): boolean {
  const clash = (a: Pickle, b: Pickle) => {
    const { filled, changed, bare } = exclusionsOf(a);
    return [...filled, ...changed].some((id) => identitiesOf(b).has(id)) || bare.some((id) => exclusionsOf(b).bare.includes(id));
  };
  return running.every((other) => !clash(candidate, other) && !clash(other, candidate));
}

/** Steps that wait for a session's expiry (S7, L1) or for the moment just before it. */
const EXPIRY_STEPS = [/\bexpires\b/, /has almost expired/];

/**
 * Steps that wait by the rule itself, with about how long on the embedded target, in seconds: a
 * token's expiry plus its margin (T7, T8), Keep Alive silence (L14), a session's expiry (S7, L1) or the
 * moment just before it, a Receive Maximum that must hold (L16).
 */
const WAITING_STEPS: { pattern: RegExp; seconds: number }[] = [
  { pattern: EXPIRY_STEPS[0]!, seconds: 2.2 },
  { pattern: EXPIRY_STEPS[1]!, seconds: 1.5 },
  { pattern: /token (?:expires|has expired)/, seconds: 2.5 },
  { pattern: /stays silent and is closed/, seconds: 2.5 },
  { pattern: /while it acknowledges none/, seconds: 2 },
  // W3: the embedded webhook namespaces' timeout (runner/embedded-brokers.ts).
  { pattern: /answers too late/, seconds: 3 },
];

/** About how long a scenario waits by its rule on the embedded target, in seconds; 0 for none. */
function waitSeconds(pickle: Pickle): number {
  const waits = pickle.steps.flatMap((step) => WAITING_STEPS.filter(({ pattern }) => pattern.test(step.text)).map(({ seconds }) => seconds));
  return Math.max(0, ...waits);
}

/** Whether a scenario waits for a session to expire (its MQTT 5 sessions ask a short expiry). */
export function waitsForExpiry(pickle: Pickle): boolean {
  return pickle.steps.some((step) => EXPIRY_STEPS.some((pattern) => pattern.test(step.text)));
}

/**
 * Which scenarios a run starts first, higher first: those that wait, longest first, so that their
 * waits overlap the others instead of ending the run; then those that fill a session limit, which
 * run one after another.
 */
export function startRank(pickle: Pickle): number {
  const waits = waitSeconds(pickle);
  if (waits > 0) return 1 + waits;
  return fillsSessionLimit(pickle) ? 1 : 0;
}
