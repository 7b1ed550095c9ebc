// Every rule scenario can fail: against a reference broker that breaks one rule on purpose, the
// scenarios of exactly that rule fail (or of rules that presuppose it) and the others pass. Each mutant
// runs the scenarios of its rule's feature files and of the rules that presuppose it, the ones that
// share its steps and so could fail with it: a whole run per mutant was most of `npm test`'s time. And
// plain aedes, which knows none of the rules, fails the rules it breaks.
import { once } from 'node:events';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import { Aedes } from 'aedes';
import { describe, expect, inject, it } from 'vitest';
import { loadPki } from '../certs/manifest.ts';
import { temporaryDir } from '../common/test-support.ts';
import { findRule, RULES, type Rule } from '../rules/catalogue.ts';
import { rulesOfTags, ruleTag } from '../rules/tags.ts';
import { TRANSPORTS } from '../rules/transports.ts';
import { MUTANTS } from '../reference/policy/mutants.ts';
import { loadPlannedScenarios } from './feature-pickles.ts';
import { runConformance } from '../testkit/conformance-run.ts';

const RUN_TIMEOUT = 180_000;

/** Rules whose scenarios may fail when `broken` is broken: itself and those that presuppose it, directly or through another. */
function mayFail(broken: string): Set<string> {
  const failing = new Set([broken]);
  for (let grew = true; grew; ) {
    const next = (RULES as readonly Rule[]).filter((rule) => !failing.has(rule.id) && rule.dependsOn?.some((id) => failing.has(id)));
    for (const rule of next) failing.add(rule.id);
    grew = next.length > 0;
  }
  return failing;
}

/** The rules whose scenarios share a feature file with one of `rule`'s. */
function neighbours(rule: string): Set<string> {
  const scenarios = loadPlannedScenarios();
  const files = new Set(scenarios.filter((scenario) => scenario.tags.includes(ruleTag(rule))).map((scenario) => scenario.uri));
  return new Set(scenarios.filter((scenario) => files.has(scenario.uri)).flatMap((scenario) => rulesOfTags(scenario.tags)));
}

describe.concurrent('the suite against each mutant of the reference broker', () => {
  it.each([...MUTANTS.keys()])('breaking %s fails that rule and nothing it does not explain', async (id) => {
    const { rule, alsoRefuses } = MUTANTS.get(id)!;
    const allowed = mayFail(rule);
    const rules = new Set([...allowed, ...neighbours(rule)]);
    // Four lanes a transport: with both transports at once, eight scenarios a run, as many as one
    // transport's eight lanes had; three such runs at once already keep 2 cores busy.
    const run = await runConformance(temporaryDir(), ['--identities', inject('pkiDir'), '--break', id, '--rules', [...rules].join(',')], { ...process.env, MMC_CONCURRENCY: '4' });
    expect(run.scenarios, run.stderr).toBeDefined();
    expect(run.exitCode).toBe(1);
    const failed = run.scenarios!.filter((scenario) => scenario.status === 'failed');
    // Over each version, and over each transport: MQTT over TLS and over WebSockets.
    for (const transport of TRANSPORTS) {
      for (const version of findRule(rule)!.versions) {
        const caught = failed.some((s) => s.version === version && s.transport === transport && s.rules.includes(rule));
        expect(caught, `a ${rule} scenario fails over MQTT ${version} via ${transport}`).toBe(true);
      }
    }
    // A failure is explained by the rules it presupposes, or by a refusal the mutant declares it gives elsewhere too.
    const unexplained = failed.filter((s) => !s.rules.some((id) => allowed.has(id)) && !alsoRefuses?.message.test(s.message ?? ''));
    expect(unexplained.map((s) => `${s.location} ${s.name}: ${s.message}`)).toEqual([]);
  }, RUN_TIMEOUT);
});

describe('the suite against plain aedes', () => {
  it('fails the rules aedes alone does not enforce', async () => {
    const pki = loadPki(inject('pkiDir'));
    const broker = await Aedes.createBroker();
    const server = createServer(
      { cert: pki.read(pki.manifest.server.chain!), key: pki.read(pki.manifest.server.key), requestCert: true, rejectUnauthorized: false },
      (socket) => broker.handle(socket),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    try {
      const run = await runConformance(temporaryDir(), [
        '--target', `mqtts://127.0.0.1:${port}`,
        '--ca', join(pki.dir, pki.manifest.ca.root.certificate),
        '--identities', pki.dir,
        '--session-limit', '2',
        '--max-session-expiry', '1',
        '--include-slow',
        '--no-pace',
      ]);
      expect(run.rules, run.stderr).toBeDefined();
      const statuses = (status: string) => [...new Set(run.rules!.filter((verdict) => verdict.status === status).map((verdict) => verdict.id))];
      // aedes checks no certificate, reads no Username (S1, A4's mirror, L6: any length names anyone), owns
      // no session name, caps nothing and assigns empty ClientIDs; it does keep sessions and hand them
      // over, which is all the passing rules ask. Nor does it enforce Event Grid's limits or MQTT 5's
      // property rules, nor keep a client's Maximum Packet Size and Receive Maximum (L16), and it serves
      // Subscription Identifiers (M2) and User Properties everywhere (M5), keeps retained messages of any size (L18), and refuses shared subscriptions (M3; over 3.1.1 with a SUBACK, not by disconnecting, M6) and Topic Aliases (L17), but it keeps retained messages, gives no Response Information (M4) and closes silent connections. Nor does it
      // authorize anything: any client publishes and subscribes anywhere (P2, P3, and P4, whose second
      // session must be refused another client's topics). And two bugs of its own, over MQTT 5 only (L2
      // and P1 pass over 3.1.1): a session resumed by a CONNECT with no Session Expiry Interval loses its
      // queue (L2), and a will's PUBLISH carries its Will Delay Interval (P1's will scenario). (As in
      // docs/suite-and-reports.md.)
      expect(statuses('failed')).toEqual(['S1', 'S3', 'S4', 'S5', 'S6', 'S7', 'S9', 'L1', 'L2', 'L5', 'L6', 'L7', 'L8', 'L9', 'L10', 'L11', 'L13', 'L15', 'L16', 'L17', 'L18', 'M1', 'M2', 'M3', 'M6', 'M5', 'A1', 'A2', 'A3', 'A4', 'A6', 'P1', 'P2', 'P3', 'P4']);
      expect(statuses('passed')).toEqual(['S2', 'S8', 'L2', 'L3', 'L12', 'L14', 'M4', 'P1']);
    } finally {
      server.close();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    }
  }, RUN_TIMEOUT);
});
