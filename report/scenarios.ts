// Scenario results gathered from cucumber's message stream: status, tags, why a scenario was skipped,
// what failed, and what each step observed of the target.
import type { Envelope, Pickle, TestStepResultStatus } from '@cucumber/messages';
import type { AuthenticationMethod, MqttVersion } from '../rules/catalogue.ts';
import { methodOfTags, rulesOfTags, versionOfTags } from '../rules/tags.ts';
import type { Transport } from '../rules/transports.ts';
import { PACKETS_MEDIA_TYPE, type ScenarioPackets } from './packets.ts';

const LOG_MEDIA_TYPE = 'text/x.cucumber.log+plain';

export interface Observation {
  step: string;
  expected: string;
  observed: string;
  /** A refusal whose code differs from the one the project infers for these rules: passed on the lenient reading. */
  lenient?: { rules: string[]; inferred: string };
}

// An observation is attached as a cucumber log line (this.log), which cucumber.html shows as text under
// its step; these markers let the report read it back.
const OBSERVATION = 'observation: ';
const EXPECTED = '\n  expected: ';
const OBSERVED = '\n  observed: ';
/** Only on a lenient pass: `S5,S6 | 0x87 Not authorized (inferred for S5, S6)`. */
const LENIENT = '\n  lenient for ';
const LENIENT_SEPARATOR = ' | inferred ';

/** The text a step logs for an observation: readable in cucumber.html, and read back by the collector. */
export function formatObservation(observation: Observation): string {
  const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ');
  const lenient = observation.lenient ? `${LENIENT}${observation.lenient.rules.join(',')}${LENIENT_SEPARATOR}${oneLine(observation.lenient.inferred)}` : '';
  return `${OBSERVATION}${oneLine(observation.step)}${EXPECTED}${oneLine(observation.expected)}${OBSERVED}${oneLine(observation.observed)}${lenient}`;
}

export function parseObservation(text: string): Observation | undefined {
  if (!text.startsWith(OBSERVATION)) return undefined;
  const expectedAt = text.indexOf(EXPECTED);
  const observedAt = text.indexOf(OBSERVED, expectedAt);
  if (expectedAt < 0 || observedAt < 0) return undefined;
  const lenientAt = text.indexOf(LENIENT, observedAt);
  const separatorAt = lenientAt < 0 ? -1 : text.indexOf(LENIENT_SEPARATOR, lenientAt);
  const lenient =
    separatorAt < 0 ? undefined : { rules: text.slice(lenientAt + LENIENT.length, separatorAt).split(','), inferred: text.slice(separatorAt + LENIENT_SEPARATOR.length) };
  return {
    step: text.slice(OBSERVATION.length, expectedAt),
    expected: text.slice(expectedAt + EXPECTED.length, observedAt),
    observed: text.slice(observedAt + OBSERVED.length, separatorAt < 0 ? undefined : lenientAt),
    ...(lenient ? { lenient } : {}),
  };
}

export type ScenarioStatus = 'passed' | 'failed' | 'skipped';

export interface ScenarioResult {
  name: string;
  /** features/…feature:LINE */
  location: string;
  tags: string[];
  /** Catalogued rule ids among the tags. */
  rules: string[];
  version?: MqttVersion;
  /** How its clients authenticated (its method tag). */
  method: AuthenticationMethod;
  /** What carried its connections: MQTT over TLS, or over WebSockets. */
  transport: Transport;
  status: ScenarioStatus;
  /** Why it failed (the first failing step's error) or was skipped. */
  message?: string;
  /** Time its steps and hooks took, as cucumber measured them. */
  durationMs: number;
  observations: Observation[];
  /** The packets its clients exchanged with the target (attached by steps/hooks.ts), if they were recorded. */
  packets?: ScenarioPackets;
}

// A step status worse than 'passed' decides the scenario; undefined, pending and ambiguous steps mean
// the suite itself is broken, which counts as a failure.
const STATUS_OF_STEP: Record<TestStepResultStatus, ScenarioStatus | undefined> = {
  PASSED: undefined,
  SKIPPED: 'skipped',
  PENDING: 'failed',
  UNDEFINED: 'failed',
  AMBIGUOUS: 'failed',
  FAILED: 'failed',
  UNKNOWN: 'failed',
};

interface Running {
  pickle: Pickle;
  status: ScenarioStatus;
  message?: string;
  skipReason?: string;
  durationMs: number;
  observations: Observation[];
  packets?: ScenarioPackets;
}

/** A scenario a run will start: its tags, and the transport its connections take. */
export interface PlannedScenario {
  tags: readonly string[];
  transport: Transport;
}

