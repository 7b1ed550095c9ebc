// npm run conformance [-- flags]: every rule against the embedded reference broker, or against a
// remote endpoint given by --target, --ca and --identities.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EXIT_USAGE, runCli, UserError } from '../common/cli.ts';
import { findRule, MQTT_VERSIONS, type MqttVersion, type RuleId } from '../rules/catalogue.ts';
import { BREAKABLE_RULES } from '../reference/rule-breaks.ts';
import { consoleReport, writeReports } from '../report/outputs.ts';
import { ScenarioCollector } from '../report/scenarios.ts';
import { ruleVerdicts, totals } from '../report/verdicts.ts';
import { checkTarget } from './preflight.ts';
import { runScenarios } from './run.ts';
import { remoteTarget, startEmbeddedTarget, type PreparedTarget } from './target.ts';

const USAGE = `usage: npm run conformance [-- options]
  (no target)              run against the embedded reference broker
  --target URL             an MQTT endpoint, mqtts://HOST:PORT          (env MMC_TARGET)
  --ca FILE                CA that signed the endpoint's certificate    (env MMC_CA)
  --identities DIR         PKI folder whose identities are registered   (env MMC_IDENTITIES;
                           with no --target: the PKI the embedded broker uses, made if missing,
                           default pki/)
  --alternative-names-target URL
                           a second namespace, same CA and identities, that reads names from the
                           DNS name then the subject: for the A5 scenarios
  --session-limit N        the namespace's sessions per authentication name (default 1)
  --max-session-expiry S   the namespace's maximum session expiry, seconds (default 3600)
  --rules S6,S7            only these rules
  --mqtt 3.1.1|5|both      only these MQTT versions (default both)
  --tags EXPR              a further cucumber tag expression
  --include-slow           also run @slow scenarios against a remote target
  --report-dir DIR         where rules.json, junit.xml, summary.md, cucumber.html go (default reports/)
  --no-pace                do not pace connection attempts (only for a broker you run yourself)
  --break RULES            test only: the embedded reference breaks these rules on purpose`;

function parseRules(text: string | undefined, flag: string): RuleId[] {
  if (!text) return [];
  const ids = text.split(',').map((id) => id.trim().toUpperCase()).filter(Boolean);
  const unknown = ids.filter((id) => !findRule(id));
  if (unknown.length) throw new UserError(`${flag}: no rule ${unknown.join(', ')} in the catalogue`);
  return ids as RuleId[];
}

function parseCount(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UserError(`${flag} must be a whole number of 1 or more, not "${text}"`);
  return value;
}

await runCli(USAGE, async () => {
  const { values } = parseArgs({
    options: {
      target: { type: 'string', default: process.env.MMC_TARGET },
      ca: { type: 'string', default: process.env.MMC_CA },
      identities: { type: 'string', default: process.env.MMC_IDENTITIES },
      'alternative-names-target': { type: 'string' },
      'session-limit': { type: 'string' },
      'max-session-expiry': { type: 'string' },
      rules: { type: 'string' },
      mqtt: { type: 'string', default: 'both' },
      tags: { type: 'string' },
      'include-slow': { type: 'boolean', default: false },
      'report-dir': { type: 'string', default: 'reports' },
      'no-pace': { type: 'boolean', default: false },
      break: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return console.log(USAGE);
  if (!['3.1.1', '5', 'both'].includes(values.mqtt)) throw new UserError(`--mqtt takes 3.1.1, 5 or both, not "${values.mqtt}"`);
  const rules = parseRules(values.rules, '--rules');
  const broken = parseRules(values.break, '--break');
  const unbreakable = broken.filter((id) => !BREAKABLE_RULES.includes(id));
  if (unbreakable.length) throw new UserError(`--break: the reference has no mutant for ${unbreakable.join(', ')} (it has ${BREAKABLE_RULES.join(', ')})`);

  let target: PreparedTarget;
  if (values.target) {
    if (!values.ca || !values.identities) throw new UserError('--target needs --ca FILE and --identities DIR too');
    if (broken.length) throw new UserError('--break applies to the embedded reference broker only');
    target = remoteTarget({
      url: values.target,
      caFile: values.ca,
      identitiesDir: values.identities,
      sessionLimit: parseCount(values['session-limit'], '--session-limit'),
      maxSessionExpirySeconds: parseCount(values['max-session-expiry'], '--max-session-expiry'),
      includeSlow: values['include-slow'],
      pace: !values['no-pace'],
      alternativeNamesUrl: values['alternative-names-target'],
    });
  } else {
    target = await startEmbeddedTarget({ pkiDir: values.identities, brokenRules: broken, log: (line) => console.log(line) });
  }

  const mqtt = values.mqtt as '3.1.1' | '5' | 'both';
  const versions: readonly MqttVersion[] = mqtt === 'both' ? MQTT_VERSIONS : [mqtt];
  const reportDir = values['report-dir'];
  try {
    await checkTarget(target.parameters);
    console.log(`conformance run against the ${target.description}`);
    const startedAt = new Date();
    const started = performance.now();
    const collector = new ScenarioCollector();
    await runScenarios({
      target: target.parameters,
      selection: { rules, mqtt, tags: values.tags },
      formats: ['progress', `html:${join(reportDir, 'cucumber.html')}`],
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
});
