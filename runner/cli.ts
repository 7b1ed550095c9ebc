// npm run conformance [-- flags]: every rule against the embedded reference broker, or against a
// remote endpoint given by --target, --ca and --identities.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import parseTagExpression from '@cucumber/tag-expressions';
import { ensureWritableDir, EXIT_USAGE, isEntryPoint, runCommand, type Command } from '../common/cli.ts';
import { UserError } from '../common/errors.ts';
import { findRule, type RuleId } from '../rules/catalogue.ts';
import { MUTANTS } from '../reference/mutants.ts';
import { consoleReport, progressLine, writeReports } from '../report/outputs.ts';
import { ScenarioCollector } from '../report/scenarios.ts';
import { ruleVerdicts, totals } from '../report/verdicts.ts';
import { checkTarget } from './preflight.ts';
import { applyProbe, probeTarget } from './probe.ts';
import { MQTT_FLAG, MQTT_USAGE, parseMqttFlag, remoteTargetFromFlags, TARGET_FLAGS, TARGET_USAGE } from './target-flags.ts';
import { runScenarios } from './run.ts';
import { remoteTarget, startEmbeddedTarget, type PreparedTarget } from './target.ts';

const USAGE = `usage: mqtt-multisession-conformance run [options]
  (no target)              run against the embedded reference broker
${TARGET_USAGE}
  --rules S6,S7            only these rules
${MQTT_USAGE}
  --tags EXPR              a further cucumber tag expression
  --report-dir DIR         where rules.json, junit.xml, summary.md, cucumber.html go (default reports/)
  --break RULES            test only: the embedded reference breaks these rules on purpose
  (with no target, --identities names the PKI the embedded broker uses, default pki/)`;

function parseRules(text: string | undefined, flag: string): RuleId[] {
  if (!text) return [];
  const ids = text.split(',').map((id) => id.trim().toUpperCase()).filter(Boolean);
  const unknown = ids.filter((id) => !findRule(id));
  if (unknown.length) throw new UserError(`${flag}: no rule ${unknown.join(', ')} in the catalogue`);
  return ids as RuleId[];
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      ...TARGET_FLAGS,
      rules: { type: 'string' },
      ...MQTT_FLAG,
      tags: { type: 'string' },
      'report-dir': { type: 'string', default: 'reports' },
      break: { type: 'string' },
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
  const broken = parseRules(values.break, '--break');
  const unbreakable = broken.filter((id) => !MUTANTS.has(id));
  if (unbreakable.length) throw new UserError(`--break: the reference has no mutant for ${unbreakable.join(', ')} (it has ${[...MUTANTS.keys()].join(', ')})`);

  const mqtt = values.mqtt as '3.1.1' | '5' | 'both';
  const reportDir = values['report-dir'];
  ensureWritableDir(reportDir, '--report-dir');

  let target: PreparedTarget;
  const remote = remoteTargetFromFlags(values);
  if (remote) {
    if (broken.length) throw new UserError('--break applies to the embedded reference broker only');
    target = remoteTarget(remote);
    for (const warning of target.warnings) console.log(warning);
  } else {
    target = await startEmbeddedTarget({ pkiDir: values.identities, brokenRules: broken, log: (line) => console.log(line) });
  }

  try {
    if (remote) {
      console.log(`probing ${target.parameters.url}`);
      const probe = await probeTarget(target.parameters, { versions, log: (line) => console.log(`  ${line}`) });
      target.parameters = applyProbe(target.parameters, remote, probe, (line) => console.log(`  ${line}`));
    } else {
      await checkTarget(target.parameters);
    }
    console.log(`conformance run against the ${target.description}`);
    const startedAt = new Date();
    const started = performance.now();
    let finished = 0;
    const collector = new ScenarioCollector((result) => console.log(progressLine(result, (finished += 1))));
    await runScenarios({
      target: target.parameters,
      selection: { rules, mqtt, tags: values.tags },
      // Progress is a line per scenario from the collector; cucumber writes only the HTML report.
      formats: [`html:${join(reportDir, 'cucumber.html')}`],
      quiet: true,
      onMessage: collector.onMessage,
    });
    const scenarios = collector.results();
    const verdicts = ruleVerdicts(scenarios, { rules, versions });
    const report = { target: target.description, startedAt: startedAt.toISOString(), durationMs: performance.now() - started, verdicts, scenarios };
    const files = writeReports(reportDir, report);
    console.log(`\n${consoleReport(report, process.stdout.isTTY === true)}`);
    console.log(`reports: ${[...files, join(reportDir, 'cucumber.html')].join(', ')}`);
    const { passed, failed } = totals(verdicts);
    if (failed > 0) process.exitCode = 1;
    else if (passed === 0) {
      console.error('error: no scenario ran: check --rules, --mqtt and --tags, and the skip reasons above');
      process.exitCode = EXIT_USAGE;
    }
  } finally {
    await target.stop();
  }
}

export const command: Command = { usage: USAGE, main };

// `npm run conformance` and the tests start this module directly; the tool reaches it through runner/main.ts.
if (isEntryPoint(import.meta.url)) await runCommand(command, process.argv.slice(2));
