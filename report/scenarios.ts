// Scenario results gathered from cucumber's message stream: status, tags, why a scenario was skipped,
// what failed, and what each step observed of the target.
import type { Envelope, Pickle, TestStepResultStatus } from '@cucumber/messages';
import type { MqttVersion } from '../rules/catalogue.ts';
import { rulesOfTags, versionOfTags } from '../rules/tags.ts';

export const OBSERVATION_MEDIA_TYPE = 'application/vnd.mmc.observation+json';
const LOG_MEDIA_TYPE = 'text/x.cucumber.log+plain';

export interface Observation {
  step: string;
  expected: string;
  observed: string;
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
  status: ScenarioStatus;
  /** Why it failed (the first failing step's error) or was skipped. */
  message?: string;
  observations: Observation[];
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
  observations: Observation[];
}

export class ScenarioCollector {
  private readonly pickles = new Map<string, Pickle>();
  private readonly pickleOfTestCase = new Map<string, string>();
  private readonly running = new Map<string, Running>();
  private readonly finished: ScenarioResult[] = [];

  readonly onMessage = (envelope: Envelope): void => {
    if (envelope.pickle) this.pickles.set(envelope.pickle.id, envelope.pickle);
    if (envelope.testCase) this.pickleOfTestCase.set(envelope.testCase.id, envelope.testCase.pickleId);
    if (envelope.testCaseStarted) {
      const pickle = this.pickles.get(this.pickleOfTestCase.get(envelope.testCaseStarted.testCaseId)!)!;
      this.running.set(envelope.testCaseStarted.id, { pickle, status: 'passed', observations: [] });
    }
    if (envelope.testStepFinished) this.stepFinished(envelope.testStepFinished);
    if (envelope.attachment?.testCaseStartedId) this.attached(envelope.attachment.testCaseStartedId, envelope.attachment);
    if (envelope.testCaseFinished && !envelope.testCaseFinished.willBeRetried) {
      const run = this.running.get(envelope.testCaseFinished.testCaseStartedId);
      if (run) this.finished.push(this.result(run));
    }
  };

  private stepFinished(finished: NonNullable<Envelope['testStepFinished']>): void {
    const run = this.running.get(finished.testCaseStartedId);
    const status = STATUS_OF_STEP[finished.testStepResult.status];
    if (!run || !status || run.status === 'failed') return;
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
    if (attachment.mediaType === OBSERVATION_MEDIA_TYPE) run.observations.push(JSON.parse(attachment.body) as Observation);
    if (attachment.mediaType === LOG_MEDIA_TYPE && attachment.body.startsWith('skipped: ')) {
      run.skipReason = attachment.body.slice('skipped: '.length);
    }
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
      status: run.status,
      ...(run.status === 'failed' ? { message: run.message } : {}),
      ...(run.status === 'skipped' ? { message: run.skipReason ?? 'skipped' } : {}),
      observations: run.observations,
    };
  }

  results(): ScenarioResult[] {
    return [...this.finished];
  }
}
