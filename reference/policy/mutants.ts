// Every mutant of the reference broker, by its id (the rule it breaks, or "A3.any-field" for a rule's
// further mutants): for `--break` and the mutant test. Each is declared beside the check or piece it breaks.
import type { RuleId } from '../../rules/catalogue.ts';
import { ACCESS_MUTANTS } from './access.ts';
import { ENTRA_MUTANTS } from './entra.ts';
import type { Behaviour, Mutant } from './behaviour.ts';
import { CLIENT_CHANGE_MUTANTS } from './client-changes.ts';
import { SESSION_MUTANTS } from './connect.ts';
import { EVENT_GRID } from './event-grid.ts';
import { IDENTITY_MUTANTS } from './identity.ts';
import { LIMIT_MUTANTS } from './limits.ts';
import { NAME_MUTANTS } from './names.ts';
import { PACKET_MUTANTS } from './packet-limits.ts';
import { PROTOCOL_MUTANTS } from './packet-validation.ts';
import { SHARED_MUTANTS } from './shared-subscriptions.ts';
import { TOKEN_MUTANTS } from './token.ts';
import { FEATURE_MUTANTS } from './unsupported.ts';
import { WEBHOOK_MUTANTS } from './webhook.ts';

export function mutantId(mutant: Mutant): string {
  return mutant.id ?? mutant.rule;
}

const ALL: readonly Mutant[] = [
  ...NAME_MUTANTS,
  ...SESSION_MUTANTS,
  ...IDENTITY_MUTANTS,
  ...CLIENT_CHANGE_MUTANTS,
  ...PACKET_MUTANTS,
  ...LIMIT_MUTANTS,
  ...PROTOCOL_MUTANTS,
  ...FEATURE_MUTANTS,
  ...SHARED_MUTANTS,
  ...ACCESS_MUTANTS,
  ...TOKEN_MUTANTS,
  ...WEBHOOK_MUTANTS,
  ...ENTRA_MUTANTS,
];

// A rule may have several mutants; each has an id of its own: the rule id for the first, "rule.how" for the others.
export const MUTANTS: ReadonlyMap<string, Mutant> = new Map(ALL.map((mutant) => [mutantId(mutant), mutant]));
if (MUTANTS.size !== ALL.length) throw new Error('two mutants have the same id: name a further mutant of a rule "rule.how"');

/** The ids of the mutants of one rule. */
export function mutantsOf(rule: RuleId): string[] {
  return [...MUTANTS].filter(([, mutant]) => mutant.rule === rule).map(([id]) => id);
}

/** EVENT_GRID with these mutants applied, in order. */
export function mutatedBehaviour(ids: Iterable<string>): Behaviour {
  let behaviour = EVENT_GRID;
  for (const id of ids) {
    const mutant = MUTANTS.get(id);
    if (!mutant) throw new Error(`the reference has no mutant ${id}`);
    behaviour = mutant.apply(behaviour);
  }
  return behaviour;
}
