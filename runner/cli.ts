// npm run conformance [-- flags]: every rule against the embedded reference broker, or against a
// remote endpoint given by --target, --ca and --identities.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import parseTagExpression from '@cucumber/tag-expressions';
import { ensureWritableDir, EXIT_USAGE, isEntryPoint, redisUrlFlag, runCommand, wholeNumberFlag, type Command } from '../common/cli.ts';
import { UserError } from '../common/errors.ts';
import { findRule, type RuleId } from '../rules/catalogue.ts';
import { TRANSPORTS, type Transport } from '../rules/transports.ts';
import { consoleReport, writeReports } from '../report/outputs.ts';
import { RunProgress } from '../report/progress.ts';
import type { ScenarioResult } from '../report/scenarios.ts';
import { ruleVerdicts, totals } from '../report/verdicts.ts';
import { mergedSpread } from '../report/instance-spread.ts';
import type { ScenarioRunner } from './run.ts';
import { checkTarget } from './preflight.ts';
import { applyProbe, probeTarget } from './probe.ts';
import { MQTT_FLAG, MQTT_USAGE, parseMqttFlag, remoteTargetFromFlags, TARGET_FLAGS, TARGET_USAGE } from './target-flags.ts';
import { remoteTarget, startEmbeddedTarget, type BrokenRule, type PreparedTarget } from './target.ts';
import { cucumberPage, embeddedRuns } from './scenario-runs.ts';

const USAGE = `usage: mqtt-multisession-conformance run [options]
  (no target)              run against the embedded reference broker
${TARGET_USAGE}
  --rules S6,S7            only these rules
${MQTT_USAGE}
  --transport T            against the embedded reference: tcp (MQTT over TLS), wss (MQTT over
                           WebSockets) or both (default); a remote target's is its URL's
  --tags EXPR              a further cucumber tag expression
  --report-dir DIR         where rules.json, junit.xml, summary.md, report.html, cucumber.html go (default reports/)
  --break MUTANTS          test only: the embedded reference breaks rules on purpose (a rule id, or
                           a further mutant such as A3.any-field)
  --redis URL              against the embedded reference: keep its namespaces in this Redis
                           (redis://HOST:PORT[/DB]; they take databases DB to DB+13, which the run
                           writes into) and serve each with --instances instances
  --instances N            with --redis: N instances of each namespace (default 2); each scenario's
                           connections go to them in turn, so every rule is judged across instances
  --strict-codes           a refusal (CONNACK, SUBACK, PUBACK, DISCONNECT) must carry the code the project
                           infers, not only the documented outcome (inferred codes are otherwise recorded,
                           and lenient passes marked)
  (with no target, --identities names the PKI the embedded broker uses, default pki/)`;

/**
 * Scenarios an embedded run overlaps (runner/scenario-lanes.ts; steps/scheduling.ts keeps apart those
 * that must not), so that waits for expiry and Keep Alive overlap other work; MMC_CONCURRENCY
 * overrides it, 1 runs each transport's one after another. A remote run stays one scenario at a time: its pacing
 * and session limit are the namespace's. Measured in docs/performance.md.
 */
const DEFAULT_EMBEDDED_CONCURRENCY = 32;
const MAX_CONCURRENCY = 32;

function embeddedConcurrency(): number {
  const text = process.env.MMC_CONCURRENCY;
  if (text === undefined || text === '') return DEFAULT_EMBEDDED_CONCURRENCY;
  const concurrency = Number(text);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
    throw new UserError(`MMC_CONCURRENCY is "${text}": give the number of scenarios to run at once, 1 (one after another) to ${MAX_CONCURRENCY}`);
  }
  return concurrency;
}

/** --transport: which transports of the embedded reference a run goes over (default both). */
function parseTransportFlag(text: string | undefined): Transport[] {
  if (text === undefined || text === 'both') return [...TRANSPORTS];
  if ((TRANSPORTS as readonly string[]).includes(text)) return [text as Transport];
  throw new UserError(`--transport must be tcp, wss or both, not "${text}"`);
}

function parseRules(text: string | undefined, flag: string): RuleId[] {
  if (!text) return [];
  const ids = text.split(',').map((id) => id.trim().toUpperCase()).filter(Boolean);
  const unknown = ids.filter((id) => !findRule(id));
  if (unknown.length) throw new UserError(`${flag}: no rule ${unknown.join(', ')} in the catalogue`);
  // Only untestable rules selected: no scenario would run; say why here rather than after a run of nothing.
  const untestable = ids.map((id) => findRule(id)!).filter((rule) => rule.untestable);
  if (untestable.length === ids.length) {
    throw new UserError(`${flag}: ${untestable.map((rule) => `${rule.id} cannot be observed from a client (${rule.untestable})`).join('; ')}: no scenario tests it`);
  }
  return ids as RuleId[];
}

