// The suite against a namespace of several instances: `npm run conformance -- --redis URL --instances 2`
// (the embedded namespaces kept in a Redis of the test's own, each served by two instances) and a target
// file listing the endpoints of two reference brokers sharing one Redis. Each scenario's connections
// take the instances in turn, so the multi-session rules are judged across them; the report says how.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadPki, serverTlsFromPki } from '../certs/manifest.ts';
import { temporaryDir } from '../common/test-support.ts';
import { maximumSessionExpirySeconds } from '../eventgrid/namespace.ts';
import type { InstanceSpreadSummary } from '../report/instance-spread.ts';
import { startReferenceBroker, type ReferenceBroker } from '../reference/broker.ts';
import { runConformance } from '../testkit/conformance-run.ts';
import { redisSkipNotice, REDIS_AVAILABLE, startRedis, type TestRedis } from '../testkit/redis-server.ts';
import { referenceNamespaces } from './embedded-brokers.ts';

redisSkipNotice('runner/cluster.test.ts');

/**
 * The multi-session rules, the offline queue's, the shared subscriptions' and a client changed while
 * connected (A7, P5: changed through the instance that does not hold its connection): those whose state
 * the instances share.
 */
const RULES = 'S5,S6,S8,S9,L2,L8,M3,A7,P5';

let redis: TestRedis | undefined;
beforeAll(async () => {
  if (REDIS_AVAILABLE) redis = await startRedis();
});
afterAll(() => redis?.stop());

function spreadOf(reportDir: string): InstanceSpreadSummary {
  return (JSON.parse(readFileSync(join(reportDir, 'rules.json'), 'utf8')) as { spread: InstanceSpreadSummary }).spread;
}

describe.skipIf(!REDIS_AVAILABLE)('the suite across instances', () => {
  it(`--redis URL --instances 2 judges ${RULES} across two instances of each namespace, and passes`, async () => {
    const reportDir = join(temporaryDir(), 'reports');
    const run = await runConformance(reportDir, ['--identities', inject('pkiDir'), '--redis', redis!.url, '--instances', '2', '--transport', 'tcp', '--rules', RULES]);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('2 instances of each namespace');
    expect(run.stdout).toMatch(/connections spread over \d+ instances/);
    const spread = spreadOf(reportDir);
    // The main namespace's two instances each took connections, and every rule had a scenario across them.
    const main = spread.endpoints.slice(0, 2);
    for (const endpoint of main) expect(endpoint.connections).toBeGreaterThan(10);
    expect(spread.rulesAcross).toEqual(expect.arrayContaining(RULES.split(',')));
    expect(run.rules!.filter((rule) => rule.status !== 'passed' && rule.status !== 'not run')).toEqual([]);
  }, 240_000);

  it('fails A7 and P5 across instances against a reference that keeps the connections of a changed client', async () => {
    const run = await runConformance(join(temporaryDir(), 'reports'), ['--identities', inject('pkiDir'), '--redis', redis!.url, '--instances', '2', '--transport', 'tcp', '--rules', 'A7,P5', '--break', 'A7,P5', '--mqtt', '5']);
    expect(run.exitCode, run.stdout + run.stderr).toBe(1);
    // MQTT 5 only: each scenario waits out its client timeout for an end that does not come (runner/mutants.test.ts runs both versions).
    const failed = new Set(run.rules!.filter((rule) => rule.status === 'failed').map((rule) => `${rule.id} ${rule.version}`));
    expect(failed).toEqual(new Set(['A7 5', 'P5 5']));
  }, 240_000);

  it('takes a target file listing two endpoints of one namespace, and spreads each scenario over them', async () => {
    const dir = temporaryDir();
    const pki = loadPki(inject('pkiDir'));
    const namespace = referenceNamespaces(pki).main;
    const brokers: ReferenceBroker[] = [];
    try {
      for (let i = 0; i < 2; i += 1) brokers.push(await startReferenceBroker({ namespace, tls: serverTlsFromPki(pki), wsPort: null, redis: { url: `${redis!.url}/5` } }));
      const targetFile = join(dir, 'target.json');
      writeFileSync(targetFile, JSON.stringify({ url: brokers.map((broker) => broker.url), ca: join(pki.dir, pki.manifest.ca.root.certificate), identities: pki.dir, pace: false, namespace: { maximumClientSessionsPerAuthenticationName: 2 } }));
      const run = await runConformance(join(dir, 'reports'), ['--target-file', targetFile, '--max-session-expiry', String(maximumSessionExpirySeconds(namespace)), '--rules', 'S6,S8', '--mqtt', '5']);
      expect(run.exitCode, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toContain('2 endpoints of one namespace');
      const spread = spreadOf(join(dir, 'reports'));
      expect(spread.endpoints.map((endpoint) => endpoint.url).sort()).toEqual(brokers.map((broker) => broker.url).sort());
      expect(spread.rulesAcross).toEqual(expect.arrayContaining(['S6', 'S8']));
    } finally {
      await Promise.all(brokers.map((broker) => broker.stop()));
    }
  }, 240_000);
});
