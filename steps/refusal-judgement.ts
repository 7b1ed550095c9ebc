// How a refusal is judged, whatever packet carries it (CONNACK, SUBACK, PUBACK, DISCONNECT): that it
// happened (the documented outcome), that its code is the one the catalogue expects (binding where the
// docs state the code; where the project infers it, recorded, and binding only with --strict-codes),
// and, for a CONNECT, that it was for the rule's reason: the CONNECT's control must be accepted.
import { findRule, type ExpectedRefusal, type MqttVersion } from '../rules/catalogue.ts';
import { describeRefusalCode, REFUSAL, refusalCodeFor, type RefusalCode, type RefusalName } from '../rules/codes.ts';
import type { ConnectionEnd, PublishOutcome, SessionClient } from '../mqtt-client/session-client.ts';
import type { Observation } from '../report/scenarios.ts';
import { expectObserved } from './observation.ts';
import type { ConformanceWorld, ConnectOutcome } from './world.ts';

/** The packet a refusal travels in: a CONNACK unless rules/codes.ts names another. */
export type RefusalPacket = 'CONNACK' | NonNullable<RefusalCode['packet']>;

const packetOf = (name: RefusalName): RefusalPacket => (REFUSAL[name] as RefusalCode).packet ?? 'CONNACK';

/** A rule's expected refusal, with the rule. */
export interface CodeExpectation extends ExpectedRefusal {
  rule: string;
}

/** What the target answered to a packet that breaks a rule: the answer builders below make one per packet. */
export interface Answer {
  packet: RefusalPacket;
  /** The documented outcome, whatever the code: refused (CONNACK), a failure code (SUBACK, PUBACK), the connection ended (DISCONNECT). */
  refused: boolean;
  /** That outcome as an expectation reads: "a refusal", "a SUBACK failure code", ... */
  outcome: string;
  /** The code the answer carried; undefined when it carried none (the connection closed without one). */
  code: number | undefined;
  /** The answer as the report shows it. */
  observed: string;
}

/**
 * The refusals of that packet the scenario's rules expect, narrowed to the code a step asserts, and
 * to the case the CONNECT falls under when a step said (world.refusalCase).
 */
function expectations(world: ConformanceWorld, packet: RefusalPacket, only?: RefusalName): CodeExpectation[] {
  const all = world.rules.flatMap((rule) => (findRule(rule)?.refusals ?? []).filter(({ code }) => packetOf(code) === packet).map((refusal) => ({ ...refusal, rule })));
  const inCase = world.refusalCase ? all.filter((refusal) => refusal.case === undefined || refusal.case === world.refusalCase) : all;
  const chosen = inCase.length ? inCase : all;
  return only ? chosen.filter((refusal) => refusal.code === only) : chosen;
}

/** "0x87 Not authorized (inferred for S5, S6)": the expected codes, each once with the rules that expect it. */
function list(version: MqttVersion, refusals: CodeExpectation[]): string {
  const byCode = new Map<string, string[]>();
  for (const refusal of refusals) {
    const key = `${describeRefusalCode(version, REFUSAL[refusal.code])} (${refusal.basis} for `;
    byCode.set(key, [...new Set([...(byCode.get(key) ?? []), refusal.rule])]);
  }
  return [...byCode].map(([code, rules]) => `${code}${rules.join(', ')})`).join(' or ');
}

export interface CodeVerdict {
  /** What was expected, as the report shows it. */
  expected: string;
  /** Set on a pass whose code is not the inferred one: the lenient reading, which the report marks. */
  lenient?: Observation['lenient'];
  /** Whether the answer fails the rule. */
  failed: boolean;
}

/**
 * The judgement proper, the same for every packet: the answer must be a refusal; documented codes
 * bind, inferred ones only when `strict`; an inferred code not matched otherwise passes leniently.
 */
