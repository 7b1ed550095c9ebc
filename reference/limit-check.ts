// The shape of a check and of a mutant (SPEC.md "Checks as data"), for the limit checks until the
// `checks` branch's reference/behaviour.ts lands; then these become its Check and Mutant.
import type { RuleId } from '../rules/catalogue.ts';
import type { RefusalCode } from '../rules/codes.ts';

export interface LimitRefusal {
  rule: RuleId;
  /** CONNACK codes for a CONNECT check; unused on other paths (they carry their own code). */
  code: RefusalCode;
  reason: string;
}

export interface Check<Context, Outcome = LimitRefusal> {
  name: string;
  rule: RuleId;
  run(context: Context): Outcome | undefined;
}

/** The first refusal of an ordered list of checks, if any. */
export function firstRefusal<Context, Outcome>(checks: readonly Check<Context, Outcome>[], context: Context): Outcome | undefined {
  for (const check of checks) {
    const outcome = check.run(context);
    if (outcome !== undefined) return outcome;
  }
  return undefined;
}

export interface Mutant<Behaviour> {
  rule: RuleId;
  breaks: string;
  apply(behaviour: Behaviour): Behaviour;
}

/** A behaviour with the named check left out: the usual way to break a rule. */
export function without<Context, Outcome>(checks: readonly Check<Context, Outcome>[], name: string): readonly Check<Context, Outcome>[] {
  if (!checks.some((check) => check.name === name)) throw new Error(`no check named ${name}`);
  return checks.filter((check) => check.name !== name);
}