/**
 * --break: mutant ids (a rule id, or "A3.any-field"), in any letter case. The reference's modules load
 * only here: a run without --break has its broker in a thread of its own (runner/embedded-brokers.ts).
 */
async function parseMutants(text: string | undefined): Promise<BrokenRule[]> {
  if (!text) return [];
  const { MUTANTS } = await import('../reference/policy/mutants.ts');
  const byLowerCase = new Map([...MUTANTS.keys()].map((id) => [id.toLowerCase(), id]));
  const ids = text.split(',').map((id) => id.trim()).filter(Boolean);
  const unknown = ids.filter((id) => !byLowerCase.has(id.toLowerCase()));
  if (unknown.length) throw new UserError(`--break: the reference has no mutant ${unknown.join(', ')} (it has ${[...MUTANTS.keys()].join(', ')})`);
  return ids.map((text) => {
    const id = byLowerCase.get(text.toLowerCase())!;
    return { id, breaks: MUTANTS.get(id)!.breaks };
  });
}

/** Instances of each namespace when --redis gives none: the least that judges rules across instances. */
const DEFAULT_INSTANCES = 2;
const MAX_INSTANCES = 8;

/** --redis and --instances: the embedded namespaces kept in Redis and served by several instances, or undefined. */
function sharedNamespaceFlags(values: { redis?: string; instances?: string }, remote: boolean): { url: string; instances: number } | undefined {
  if (values.redis === undefined) {
    if (values.instances !== undefined) throw new UserError('--instances N needs --redis URL: the instances of a namespace share it through Redis');
    return undefined;
  }
  if (remote) throw new UserError('--redis applies to the embedded reference broker only: list a remote namespace\'s endpoints in a target file ("url": [...])');
  const url = redisUrlFlag(values.redis);
  const instances = values.instances === undefined ? DEFAULT_INSTANCES : wholeNumberFlag(values.instances, '--instances', 1, MAX_INSTANCES);
  return { url, instances };
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      ...TARGET_FLAGS,
      rules: { type: 'string' },
      ...MQTT_FLAG,
      transport: { type: 'string' },
      tags: { type: 'string' },
      'report-dir': { type: 'string', default: 'reports' },
      break: { type: 'string' },
      'strict-codes': { type: 'boolean', default: false },
      redis: { type: 'string' },
      instances: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return console.log(USAGE);
  const versions = parseMqttFlag(values.mqtt);
  if (values.tags) {
    try {
      parseTagExpression(values.tags);
    } catch (error) {
      throw new UserError(`--tags "${values.tags}" is not a tag expression: ${(error as Error).message}`);
    }
  }
  const rules = parseRules(values.rules, '--rules');
  const broken = await parseMutants(values.break);

  const mqtt = values.mqtt as '3.1.1' | '5' | 'both';
  const reportDir = values['report-dir'];
  ensureWritableDir(reportDir, '--report-dir');

  const remote = remoteTargetFromFlags(values);
  const concurrency = remote ? 1 : embeddedConcurrency();
  if (remote && broken.length) throw new UserError('--break applies to the embedded reference broker only');
  if (remote && values.transport) throw new UserError(`--transport applies to the embedded reference broker only: a remote target's transport is its URL's (mqtts:// or wss://)`);
  // An embedded run's scenarios go in two threads at once, this one and one of their own: a transport
  // each, or one transport's in two parts (runner/scenario-runs.ts). A remote run's go in this thread.
  const runs = remote ? undefined : embeddedRuns(parseTransportFlag(values.transport), concurrency);
  const redis = sharedNamespaceFlags(values, remote !== undefined);
  // An embedded broker starts first, in a thread of its own; cucumber and the step modules load
  // meanwhile (run.ts is imported here, not above, so that they do not hold up the broker's start).
  const embedded = runs && startEmbeddedTarget({ pkiDir: values.identities, brokenRules: broken, concurrency, runs: runs.map(({ transport }) => transport), ...(redis ? { redis } : {}), log: (line) => console.log(line) });
  // Both are awaited below; a failure must not surface first as an unhandled rejection.
  embedded?.catch(() => {});
  // cucumber's own page, one per run: cucumber.html, then cucumber-wss.html or cucumber-tcp-2.html.
  const cucumberPages = runs ? runs.map((_, index) => join(reportDir, cucumberPage(runs, index))) : [join(reportDir, 'cucumber.html')];
  // The step modules load now, while the target starts.
  const prepare = {
    selection: { rules, mqtt, tags: values.tags },
    // Progress is a line per scenario from the collector; cucumber writes only the HTML report.
    formats: [`html:${cucumberPages[0]}`],
  };
  const runners: ScenarioRunner[] = [];
  if (runs) {
    const [first, ...others] = runs.map(({ shard }, index) => ({ prepare: { ...prepare, ...(shard ? { shard } : {}) }, ...(index > 0 ? { htmlReport: cucumberPages[index]! } : {}) }));
    // The threads start first: this thread's run loads cucumber (run.ts) before it can start them.
    const { startScenarioThread } = await import('./scenario-thread.ts');
    const threads = others.map(startScenarioThread);
    runners.push((await import('./run.ts')).inProcess(first!), ...threads);
  } else runners.push((await import('./run.ts')).inProcess({ prepare }));
  let target: PreparedTarget;
  try {
    if (remote) {
      target = remoteTarget(remote);
      for (const warning of target.warnings) console.log(warning);
    } else {
      target = await embedded!.catch((error: Error) => {
        // The brokers' threads say so when Redis cannot be reached (shared-namespace.ts).
        if (redis && error.message.startsWith('cannot reach Redis')) throw new UserError(`--redis: ${error.message}`);
        throw error;
      });
    }
    try {
      await judge(target);
    } finally {
      await target.stop();
    }
  } finally {
    await Promise.all(runners.map((runner) => runner.stop()));
    // A step that timed out can leave a connection attempt of its client open, which would keep the
    // process alive after its reports (seen against a remote namespace): the run is over, so it ends.
    setTimeout(() => process.exit(), LINGER_BEFORE_EXIT_MS).unref();
  }

  async function judge(target: PreparedTarget): Promise<void> {
    if (remote) {
      console.log(`probing ${target.parameters.url}`);
      const probe = await probeTarget(target.parameters, { versions, log: (line) => console.log(`  ${line}`) });
      target.parameters = applyProbe(target.parameters, remote, probe, (line) => console.log(`  ${line}`));
    } else {
      await checkTarget(target.parameters);
    }
    target.parameters = { ...target.parameters, strictCodes: values['strict-codes'] };
    console.log(`conformance run against the ${target.description}${values['strict-codes'] ? ' (--strict-codes: inferred refusal codes are binding)' : ''}`);
    const startedAt = new Date();
    const started = performance.now();
    // Every scenario over each transport, the runs at once (each on namespaces of its own:
    // runner/embedded-brokers.ts): a verdict per rule, version, method and transport.
    // A line redrawn in place on a terminal, a line per rule and version elsewhere (report/progress.ts).
    // Once a run has failed, the others' results are no longer shown (this thread's run cannot be stopped).
    const results: ScenarioResult[][] = target.runs.map(() => []);
    const progress = new RunProgress(process.stdout, process.stdout.isTTY === true, target.runs.length);
    let ended: Awaited<ReturnType<ScenarioRunner['run']>>[];
    try {
      ended = await Promise.all(
        target.runs.map((transport, index) =>
          runners[index]!.run(target.over(index, target.parameters), concurrency, {
            transport,
            onPlanned: progress.onPlanned,
            onResult: (result) => {
              results[index]!.push(result);
              progress.onResult(result);
            },
          }),
        ),
      );
    } finally {
      progress.end();
    }
    const scenarios = results.flat();
    const verdicts = ruleVerdicts(scenarios, { rules, versions, transports: target.transports });
    const spread = ended.map((run) => run.spread).reduce(mergedSpread, undefined);
    const report = { target: target.description, startedAt: startedAt.toISOString(), durationMs: performance.now() - started, verdicts, scenarios, ...(spread ? { spread } : {}) };
    const files = writeReports(reportDir, report);
    console.log(`\n${consoleReport(report, process.stdout.isTTY === true)}`);
    console.log(`reports: ${[...files, ...cucumberPages].join(', ')}`);
    const { passed, failed } = totals(verdicts);
    if (failed > 0) process.exitCode = 1;
    else if (passed === 0) {
      console.error('error: no scenario ran: check --rules, --mqtt and --tags, and the skip reasons above');
      process.exitCode = EXIT_USAGE;
    }
  }
}

/** How long a finished run waits for what its scenarios left open to close by itself. */
const LINGER_BEFORE_EXIT_MS = 2000;

export const command: Command = { usage: USAGE, main };

// `npm run conformance` and the tests start this module directly; the tool reaches it through runner/main.ts.
if (isEntryPoint(import.meta.url)) await runCommand(command, process.argv.slice(2));
