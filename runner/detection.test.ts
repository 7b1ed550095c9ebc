// The suite against faulty brokers built for it (testkit/faulty-brokers.ts), not mutants of the
// reference: plain aedes with an Event Grid-like gate and one fault each, as the target and as the
// second namespace, which names a client with no Username by its certificate. Each is run beside the
// same brokers without their fault; the scenarios that fail only with the fault must belong to the rule
// it breaks, over both versions (S6 and S7 for an ownership check skipped on Clean Start 1 or with no
// Username: active and held sessions alike), and the test lists per broker which rules caught it.
// Bounded: --rules picks the rules each fault is about, a few seconds a run.
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { loadPki } from '../certs/manifest.ts';
import { temporaryDir } from '../common/test-support.ts';
import { runConformance } from '../testkit/conformance-run.ts';
import { FAULTS, startFaultyBroker, type Fault } from '../testkit/faulty-brokers.ts';

const CASES: { fault: Fault; rules: string; breaks: string[] }[] = [
  { fault: 'clean-start-skips-ownership', rules: 'S5,S6,S7', breaks: ['S6', 'S7'] },
  { fault: 'prefix-name-match', rules: 'A3', breaks: ['A3'] },
  { fault: 'ownership-by-username-as-sent', rules: 'A4,S8', breaks: ['A4'] },
  { fault: 'no-username-skips-ownership', rules: 'S5,S6,S7', breaks: ['S6', 'S7'] },
];

async function failedScenarios(fault: Fault | undefined, rules: string) {
  const pki = loadPki(inject('pkiDir'));
  const [broker, alternativeNames] = await Promise.all([startFaultyBroker(pki, fault), startFaultyBroker(pki, fault, true)]);
  try {
    const run = await runConformance(temporaryDir(), [
      '--target', broker.url, '--alternative-names-target', alternativeNames.url, '--ca', join(pki.dir, pki.manifest.ca.root.certificate), '--identities', pki.dir,
      '--no-pace', '--session-limit', '2', '--rules', rules,
    ]);
    expect(run.scenarios, run.stderr).toBeDefined();
    return run.scenarios!.filter((scenario) => scenario.status === 'failed');
  } finally {
    await Promise.all([broker.stop(), alternativeNames.stop()]);
  }
}

describe.concurrent('the suite against faulty brokers', () => {
  it.each(CASES)('catches a broker that $fault', async ({ fault, rules, breaks }) => {
    const [faulty, control] = await Promise.all([failedScenarios(fault, rules), failedScenarios(undefined, rules)]);
    const key = (scenario: { name: string; version?: string }) => `${scenario.version} ${scenario.name}`;
    const controlFailures = new Set(control.map(key));
    const caught = faulty.filter((scenario) => !controlFailures.has(key(scenario)));
    const byRule = new Map<string, Set<string>>();
    for (const scenario of caught) for (const rule of scenario.rules) byRule.set(rule, (byRule.get(rule) ?? new Set<string>()).add(scenario.version ?? '?'));
    console.log(`faulty broker "${fault}" (${FAULTS[fault]}): caught by ${[...byRule].map(([rule, versions]) => `${rule} (MQTT ${[...versions].sort().join(', ')})`).join(', ') || 'nothing'}`);
    for (const rule of breaks) expect([...(byRule.get(rule) ?? [])].sort(), `${rule} catches it over both versions`).toEqual(['3.1.1', '5']);
  }, 240_000);
});
