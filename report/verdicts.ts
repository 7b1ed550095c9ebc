// Verdicts per rule, MQTT version, authentication method and transport, from scenario results: a rule
// passes for a version, method and transport when its scenarios for them ran and passed, fails when any
// failed, and is skipped (with the reasons) or not run (with why) otherwise.
import { MQTT_VERSIONS, reportedMethodsOf, RULES, SOURCES, versionsUnder, type AuthenticationMethod, type ExpectedRefusal, type MqttVersion, type Rule } from '../rules/catalogue.ts';
import { describeRefusalCode, REFUSAL } from '../rules/codes.ts';
import type { Transport } from '../rules/transports.ts';
import type { ScenarioResult, ScenarioStatus } from './scenarios.ts';

export type VerdictStatus = 'passed' | 'failed' | 'skipped' | 'not run';

export interface RuleVerdict {
  id: string;
  title: string;
  version: MqttVersion;
  /** How the clients of its scenarios authenticated: the certificate, or a token (CUSTOM-JWT). */
  method: AuthenticationMethod;
  /** What carried the connections: MQTT over TLS (tcp), or over WebSockets (wss). */
  transport: Transport;
  status: VerdictStatus;
  /** The refusal(s) the rule expects over this version, and whether the docs state the code or the project infers it. */
  expectedRefusals: { code: string; basis: ExpectedRefusal['basis']; case?: string }[];
  /** The documentation the rule comes from. */
  sources: string[];
  scenarios: { name: string; location: string; status: ScenarioStatus; durationMs: number }[];
  /** Time its scenarios took, summed. */
  durationMs: number;
  /**
   * Passed, but only some of its scenarios ran: the others were skipped, for these reasons. A verdict
   * to read with care (console PASS*, summary.md ✅*, junit system-out).
   */
  skippedScenarios?: { name: string; reason: string }[];
  /** What the target did, as the steps recorded it ("refused: 0x87 Not authorized", …). */
  observed: string[];
  /** Refusals whose code differed from the one the project infers for this rule: a pass on the lenient reading. */
  lenientCodes: string[];
  /** Failed: expected and observed; skipped or not run: why. */
  message?: string;
  /** Not run because the rule cannot be observed under this method (the catalogue's notUnder): why. */
  notApplicable?: string;
}

export interface VerdictOptions {
  /** Rule ids the run selected; absent or empty: all. */
  rules?: string[];
  /** The versions the run selected. */
  versions?: readonly MqttVersion[];
  /** The transports the run went over; default MQTT over TLS alone. */
  transports?: readonly Transport[];
}

function expectedRefusals(rule: Rule, version: MqttVersion): RuleVerdict['expectedRefusals'] {
  return (rule.refusals ?? []).map(({ code, basis, case: refusalCase }) => ({
    code: describeRefusalCode(version, REFUSAL[code]),
    basis,
    ...(refusalCase ? { case: refusalCase } : {}),
  }));
}

interface Where {
  version: MqttVersion;
  method: AuthenticationMethod;
  transport: Transport;
}

function verdict(rule: Rule, { version, method, transport }: Where, scenarios: ScenarioResult[], options: VerdictOptions): RuleVerdict {
  const base = {
    id: rule.id,
    title: rule.title,
    version,
    method,
    transport,
    expectedRefusals: expectedRefusals(rule, version),
    sources: rule.sources.map((source) => SOURCES[source]),
    scenarios: scenarios.map(({ name, location, status, durationMs }) => ({ name, location, status, durationMs })),
    durationMs: scenarios.reduce((sum, s) => sum + s.durationMs, 0),
    observed: [...new Set(scenarios.flatMap((s) => s.observations.map((o) => o.observed)))],
    lenientCodes: [
      ...new Set(
        scenarios.flatMap((s) =>
          s.observations.filter((o) => o.lenient?.rules.includes(rule.id)).map((o) => `${s.name}: ${o.observed}, where the project infers ${o.lenient!.inferred}`),
        ),
      ),
    ],
  };
  const failed = scenarios.filter((s) => s.status === 'failed');
  if (failed.length) {
    return { ...base, status: 'failed', message: failed.map((s) => `${s.name}: ${s.message}`).join('; ') };
  }
  if (scenarios.some((s) => s.status === 'passed')) {
    const skipped = scenarios.filter((s) => s.status === 'skipped');
    if (!skipped.length) return { ...base, status: 'passed' };
    return {
      ...base,
      status: 'passed',
      message: `passed; skipped: ${skipped.map((s) => `${s.name} (${s.message})`).join('; ')}`,
      skippedScenarios: skipped.map((s) => ({ name: s.name, reason: s.message ?? 'skipped' })),
    };
  }
  if (scenarios.length) {
    return { ...base, status: 'skipped', message: [...new Set(scenarios.map((s) => s.message))].join('; ') };
  }
  const selected = (!options.rules?.length || options.rules.includes(rule.id)) && (options.versions ?? MQTT_VERSIONS).includes(version);
  const notUnder = rule.notUnder?.[method];
  const why = rule.untestable
    ? `not testable from a client: ${rule.untestable}`
    : notUnder
      ? `does not apply under ${method}: ${notUnder}`
      : selected
        ? 'no scenario of this rule ran'
        : 'not selected for this run';
  return { ...base, status: 'not run', message: why, ...(notUnder && selected && !rule.untestable ? { notApplicable: notUnder } : {}) };
}

export function ruleVerdicts(scenarios: ScenarioResult[], options: VerdictOptions = {}): RuleVerdict[] {
  const transports = options.transports ?? ['tcp'];
  return (RULES as readonly Rule[]).flatMap((rule) =>
    transports.flatMap((transport) =>
      reportedMethodsOf(rule).flatMap((method) =>
        versionsUnder(rule, method).map((version) => {
          const where = { version, method, transport };
          const its = scenarios.filter((s) => s.rules.includes(rule.id) && s.version === version && s.method === method && s.transport === transport);
          return verdict(rule, where, its, options);
        }),
      ),
    ),
  );
}

/** "over MQTT 5", "over MQTT 5 with CUSTOM-JWT via wss": where a verdict holds, as the reports say it. */
export function whereVerdict(verdict: Pick<RuleVerdict, 'version' | 'method' | 'transport'>): string {
  return `over MQTT ${verdict.version}${verdict.method === 'certificate' ? '' : ` with ${verdict.method}`}${verdict.transport === 'wss' ? ' via wss' : ''}`;
}

/** Passed, but only because an inferred refusal code was not binding (--strict-codes makes it so). */
export function passedLeniently(verdict: RuleVerdict): boolean {
  return verdict.status === 'passed' && verdict.lenientCodes.length > 0;
}

export interface Totals {
  passed: number;
  failed: number;
  skipped: number;
  notRun: number;
}

export function totals(verdicts: RuleVerdict[]): Totals {
  const count = (status: VerdictStatus) => verdicts.filter((v) => v.status === status).length;
  return { passed: count('passed'), failed: count('failed'), skipped: count('skipped'), notRun: count('not run') };
}
