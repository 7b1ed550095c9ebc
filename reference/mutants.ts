// Every mutant of the reference broker, by its id (the rule it breaks, or "A3.any-field" for a rule's
// further mutants): for `--break` and the mutant test. Each is declared beside the check or piece it breaks.
import type { RuleId } from '../rules/catalogue.ts';
import { EVENT_GRID, type Behaviour, type Mutant } from './behaviour.ts';
import { SESSION_MUTANTS } from './connect-decision.ts';
import { IDENTITY_MUTANTS } from './identity.ts';
import { REFUSAL_MUTANTS } from './refusal.ts';

export function mutantId(mutant: Mutant): string {
  return mutant.id ?? mutant.rule;
}

export const MUTANTS: ReadonlyMap<string, Mutant> = new Map(
  [...SESSION_MUTANTS, ...IDENTITY_MUTANTS, ...REFUSAL_MUTANTS].map((mutant) => [mutantId(mutant), mutant]),
);

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
