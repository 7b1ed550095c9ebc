// Verdicts from recorded message streams: what cucumber sends for passing, failing, skipped and
// unselected scenarios, reduced to one verdict a rule and version.
import type { Envelope } from '@cucumber/messages';
import { describe, expect, it } from 'vitest';
import { closingLine, consoleReport, junitReport, markdownSummary, rulesJson, type RunReport } from './outputs.ts';
import { formatObservation, parseObservation, ScenarioCollector } from './scenarios.ts';
import { ruleVerdicts, totals } from './verdicts.ts';
import type { Transport } from '../rules/transports.ts';

type StepStatus = 'PASSED' | 'FAILED' | 'SKIPPED' | 'UNDEFINED';

interface RecordedScenario {
  name: string;
  tags: string[];
  steps: StepStatus[];
  failure?: string;
  log?: string;
  observed?: string;
  lenient?: { rules: string[]; inferred: string };
}

/** The envelopes cucumber emits for these scenarios, in its order. */
function record(scenarios: RecordedScenario[]): Envelope[] {
  const envelopes: Envelope[] = [];
  const timestamp = { seconds: 0, nanos: 0 };
  // Every step takes 1.25 s.
  const duration = { seconds: 1, nanos: 250_000_000 };
  scenarios.forEach((scenario, index) => {
    envelopes.push({
      pickle: {
        id: `p${index}`,
        uri: 'features/x.feature',
        location: { line: 10 + index },
        name: scenario.name,
        language: 'en',
        steps: [],
        tags: scenario.tags.map((name) => ({ name, astNodeId: 'a' })),
        astNodeIds: [],
      },
    } as Envelope);
  });
  scenarios.forEach((scenario, index) => {
    envelopes.push({ testCase: { id: `c${index}`, pickleId: `p${index}`, testSteps: [] } } as Envelope);
    envelopes.push({ testCaseStarted: { id: `s${index}`, testCaseId: `c${index}`, attempt: 0, timestamp } });
    if (scenario.log) envelopes.push({ attachment: { testCaseStartedId: `s${index}`, mediaType: 'text/x.cucumber.log+plain', body: scenario.log } } as Envelope);
    if (scenario.observed) {
      const body = formatObservation({ step: 'x', expected: 'y', observed: scenario.observed, ...(scenario.lenient ? { lenient: scenario.lenient } : {}) });
      envelopes.push({ attachment: { testCaseStartedId: `s${index}`, mediaType: 'text/x.cucumber.log+plain', body } } as Envelope);
    }
    scenario.steps.forEach((status, step) => {
      const message = status === 'FAILED' ? `${scenario.failure}\n    at stack` : undefined;
      envelopes.push({
        testStepFinished: { testCaseStartedId: `s${index}`, testStepId: `t${step}`, timestamp, testStepResult: { status, duration, ...(message ? { message } : {}) } },
      } as Envelope);
    });
    envelopes.push({ testCaseFinished: { testCaseStartedId: `s${index}`, timestamp, willBeRetried: false } });
  });
  return envelopes;
}

function verdictsOf(scenarios: RecordedScenario[], options = {}, transport: Transport = 'tcp') {
  const collector = new ScenarioCollector(undefined, transport);
  for (const envelope of record(scenarios)) collector.onMessage(envelope);
  const results = collector.results();
  return { results, verdicts: ruleVerdicts(results, options) };
}

const find = (verdicts: ReturnType<typeof ruleVerdicts>, id: string, version: string, method = 'certificate') =>
  verdicts.find((v) => v.id === id && v.version === version && v.method === method)!;