export class ScenarioCollector {
  private readonly pickles = new Map<string, Pickle>();
  private readonly pickleOfTestCase = new Map<string, string>();
  private readonly running = new Map<string, Running>();
  private readonly finished: ScenarioResult[] = [];
  private toldPlan = false;

  readonly onMessage = (envelope: Envelope): void => {
    if (envelope.pickle) this.pickles.set(envelope.pickle.id, envelope.pickle);
    if (envelope.testCase) this.pickleOfTestCase.set(envelope.testCase.id, envelope.testCase.pickleId);
    // cucumber plans every test case before it starts the first; a run that starts none (a half of a
    // transport that got no scenario of the selection) plans nothing, and says so as it ends: the
    // progress waits for every run's plan before it shows a result.
    if ((envelope.testCaseStarted || envelope.testRunFinished) && !this.toldPlan) {
      this.toldPlan = true;
      this.onPlanned?.(this.planned());
    }
    if (envelope.testCaseStarted) {
      const pickle = this.pickles.get(this.pickleOfTestCase.get(envelope.testCaseStarted.testCaseId)!)!;
      this.running.set(envelope.testCaseStarted.id, { pickle, status: 'passed', durationMs: 0, observations: [] });
    }
    if (envelope.testStepFinished) this.stepFinished(envelope.testStepFinished);
    if (envelope.attachment?.testCaseStartedId) this.attached(envelope.attachment.testCaseStartedId, envelope.attachment);
    if (envelope.testCaseFinished && !envelope.testCaseFinished.willBeRetried) {
      const run = this.running.get(envelope.testCaseFinished.testCaseStartedId);
      if (run) {
        const result = this.result(run);
        this.finished.push(result);
        this.onResult?.(result);
      }
    }
  };

  /**
   * Collects one run's results; its scenarios' connections went over `transport`.
   * @param onResult called as each scenario finishes: the run's progress
   * @param onPlanned called once, as the first scenario starts (or as a run that started none ends), with every scenario the run will start
   */
  constructor(
    private readonly onResult?: (result: ScenarioResult) => void,
    private readonly transport: Transport = 'tcp',
    private readonly onPlanned?: (plan: PlannedScenario[]) => void,
  ) {}

  private stepFinished(finished: NonNullable<Envelope['testStepFinished']>): void {
    const run = this.running.get(finished.testCaseStartedId);
    if (!run) return;
    const { seconds, nanos } = finished.testStepResult.duration;
    run.durationMs += Number(seconds) * 1000 + nanos / 1e6;
    const status = STATUS_OF_STEP[finished.testStepResult.status];
    if (!status || run.status === 'failed') return;
    if (status === 'failed') {
      run.status = 'failed';
      run.message = (finished.testStepResult.message ?? finished.testStepResult.status).split('\n')[0];
    } else if (run.status === 'passed') {
      run.status = 'skipped';
    }
  }

  private attached(testCaseStartedId: string, attachment: NonNullable<Envelope['attachment']>): void {
    const run = this.running.get(testCaseStartedId);
    if (!run) return;
    if (attachment.mediaType === PACKETS_MEDIA_TYPE) run.packets = JSON.parse(attachment.body) as ScenarioPackets;
    if (attachment.mediaType !== LOG_MEDIA_TYPE) return;
    const observation = parseObservation(attachment.body);
    if (observation) run.observations.push(observation);
    else if (attachment.body.startsWith('skipped: ')) run.skipReason = attachment.body.slice('skipped: '.length);
  }

  private result(run: Running): ScenarioResult {
    const tags = run.pickle.tags.map((tag) => tag.name);
    const line = run.pickle.location?.line;
    return {
      name: run.pickle.name,
      location: `${run.pickle.uri}${line ? `:${line}` : ''}`,
      tags,
      rules: rulesOfTags(tags),
      version: versionOfTags(tags),
      method: methodOfTags(tags),
      transport: this.transport,
      status: run.status,
      ...(run.status === 'failed' ? { message: run.message } : {}),
      ...(run.status === 'skipped' ? { message: run.skipReason ?? 'skipped' } : {}),
      durationMs: Math.round(run.durationMs),
      observations: run.observations,
      ...(run.packets ? { packets: run.packets } : {}),
    };
  }

  /** Every scenario cucumber has planned so far (all of them, before the first one starts). */
  planned(): PlannedScenario[] {
    return [...this.pickleOfTestCase.values()].map((pickleId) => ({ tags: this.pickles.get(pickleId)?.tags.map((tag) => tag.name) ?? [], transport: this.transport }));
  }

  results(): ScenarioResult[] {
    return [...this.finished];
  }
}
