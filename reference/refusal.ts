// A refusal names the rule it enforces; its code is that rule's expected refusal in the catalogue, so
// the broker, the steps and the report cannot disagree on it. Also how a refusal is answered, and the
// A6 mutant that answers an authentication failure with no CONNACK.
import { expectedRefusal, type RuleId } from '../rules/catalogue.ts';
import { REFUSAL, type RefusalCode } from '../rules/codes.ts';
import type { Mutant } from './behaviour.ts';

export interface Refusal {
  rule: RuleId;
  code: RefusalCode;
  reason: string;
}

/** A refusal under `rule`, with the code the catalogue expects (in `refusalCase`, for a rule with several). */
export function refuse(rule: RuleId, reason: string, refusalCase?: string): Refusal {
  const expected = expectedRefusal(rule, refusalCase);
  if (!expected) throw new Error(`the catalogue has no refusal for ${rule}${refusalCase ? ` (${refusalCase})` : ''}`);
  return { rule, code: REFUSAL[expected.code], reason };
}

/** How the broker answers a refusal: a CONNACK carrying the code, or closing the connection without one. */
export type RefusalAnswer = (refusal: Refusal) => 'connack' | 'close';

/** A6: a failed authentication is refused at CONNECT, with a CONNACK, like every other refusal. */
export const ANSWER_WITH_CONNACK: RefusalAnswer = () => 'connack';

const AUTHENTICATION_RULES = new Set<RuleId>(['A1', 'A2', 'A3', 'A5']);

export const REFUSAL_MUTANTS: readonly Mutant[] = [
  {
    rule: 'A6',
    breaks: 'a failed authentication closes the connection with no CONNACK',
    apply: (behaviour) => ({ ...behaviour, answerRefusal: (refusal) => (AUTHENTICATION_RULES.has(refusal.rule) ? 'close' : 'connack') }),
  },
];