describe('rule verdicts', () => {
  it('are per transport: a run over both gives each rule a verdict over each, decided by its own scenarios', () => {
    const overTls = verdictsOf([{ name: 'owner kept', tags: ['@S6', '@mqtt5'], steps: ['PASSED'] }]).results;
    const overWss = verdictsOf([{ name: 'owner kept', tags: ['@S6', '@mqtt5'], steps: ['FAILED'], failure: 'Error: expected a refusal, got accepted' }], {}, 'wss').results;
    const verdicts = ruleVerdicts([...overTls, ...overWss], { transports: ['tcp', 'wss'] });
    const s6 = verdicts.filter((v) => v.id === 'S6' && v.method === 'certificate' && v.version === '5').map((v) => `${v.transport} ${v.status}`);
    expect(s6).toEqual(['tcp passed', 'wss failed']);
    const report: RunReport = { target: 't', startedAt: '2026-01-01T00:00:00.000Z', durationMs: 1, verdicts, scenarios: [...overTls, ...overWss] };
    expect(consoleReport(report, false)).toMatch(/^S6 +X\.509 +wss +- +FAIL /m);
    expect(consoleReport(report, false)).toMatch(/^ {2}S6 over MQTT 5 via wss: owner kept: /m);
    expect(junitReport(report)).toMatch(/classname="event-grid-rules\.S6\.mqtt-5\.wss" name="owner kept"[^>]*>\s*<failure/);
    expect(markdownSummary(report)).toContain('| S6 | X.509 | wss | — not run | ❌ fail |');
  });

  it('are per authentication method: a token scenario decides its rule under CUSTOM-JWT only, over MQTT 5 only', () => {
    const { verdicts, results } = verdictsOf([
      { name: 'owner kept', tags: ['@S6', '@mqtt5'], steps: ['PASSED'] },
      { name: 'owner kept with tokens', tags: ['@S6', '@mqtt5', '@custom-jwt'], steps: ['PASSED', 'FAILED'], failure: 'Error: expected a refusal, got accepted' },
    ]);
    const s6 = verdicts.filter((v) => v.id === 'S6').map((v) => `${v.method} ${v.version} ${v.status}`);
    expect(s6).toEqual(['certificate 3.1.1 not run', 'certificate 5 passed', 'CUSTOM-JWT 5 failed', 'webhook 3.1.1 not run', 'webhook 5 not run', 'OAUTH2-JWT 5 not run']);
    const report: RunReport = { target: 't', startedAt: '2026-01-01T00:00:00.000Z', durationMs: 1, verdicts, scenarios: results };
    const console = consoleReport(report, false);
    expect(console).toMatch(/^S6 +X\.509 +tcp +- +PASS /m);
    expect(console).toMatch(/^S6 +CUSTOM-JWT +tcp +- +FAIL /m);
    expect(console).toContain('S6 over MQTT 5 with CUSTOM-JWT: owner kept with tokens: Error: expected a refusal');
    expect(markdownSummary(report)).toContain('| S6 | CUSTOM-JWT | tcp | — not run | ❌ fail |');
    expect(junitReport(report)).toContain('classname="event-grid-rules.S6.mqtt-5.custom-jwt" name="owner kept with tokens"');
  });

  it('show a rule under a method it cannot be observed under as n/a, with the catalogue\'s reason, in every report', () => {
    const { verdicts, results } = verdictsOf([{ name: 'two sessions', tags: ['@S2', '@mqtt5'], steps: ['PASSED'] }]);
    const s2 = verdicts.filter((v) => v.id === 'S2').map((v) => `${v.method} ${v.version} ${v.status}${v.notApplicable ? ' n/a' : ''}`);
    expect(s2).toEqual(['certificate 3.1.1 not run', 'certificate 5 passed', 'CUSTOM-JWT 5 not run n/a', 'webhook 3.1.1 not run n/a', 'webhook 5 not run n/a', 'OAUTH2-JWT 5 not run n/a']);
    expect(find(verdicts, 'S2', '5', 'CUSTOM-JWT').message).toMatch(/^does not apply under CUSTOM-JWT: no certificate/);
    const report: RunReport = { target: 't', startedAt: '2026-01-01T00:00:00.000Z', durationMs: 1, verdicts, scenarios: results };
    const console = consoleReport(report, false);
    expect(console).toMatch(/^S2 +CUSTOM-JWT +tcp +- +n\/a /m);
    expect(console).toMatch(/^ {2}S2 with webhook: no certificate/m);
    expect(markdownSummary(report)).toContain('| S2 | webhook | tcp | — n/a | — n/a |');
    expect(junitReport(report)).toMatch(/classname="event-grid-rules\.S2\.mqtt-5\.custom-jwt"[^>]*>\s*<skipped message="does not apply under CUSTOM-JWT: no certificate/);
  });

  it('pass a rule whose scenarios all passed, per version', () => {
    const { verdicts } = verdictsOf([
      { name: 'owner kept', tags: ['@S6', '@mqtt5'], steps: ['PASSED', 'PASSED'], observed: 'refused: 0x87 Not authorized' },
      { name: 'owner kept', tags: ['@S6', '@mqtt3'], steps: ['PASSED'] },
    ]);
    expect(find(verdicts, 'S6', '5')).toMatchObject({ status: 'passed', observed: ['refused: 0x87 Not authorized'] });
    expect(find(verdicts, 'S6', '3.1.1').status).toBe('passed');
  });

  it('mark a pass whose refusal code differs from the inferred one as lenient, in rules.json, the console and the summary', () => {
    const { results, verdicts } = verdictsOf([
      { name: 'owner kept', tags: ['@S5', '@S6', '@mqtt5'], steps: ['PASSED'], observed: 'refused: 0x86 Bad User Name or Password', lenient: { rules: ['S6'], inferred: '0x87 Not authorized (inferred for S6)' } },
      { name: 'owner kept', tags: ['@S5', '@S6', '@mqtt3'], steps: ['PASSED'], observed: 'refused: 5 (not authorized)' },
    ]);
    expect(find(verdicts, 'S6', '5').lenientCodes).toEqual(['owner kept: refused: 0x86 Bad User Name or Password, where the project infers 0x87 Not authorized (inferred for S6)']);
    expect(find(verdicts, 'S5', '5').lenientCodes).toEqual([]);
    expect(find(verdicts, 'S6', '3.1.1').lenientCodes).toEqual([]);
    const report: RunReport = { target: 't', startedAt: '2026-01-01T00:00:00.000Z', durationMs: 1, verdicts, scenarios: results };
    expect(consoleReport(report, false)).toMatch(/^S6 {5}X\.509 {7}tcp {2}PASS {8}PASS~ /m);
    expect(consoleReport(report, false)).toContain('S6 over MQTT 5: owner kept: refused: 0x86');
    expect(markdownSummary(report)).toContain('| S6 | X.509 | tcp | ✅ pass | ✅ pass\\~ |');
  });

  it('fail a rule for the version in which a scenario failed, with the first line of the error', () => {
    const { verdicts } = verdictsOf([
      { name: 'refused', tags: ['@S5', '@S6', '@mqtt5'], steps: ['PASSED', 'FAILED', 'SKIPPED'], failure: 'Error: expected CONNACK 0x87 Not authorized, got accepted' },
      { name: 'refused', tags: ['@S5', '@S6', '@mqtt3'], steps: ['PASSED', 'PASSED'] },
    ]);
    expect(find(verdicts, 'S6', '5')).toMatchObject({ status: 'failed', message: 'refused: Error: expected CONNACK 0x87 Not authorized, got accepted' });
    expect(find(verdicts, 'S5', '5').status).toBe('failed');
    expect(find(verdicts, 'S6', '3.1.1').status).toBe('passed');
  });

  it('carry the refusal each rule expects per version, whether the code is documented or inferred, and the sources', () => {
    const { verdicts } = verdictsOf([]);
    expect(find(verdicts, 'S7', '5')).toMatchObject({
      expectedRefusals: [{ code: '0x87 Not authorized', basis: 'inferred' }],
      sources: ['https://learn.microsoft.com/azure/event-grid/mqtt-establishing-multiple-sessions-per-client', 'https://learn.microsoft.com/azure/event-grid/mqtt-support'],
    });
    expect(find(verdicts, 'S7', '3.1.1').expectedRefusals).toEqual([{ code: '5 (not authorized)', basis: 'inferred' }]);
    expect(find(verdicts, 'A2', '5').expectedRefusals.map((refusal) => refusal.case)).toEqual(['unregistered', 'disabled']);
    expect(find(verdicts, 'L2', '5').expectedRefusals).toEqual([]);
  });

  it('count an undefined step as a failure of the suite, not a pass', () => {
    const { verdicts } = verdictsOf([{ name: 'typo', tags: ['@L2', '@mqtt5'], steps: ['PASSED', 'UNDEFINED'] }]);
    expect(find(verdicts, 'L2', '5').status).toBe('failed');
  });

  it('skip a rule all of whose scenarios were skipped, giving the reason', () => {
    const { verdicts } = verdictsOf([
      { name: 'limit', tags: ['@S9', '@mqtt5', '@needs-two-sessions'], steps: ['SKIPPED', 'SKIPPED'], log: 'skipped: needs a session limit of 2 or more' },
    ]);
    expect(find(verdicts, 'S9', '5')).toMatchObject({ status: 'skipped', message: 'needs a session limit of 2 or more' });
  });

  it('pass a rule with a passed and a skipped scenario', () => {
    const { verdicts } = verdictsOf([
      { name: 'a', tags: ['@S7', '@mqtt3'], steps: ['PASSED'] },
      { name: 'b', tags: ['@S7', '@mqtt3', '@slow'], steps: ['SKIPPED'], log: 'skipped: slow' },
    ]);
    expect(find(verdicts, 'S7', '3.1.1')).toMatchObject({ status: 'passed', message: 'passed; skipped: b (slow)' });
  });

  it('say why a rule did not run: not selected, untestable, or no scenario ran', () => {
    const { verdicts } = verdictsOf([{ name: 'a', tags: ['@S6', '@mqtt5'], steps: ['PASSED'] }], { rules: ['S6', 'S7'], versions: ['5'] });
    expect(find(verdicts, 'S6', '3.1.1')).toMatchObject({ status: 'not run', message: 'not selected for this run' });
    expect(find(verdicts, 'S7', '5')).toMatchObject({ status: 'not run', message: 'no scenario of this rule ran' });
    expect(find(verdicts, 'S1', '5')).toMatchObject({ status: 'not run', message: 'not selected for this run' });
    expect(find(verdicts, 'L4', '5').message).toMatch(/^not testable from a client/);
  });

  it('report none run when the stream holds no scenario', () => {
    const { verdicts } = verdictsOf([]);
    expect(totals(verdicts)).toMatchObject({ passed: 0, failed: 0, skipped: 0 });
    expect(closingLine(verdicts)).toBe('rules: 0 passed, 0 failed, 0 skipped');
  });
});

describe('report files', () => {
  const { results, verdicts } = verdictsOf([
    { name: 'refused', tags: ['@S6', '@mqtt5'], steps: ['FAILED'], failure: 'expected <0x87> & "more"', observed: 'accepted' },
    { name: 'refused', tags: ['@S6', '@mqtt3'], steps: ['PASSED'] },
  ]);
  const report: RunReport = { target: 'test', startedAt: '2026-11-27T00:00:00.000Z', durationMs: 1200, verdicts, scenarios: results };

  it('JUnit: one testcase per scenario, and one per rule and version not run; failures escaped, observations apart', () => {
    const xml = junitReport(report);
    const notRun = verdicts.filter((v) => v.status === 'not run').length;
    expect(xml.match(/<testcase /g)).toHaveLength(results.length + notRun);
    expect(xml).toContain(
      '<testcase classname="event-grid-rules.S6.mqtt-5" name="refused" file="features/x.feature" line="10" time="1.250">\n      <failure message="expected &#60;0x87&#62; &#38; &#34;more&#34;">expected &#60;0x87&#62; &#38; &#34;more&#34;</failure>\n      <system-out>',
    );
    expect(xml).toMatch(/<system-out>[^<]*expected [^<]*; observed accepted<\/system-out>/);
    expect(xml).toMatch(/name="S10 [^"]*" time="0.000">\n      <skipped message="not testable from a client/);
    expect(xml).toMatch(/failures="1"/);
  });

  it('Markdown: a row a rule, and what failed', () => {
    const markdown = markdownSummary(report);
    expect(markdown).toContain('| S6 | X.509 | tcp | ✅ pass | ❌ fail |');
    expect(markdown).toContain('- **S6** over MQTT 5 (failed): refused: expected <0x87> & "more"');
  });

  it('JUnit: each testcase takes the time its scenario took', () => {
    const xml = junitReport(report);
    expect(xml).toMatch(/<testcase classname="event-grid-rules\.S6\.mqtt-3\.1\.1" name="refused" [^>]*time="1\.250">/);
  });
});

