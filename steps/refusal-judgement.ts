// How a refusal is judged: that it happened, that its code is the one the catalogue expects (binding
// where the docs state the code; where the project infers it, recorded, and binding only with
// --strict-codes), and that it was for the rule's reason: the CONNECT's control must be accepted.
import { findRule, type ExpectedRefusal } from '../rules/catalogue.ts';
import { ConformanceFailure } from '../common/errors.ts';
import { describeRefusalCode, REFUSAL, refusalCodeFor, type RefusalName } from '../rules/codes.ts';
import type { ConformanceWorld, ConnectOutcome } from './world.ts';

interface CodeExpectation extends ExpectedRefusal {
  rule: string;
}

/** The refusals the scenario's rules expect, narrowed to the case the CONNECT falls under when a step said. */
function expectations(world: ConformanceWorld, only?: RefusalName): CodeExpectation[] {
  // Only CONNACK codes: a rule's SUBACK or PUBACK refusals are judged by their own steps (steps/access.steps.ts).
  const all = world.rules.flatMap((rule) => (findRule(rule)?.refusals ?? []).filter(({ code }) => !('packet' in REFUSAL[code])).map((refusal) => ({ ...refusal, rule })));
  const inCase = world.refusalCase ? all.filter((refusal) => refusal.case === undefined || refusal.case === world.refusalCase) : all;
  const chosen = inCase.length ? inCase : all;
  return only ? chosen.filter((refusal) => refusal.code === only) : chosen;
}

/** The CONNACK code over the scenario's version; undefined where 3.1.1 has none (the connection is closed). */
function codeOf(world: ConformanceWorld, name: RefusalName): number | undefined {
  return refusalCodeFor(world.version, REFUSAL[name]);
}

export function describeOutcome(world: ConformanceWorld, outcome: ConnectOutcome): string {
  if (outcome.accepted) {
    const sessionPresent = 'client' in outcome ? outcome.client.sessionPresent : outcome.sessionPresent;
    return `accepted: ${world.describe(0)}${sessionPresent ? ', Session Present 1' : ''}`;
  }
  return `refused: ${world.describe(outcome.code)}${outcome.reasonString ? ` (${outcome.reasonString})` : ''}`;
}

/** "0x87 Not authorized (inferred for S5, S6)": the expected codes, each once with the rules that expect it. */
function list(world: ConformanceWorld, refusals: CodeExpectation[]): string {
  const byCode = new Map<string, string[]>();
  for (const refusal of refusals) {
    const key = `${describeRefusalCode(world.version, REFUSAL[refusal.code])} (${refusal.basis} for `;
    byCode.set(key, [...new Set([...(byCode.get(key) ?? []), refusal.rule])]);
  }
  return [...byCode].map(([code, rules]) => `${code}${rules.join(', ')})`).join(' or ');
}

/**
 * Asserts that the last CONNECT was refused (with a CONNACK when `needsConnack`), judges its code
 * against the catalogue, then runs its control, which must be accepted.
 */
export async function mustBeRefused(world: ConformanceWorld, step: string, options: { code?: RefusalName; needsConnack?: boolean } = {}): Promise<void> {
  const outcome = world.lastOutcome;
  const control = world.lastControl;
  if (!outcome || !control) throw new Error('no connection was attempted before this step');
  const expected = expectations(world, options.code);
  if (options.code && !expected.length) {
    throw new Error(`the step "${step}" asserts a code that no rule of this scenario (${world.rules.join(', ') || 'none'}) expects in the catalogue`);
  }
  const documented = expected.filter((refusal) => refusal.basis === 'documented');
  const inferred = expected.filter((refusal) => refusal.basis === 'inferred');
  const strict = world.target.strictCodes === true;
  const binding = documented.length ? documented : strict ? inferred : [];
  const outcomeWanted = options.needsConnack ? 'a CONNACK with a refusal code' : 'a refusal';
  const connack = binding.every((refusal) => codeOf(world, refusal.code) !== undefined) ? 'CONNACK ' : '';
  const expectedText = binding.length
    ? `${connack}${list(world, binding)}${documented.length ? '' : ', binding with --strict-codes'}`
    : `${outcomeWanted}${inferred.length ? ` (the code is recorded: the project infers ${list(world, inferred)})` : ''}`;
  const observed = describeOutcome(world, outcome);

  const matches = (refusals: CodeExpectation[]) => !outcome.accepted && refusals.some((refusal) => codeOf(world, refusal.code) === outcome.code);
  const lenient = !outcome.accepted && !binding.length && inferred.length > 0 && !matches(inferred);
  world.observe({
    step,
    expected: expectedText,
    observed,
    ...(lenient ? { lenient: { rules: [...new Set(inferred.map((refusal) => refusal.rule))], inferred: list(world, inferred) } } : {}),
  });
  if (outcome.accepted) throw new ConformanceFailure(`expected ${expectedText}, got ${observed}`);
  if (options.needsConnack && outcome.code === undefined) throw new ConformanceFailure(`expected ${expectedText}, got ${observed}`);
  if (binding.length && !matches(binding)) throw new ConformanceFailure(`expected ${expectedText}, got ${observed}`);
  await mustPassControl(world, control);
}

/** The control of a refused CONNECT must be accepted: otherwise the refusal was not for the rule's reason. */
export async function mustPassControl(world: ConformanceWorld, control: NonNullable<ConformanceWorld['lastControl']>): Promise<void> {
  const outcome = await control.run();
  const observed = describeOutcome(world, outcome);
  world.observe({ step: `control: ${control.what}`, expected: 'accepted', observed });
  if (!outcome.accepted) throw new ConformanceFailure(`refused for another reason: ${control.what} was refused too: ${observed}`);
}
