// A refusal names the rule it enforces; its code is that rule's expected refusal in the catalogue, so
// the broker, the steps and the report cannot disagree on it. Also how a refusal is answered (the A6
// mutant that answers an authentication failure with no CONNACK is in identity.ts).
import { expectedRefusal, type RuleId } from '../../rules/catalogue.ts';
import { REFUSAL, type RefusalCode } from '../../rules/codes.ts';

export interface Refusal {
  rule: RuleId;
  code: RefusalCode;
  /** Why, as the client is told (MQTT 5 Reason String) and the log says it. */
  reason: string;
  /** What only the broker's log may add: another client's name is not the refused client's to know. */
  logDetail?: string;
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