describe('a pass with skipped scenarios', () => {
  const { results, verdicts } = verdictsOf([
    { name: 'a', tags: ['@S7', '@mqtt3'], steps: ['PASSED'] },
    { name: 'b', tags: ['@S7', '@mqtt3', '@slow'], steps: ['SKIPPED'], log: 'skipped: @slow: waits for the maximum expiry; --include-slow runs it' },
    { name: 'a', tags: ['@S7', '@mqtt5'], steps: ['PASSED'] },
  ]);
  const report: RunReport = { target: 'test', startedAt: '2026-11-27T00:00:00.000Z', durationMs: 1200, verdicts, scenarios: results };

  it('is marked, with the reason, in every report', () => {
    expect(find(verdicts, 'S7', '3.1.1').skippedScenarios).toEqual([{ name: 'b', reason: '@slow: waits for the maximum expiry; --include-slow runs it' }]);
    expect(find(verdicts, 'S7', '5').skippedScenarios).toBeUndefined();
    const console = consoleReport(report, false);
    expect(console).toMatch(/^S7 +X\.509 +tcp +PASS\* +PASS +/m);
    expect(console).toMatch(/\* passed with some scenarios skipped:\n  S7 over MQTT 3\.1\.1: skipped b \(@slow: waits/);
    expect(console).toMatch(/rules: 2 passed \(1 with scenarios skipped\), 0 failed, 0 skipped$/);
    const markdown = markdownSummary(report);
    expect(markdown).toContain('| S7 | X.509 | tcp | ✅ pass\\* | ✅ pass |');
    expect(markdown).toContain('- **S7** over MQTT 3.1.1: skipped b (@slow: waits for the maximum expiry; --include-slow runs it)');
    const json = JSON.parse(rulesJson(report)) as { rules: Array<{ id: string; version: string; skippedScenarios?: unknown[] }> };
    expect(json.rules.find((r) => r.id === 'S7' && r.version === '3.1.1')!.skippedScenarios).toHaveLength(1);
    expect(junitReport(report)).toMatch(/classname="event-grid-rules\.S7\.mqtt-3\.1\.1" name="b" [^>]*>\n      <skipped message="@slow: waits for the maximum expiry/);
  });
});

describe('observations', () => {
  it('are readable text that reads back to the same fields', () => {
    const observation = { step: 'Then the connection is refused', expected: 'CONNACK 0x87 Not authorized', observed: 'accepted: 0x00 Success' };
    const text = formatObservation(observation);
    expect(text).toBe('observation: Then the connection is refused\n  expected: CONNACK 0x87 Not authorized\n  observed: accepted: 0x00 Success');
    expect(parseObservation(text)).toEqual(observation);
    expect(parseObservation('skipped: slow')).toBeUndefined();
  });

  it('carry a lenient pass on a line of its own, read back too', () => {
    const observation = { step: 'Then the connection is refused', expected: 'a refusal', observed: 'refused: no CONNACK (connection closed)', lenient: { rules: ['S5', 'S6'], inferred: '0x87 Not authorized (inferred for S5, S6)' } };
    const text = formatObservation(observation);
    expect(text).toContain('\n  lenient for S5,S6 | inferred 0x87 Not authorized');
    expect(parseObservation(text)).toEqual(observation);
  });
});

describe('a pass both with skipped scenarios and on lenient codes', () => {
  const { results, verdicts } = verdictsOf([
    { name: 'a', tags: ['@S6', '@mqtt5'], steps: ['PASSED'], observed: 'refused: 0x86 Bad User Name or Password', lenient: { rules: ['S6'], inferred: '0x87 Not authorized (inferred for S6)' } },
    { name: 'b', tags: ['@S6', '@mqtt5', '@slow'], steps: ['SKIPPED'], log: 'skipped: @slow: waits' },
  ]);
  const report: RunReport = { target: 'test', startedAt: '2026-11-27T00:00:00.000Z', durationMs: 1200, verdicts, scenarios: results };

  it('carries both marks and both legends', () => {
    const console = consoleReport(report, false);
    expect(console).toMatch(/^S6 +X\.509 +tcp +- +PASS\*~ /m);
    expect(console).toContain('* passed with some scenarios skipped:');
    expect(console).toContain('~ passed only on the lenient reading');
    expect(console).toMatch(/rules: \d+ passed \(1 with scenarios skipped, 1 on lenient codes\)/);
    const markdown = markdownSummary(report);
    expect(markdown).toContain('| S6 | X.509 | tcp | — not run | ✅ pass\\*\\~ |');
    expect(markdown).toContain('\\* passed with some scenarios skipped:');
    expect(markdown).toContain('\\~ passed only on the lenient reading');
    const s6 = find(verdicts, 'S6', '5');
    expect(s6.skippedScenarios).toHaveLength(1);
    expect(s6.lenientCodes).toHaveLength(1);
  });
});
