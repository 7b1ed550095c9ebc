// One conformance run: the Gherkin scenarios against a prepared target, through cucumber's API.
import { readdirSync } from 'node:fs';
import { Writable } from 'node:stream';
import type { Envelope } from '@cucumber/messages';
import { join } from 'node:path';
import { loadConfiguration, loadSupport, runCucumber, type IRunConfiguration, type ISupportCodeLibrary } from '@cucumber/cucumber/api';
import { FEATURES_DIR, MODULE_EXTENSION, MODULE_ROOT } from '../common/package.ts';
import { ruleTag, versionTag } from '../rules/tags.ts';
import { startRank } from '../steps/scheduling.ts';
import type { TargetParameters } from '../steps/target.ts';
import { useLanes } from './scenario-lanes.ts';
import { useNativeMatchIndices } from './step-matching.ts';
import type { InstanceSpreadSummary } from '../report/instance-spread.ts';
import { ScenarioCollector, type PlannedScenario, type ScenarioResult } from '../report/scenarios.ts';
import type { Transport } from '../rules/transports.ts';
import { instanceTally } from '../steps/instance-tally.ts';

export interface Selection {
  /** Rule ids to run; empty: all. */
  rules?: string[];
  mqtt?: '3.1.1' | '5' | 'both';
  /** A further cucumber tag expression. */
  tags?: string;
}

function tagExpression(selection: Selection): string | undefined {
  const parts: string[] = [];
  if (selection.mqtt && selection.mqtt !== 'both') parts.push(versionTag(selection.mqtt));
  if (selection.rules?.length) parts.push(`(${selection.rules.map(ruleTag).join(' or ')})`);
  if (selection.tags) parts.push(`(${selection.tags})`);
  return parts.length ? parts.join(' and ') : undefined;
}

/** What a run needs before its target is known: the configuration, and the step modules loaded. */
export interface PreparedScenarios {
  configuration: IRunConfiguration;
  support: ISupportCodeLibrary;
}

export interface PrepareOptions {
  selection?: Selection;
  /** cucumber formats, e.g. 'progress' or 'html:reports/cucumber.html'. */
  formats?: string[];
  /** Only this part of the selected scenarios, as cucumber's `<index>/<total>` (runner/scenario-runs.ts). */
  shard?: string;
}

export interface RunOptions {
  target: TargetParameters;
  onMessage?: (envelope: Envelope) => void;
  /** Discard what cucumber writes to stdout (its default progress dots): the caller shows progress. */
  quiet?: boolean;
  /**
   * Scenarios at once, in this process (runner/scenario-lanes.ts; 1, the default: one after another).
   * steps/scheduling.ts keeps apart the scenarios that must not overlap.
   */
  concurrency?: number;
  /** Where cucumber's HTML page goes instead of the path the configuration names (a second run's own page). */
  htmlReport?: string;
}

const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
/** cucumber takes glob patterns: forward slashes on every platform. */
const pattern = (...parts: string[]) => join(...parts).replaceAll('\\', '/');

/** The package's features, by name. */
function featurePaths(): string[] {
  return readdirSync(FEATURES_DIR).filter((name) => name.endsWith('.feature')).sort().map((name) => pattern(FEATURES_DIR, name));
}

/**
 * Loads the configuration and the step modules, which takes a second of its own: a run does it while
 * its target starts.
 */
export async function prepareScenarios(options: PrepareOptions): Promise<PreparedScenarios> {
  useNativeMatchIndices();
  // The package's own features and step modules (dist/steps/*.js when installed, steps/*.ts under
  // tsx), wherever the user runs from; cucumber reports their paths relative to the cwd.
  const steps = join(MODULE_ROOT, 'steps');
  const { runConfiguration } = await loadConfiguration({
    file: false,
    provided: {
      paths: featurePaths(),
      import: [`world${MODULE_EXTENSION}`, `hooks${MODULE_EXTENSION}`, `*.steps${MODULE_EXTENSION}`].map((file) => pattern(steps, file)),
      tags: tagExpression(options.selection ?? {}) ?? '',
      format: options.formats ?? ['progress'],
      ...(options.shard ? { shard: options.shard } : {}),
    },
  });
  return { configuration: runConfiguration, support: await loadSupport(runConfiguration) };
}

export async function runScenarios(prepared: PreparedScenarios, options: RunOptions): Promise<boolean> {
  const { configuration, support } = prepared;
  useLanes(options.concurrency ?? 1, startRank);
  const formats = options.htmlReport ? { ...configuration.formats, files: { [options.htmlReport]: 'html' } } : configuration.formats;
  const { success } = await runCucumber(
    { ...configuration, formats, support, runtime: { ...configuration.runtime, worldParameters: { ...options.target } } },
    options.quiet ? { stdout: discard } : undefined,
    options.onMessage,
  );
  return success;
}

/** What one run of scenarios gives (a transport's, or a half of one): whether every scenario passed, and how its connections spread over instances. */
export interface TransportRun {
  passed: boolean;
  spread?: InstanceSpreadSummary;
}

/** What a runner tells of its run as it goes: the scenarios it will start, once, then each one's result. */
export interface ScenarioEvents {
  /** What carries the run's connections, for its results. */
  transport: Transport;
  onPlanned(plan: PlannedScenario[]): void;
  onResult(result: ScenarioResult): void;
}

/**
 * Runs one transport's scenarios, or a part of them: in this thread, or in one of their own
 * (runner/scenario-thread.ts).
 * Either way cucumber's messages are read into results where they arise: a thread hands over a result
 * per scenario, not the twenty-odd messages it is read from.
 */
export interface ScenarioRunner {
  run(target: TargetParameters, concurrency: number, events: ScenarioEvents): Promise<TransportRun>;
  stop(): Promise<void>;
}

/** What a runner runs, and where its cucumber page goes instead of the configuration's (a second run's own page). */
export interface ScenarioRunnerOptions {
  prepare: PrepareOptions;
  htmlReport?: string;
}

/** A runner in this thread: it starts loading the step modules at once. */
export function inProcess(options: ScenarioRunnerOptions): ScenarioRunner {
  const prepared = prepareScenarios(options.prepare);
  prepared.catch(() => {});
  return {
    async run(target, concurrency, { transport, onPlanned, onResult }) {
      const { onMessage } = new ScenarioCollector(onResult, transport, onPlanned);
      const passed = await runScenarios(await prepared, { target, quiet: true, concurrency, onMessage, ...(options.htmlReport ? { htmlReport: options.htmlReport } : {}) });
      const spread = instanceTally.summary();
      return { passed, ...(spread ? { spread } : {}) };
    },
    stop: async () => {},
  };
}
