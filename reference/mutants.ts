// Every mutant of the reference broker, by the rule it breaks: for `--break` and the mutant test. Each
// is declared beside the check or piece it breaks.
import type { RuleId } from '../rules/catalogue.ts';
import { ACCESS_MUTANTS } from './authorization.ts';
import { EVENT_GRID, type Behaviour, type Mutant } from './behaviour.ts';
import { SESSION_MUTANTS } from './connect-decision.ts';
import { IDENTITY_MUTANTS } from './identity.ts';
import { LIMIT_MUTANTS } from './limits.ts';
import { NAME_MUTANTS } from './name-checks.ts';
import { PACKET_MUTANTS } from './packet-limits.ts';
import { PROTOCOL_MUTANTS } from './packet-validation.ts';
import { REFUSAL_MUTANTS } from './refusal.ts';
import { OVERFLOW_MUTANTS } from './session-overflow.ts';

const ALL: readonly Mutant[] = [
  ...NAME_MUTANTS,
  ...SESSION_MUTANTS,
  ...IDENTITY_MUTANTS,
  ...REFUSAL_MUTANTS,
  ...OVERFLOW_MUTANTS,
  ...PACKET_MUTANTS,
  ...LIMIT_MUTANTS,
  ...PROTOCOL_MUTANTS,
  ...ACCESS_MUTANTS,
];

export const MUTANTS: ReadonlyMap<RuleId, Mutant> = new Map(ALL.map((mutant) => [mutant.rule, mutant]));
if (MUTANTS.size !== ALL.length) throw new Error('two mutants break the same rule: one rule, one mutant');

/** EVENT_GRID with the mutants of these rules applied, in order. */
export function mutatedBehaviour(rules: Iterable<RuleId>): Behaviour {
  let behaviour = EVENT_GRID;
  for (const rule of rules) {
    const mutant = MUTANTS.get(rule);
    if (!mutant) throw new Error(`the reference has no mutant for ${rule}`);
    behaviour = mutant.apply(behaviour);
  }
  return behaviour;
}
