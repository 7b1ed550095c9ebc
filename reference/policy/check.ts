// Running and editing an ordered list of checks. The first refusal is the answer; most mutants take
// one entry out, or put one more in.
import type { RuleId } from '../../rules/catalogue.ts';
import type { Refusal } from './refusal.ts';

/** One named check of a packet, carrying the rule it enforces (aedes' `connectActions` is the model). */
export interface Check<Context> {
  /** What the check asserts of a packet that passes it. */
  name: string;
  rule: RuleId;
  run(context: Context): Refusal | undefined;
}

/** The first refusal of the checks, in order, or undefined when every check passes. */
export function firstRefusal<Context>(checks: readonly Check<Context>[], context: Context): Refusal | undefined {
  for (const check of checks) {
    const refusal = check.run(context);
    if (refusal) return refusal;
  }
  return undefined;
}

export function withoutCheck<Context>(checks: readonly Check<Context>[], check: Check<Context>): readonly Check<Context>[] {
  if (!checks.includes(check)) throw new Error(`no check "${check.name}" to remove`);
  return checks.filter((entry) => entry !== check);
}

/** The list with `check` inserted before `before`, or at the end when `before` is not in it. */
export function withCheckBefore<Context>(checks: readonly Check<Context>[], check: Check<Context>, before: Check<Context>): readonly Check<Context>[] {
  const index = checks.indexOf(before);
  return index < 0 ? [...checks, check] : [...checks.slice(0, index), check, ...checks.slice(index)];
}