export function judgeCode(expected: CodeExpectation[], answer: Answer, { version, strict }: { version: MqttVersion; strict: boolean }): CodeVerdict {
  const documented = expected.filter((refusal) => refusal.basis === 'documented');
  const inferred = expected.filter((refusal) => refusal.basis === 'inferred');
  const binding = documented.length ? documented : strict ? inferred : [];
  const codeOf = (refusal: CodeExpectation) => refusalCodeFor(version, REFUSAL[refusal.code]);
  const matches = (refusals: CodeExpectation[]) => answer.refused && refusals.some((refusal) => codeOf(refusal) === answer.code);
  // describeRefusalCode names every packet but the CONNACK; a code 3.1.1 lacks is no CONNACK at all.
  const connack = answer.packet === 'CONNACK' && binding.every((refusal) => codeOf(refusal) !== undefined) ? 'CONNACK ' : '';
  const expectedText = binding.length
    ? `${connack}${list(version, binding)}${documented.length ? '' : ', binding with --strict-codes'}`
    : `${answer.outcome}${inferred.length ? ` (the code is recorded: the project infers ${list(version, inferred)})` : ''}`;
  const lenient = answer.refused && !binding.length && inferred.length > 0 && !matches(inferred);
  return {
    expected: expectedText,
    ...(lenient ? { lenient: { rules: [...new Set(inferred.map((refusal) => refusal.rule))], inferred: list(version, inferred) } } : {}),
    failed: !answer.refused || (binding.length > 0 && !matches(binding)),
  };
}

/**
 * Judges an answer against the refusals the scenario's rules expect of its packet (only `code`, when
 * the step names one), records it for the report (a lenient pass marked as such), and fails the
 * scenario with what was expected and observed. `subject` says what was refused (a topic, ...).
 */
export function judgeRefusal(world: ConformanceWorld, step: string, answer: Answer, options: { code?: RefusalName; subject?: string } = {}): void {
  const expected = expectations(world, answer.packet, options.code);
  // A suite bug, not a verdict: the catalogue and the feature files disagree.
  if (options.code && !expected.length) {
    throw new Error(`the step "${step}" asserts a code that no rule of this scenario (${world.rules.join(', ') || 'none'}) expects in the catalogue`);
  }
  const verdict = judgeCode(expected, answer, { version: world.version, strict: world.target.strictCodes === true });
  const subject = options.subject ? `${options.subject}: ` : '';
  const observation = { step, expected: `${subject}${verdict.expected}`, observed: answer.observed, ...(verdict.lenient ? { lenient: verdict.lenient } : {}) };
  expectObserved(world, observation, !verdict.failed);
}

export function describeOutcome(world: ConformanceWorld, outcome: ConnectOutcome): string {
  if (outcome.accepted) {
    const sessionPresent = 'client' in outcome ? outcome.client.sessionPresent : outcome.sessionPresent;
    return `accepted: ${world.describe(0)}${sessionPresent ? ', Session Present 1' : ''}`;
  }
  return `refused: ${world.describe(outcome.code)}${outcome.reasonString ? ` (${outcome.reasonString})` : ''}`;
}

/** A CONNECT's answer: refused, with a CONNACK when `needsConnack`. */
export function connackAnswer(world: ConformanceWorld, outcome: ConnectOutcome, needsConnack = false): Answer {
  const code = outcome.accepted ? undefined : outcome.code;
  return {
    packet: 'CONNACK',
    refused: !outcome.accepted && (!needsConnack || code !== undefined),
    outcome: needsConnack ? 'a CONNACK with a refusal code' : 'a refusal',
    code,
    observed: describeOutcome(world, outcome),
  };
}

/** "granted QoS 1", "SUBACK 0x87 Not authorized", "SUBACK 0x80 (Failure)". */
export function describeSuback(world: ConformanceWorld, code: number): string {
  if (code < 0x80) return `granted QoS ${code}`;
  return world.version === '5' ? `SUBACK ${world.describe(code)}` : `SUBACK 0x${code.toString(16)} (Failure)`;
}

