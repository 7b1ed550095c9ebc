// npm run probe -- <target file | URL> [--ca FILE --identities DIR]: what a run will find at a target,
// and what it will skip because of it.
import { parseArgs } from 'node:util';
import { isEntryPoint, runCommand, type Command } from '../common/cli.ts';
import { UserError } from '../common/errors.ts';
import { rulesOfTags, versionOfTags } from '../rules/tags.ts';
import { missingCapability } from '../steps/target.ts';
import { loadPlannedScenarios } from './feature-pickles.ts';
import { applyProbe, probeTarget } from './probe.ts';
import { remoteTarget } from './target.ts';
import { MQTT_FLAG, MQTT_USAGE, parseMqttFlag, remoteTargetFromFlags, TARGET_FLAGS, TARGET_USAGE } from './target-flags.ts';

const USAGE = `usage: mqtt-multisession-conformance probe TARGET [options]
  TARGET                   a target file (JSON), or an mqtts:// or wss:// URL with --ca and --identities
  --identity ID            the identity to connect with (default: the first client of the PKI)
${MQTT_USAGE}
${TARGET_USAGE}`;

/** Rule and version pairs the run would skip against these parameters, with the reasons. */
function plannedSkips(parameters: Parameters<typeof missingCapability>[1]): string[] {
  const skips = new Map<string, Set<string>>();
  for (const scenario of loadPlannedScenarios()) {
    const reason = scenario.tags.map((tag) => missingCapability(tag, parameters)).find(Boolean);
    if (!reason) continue;
    const version = versionOfTags(scenario.tags);
    const rules = rulesOfTags(scenario.tags);
    if (!skips.has(reason)) skips.set(reason, new Set());
    for (const rule of rules) skips.get(reason)!.add(`${rule} (MQTT ${version})`);
  }
  return [...skips].map(([reason, pairs]) => `${[...pairs].join(', ')}: ${reason}`);
}

async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...TARGET_FLAGS, ...MQTT_FLAG, identity: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return console.log(USAGE);
  const [given] = positionals;
  if (positionals.length > 1) throw new UserError(`one target at a time, not ${positionals.join(' ')}`);
  const flags = given?.includes('://') ? { ...values, target: given } : { ...values, 'target-file': given ?? values['target-file'] };
  const options = remoteTargetFromFlags(flags);
  if (!options) throw new UserError('name a target: a target file, or an mqtts:// or wss:// URL with --ca and --identities');
  const target = remoteTarget(options);
  for (const warning of target.warnings) console.log(warning);

  console.log(`probing ${target.parameters.url}`);
  const probe = await probeTarget(target.parameters, { identityId: values.identity, versions: parseMqttFlag(values.mqtt), log: (line) => console.log(`  ${line}`) });
  const parameters = applyProbe(target.parameters, options, probe, (line) => console.log(`  ${line}`));
  const skips = plannedSkips(parameters);
  console.log(skips.length ? 'a conformance run will skip:' : 'a conformance run will skip nothing');
  for (const line of skips) console.log(`  ${line}`);
}

export const command: Command = { usage: USAGE, main };

// `npm run probe` and the tests start this module directly; the tool reaches it through runner/main.ts.
if (isEntryPoint(import.meta.url)) await runCommand(command, process.argv.slice(2));
