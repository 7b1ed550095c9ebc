// Editing an ordered list of checks, which is what most mutants do: one entry out, or one more in.
import type { Check } from './behaviour.ts';

export function withoutCheck<Context>(checks: readonly Check<Context>[], check: Check<Context>): readonly Check<Context>[] {
  if (!checks.includes(check)) throw new Error(`no check "${check.name}" to remove`);
  return checks.filter((entry) => entry !== check);
}

/** The list with `check` inserted before `before`, or at the end when `before` is not in it. */
export function withCheckBefore<Context>(checks: readonly Check<Context>[], check: Check<Context>, before: Check<Context>): readonly Check<Context>[] {
  const index = checks.indexOf(before);
  return index < 0 ? [...checks, check] : [...checks.slice(0, index), check, ...checks.slice(index)];
}