/** Subscribes to one filter: its SUBACK code, or why no SUBACK came (a timeout, the connection closed), is the target's answer either way. */
export function subscribeFor(client: SessionClient, filter: string, qos: 0 | 1 | 2, userProperties?: Record<string, string>): Promise<{ code: number | undefined; noSuback?: string }> {
  return client.subscribeCode(filter, qos, userProperties).then(
    (code) => ({ code }),
    (error: Error) => ({ code: undefined, noSuback: error.message }),
  );
}

/** A SUBSCRIBE filter's answer: its SUBACK code, or why no SUBACK came (`noSuback`). */
export function subackAnswer(world: ConformanceWorld, code: number | undefined, noSuback = 'no code for the filter'): Answer {
  return {
    packet: 'SUBACK',
    refused: code !== undefined && code >= 0x80,
    outcome: 'a SUBACK failure code',
    code,
    observed: code === undefined ? `no SUBACK: ${noSuback}` : describeSuback(world, code),
  };
}

export function describePublication(world: ConformanceWorld, outcome: PublishOutcome): string {
  if (!outcome.acknowledged) return outcome.closed ? 'no PUBACK: the connection closed' : `no PUBACK: ${outcome.message}`;
  return `PUBACK ${world.version === '5' ? world.describe(outcome.reasonCode) : '(3.1.1, no reason code)'}`;
}

/** A QoS 1 PUBLISH's answer (MQTT 5: 3.1.1's PUBACK has no code): a PUBACK with a failure code. */
export function pubackAnswer(world: ConformanceWorld, outcome: PublishOutcome): Answer {
  return {
    packet: 'PUBACK',
    refused: outcome.acknowledged && outcome.reasonCode >= 0x80,
    outcome: 'a PUBACK failure code',
    code: outcome.acknowledged ? outcome.reasonCode : undefined,
    observed: describePublication(world, outcome),
  };
}

/**
 * A PUBLISH that ends its connection: how it ended within `waitedMs` (undefined `end`: it did not).
 * Without a DISCONNECT, as over 3.1.1, the connection closing is the refusal with no code.
 */
export function disconnectAnswer(world: ConformanceWorld, end: (ConnectionEnd & { afterMs: number }) | undefined, waitedMs: number): Answer {
  const observed =
    end === undefined
      ? `still connected after ${waitedMs} ms`
      : `${end.disconnectReasonCode === undefined ? 'closed' : `DISCONNECT ${world.describe(end.disconnectReasonCode)}`} after ${end.afterMs} ms`;
  return { packet: 'DISCONNECT', refused: end !== undefined, outcome: 'the connection ended', code: end?.disconnectReasonCode, observed };
}

/**
 * Asserts that the last CONNECT was refused (with a CONNACK when `needsConnack`), judges its code
 * against the catalogue, then runs its control, which must be accepted.
 */
export async function mustBeRefused(world: ConformanceWorld, step: string, options: { code?: RefusalName; needsConnack?: boolean } = {}): Promise<void> {
  const outcome = world.lastOutcome;
  const control = world.lastControl;
  if (!outcome || !control) throw new Error('no connection was attempted before this step');
  judgeRefusal(world, step, connackAnswer(world, outcome, options.needsConnack), { code: options.code });
  await mustPassControl(world, control);
}

/** The control of a refused CONNECT must be accepted: otherwise the refusal was not for the rule's reason. */
export async function mustPassControl(world: ConformanceWorld, control: NonNullable<ConformanceWorld['lastControl']>): Promise<void> {
  const outcome = await control.run();
  const observed = describeOutcome(world, outcome);
  expectObserved(world, { step: `control: ${control.what}`, expected: 'accepted', observed }, outcome.accepted, `refused for another reason: ${control.what} was refused too: ${observed}`);
}
