import type { Envelope } from '@cucumber/messages';
import { describe, expect, it } from 'vitest';
import { ScenarioCollector, type PlannedScenario, type ScenarioResult } from './scenarios.ts';

/** cucumber's order: every pickle and test case first, then each test case's run. */
function run(tagsOf: string[][]): Envelope[] {
  const timestamp = { seconds: 0, nanos: 0 };
  const pickles = tagsOf.map((tags, index) => ({
    pickle: { id: `p${index}`, uri: 'features/x.feature', location: { line: index + 1 }, name: `n${index}`, language: 'en', steps: [], tags: tags.map((name) => ({ name, astNodeId: 'a' })), astNodeIds: [] },
  }));
  const testCases = tagsOf.map((_tags, index) => ({ testCase: { id: `c${index}`, pickleId: `p${index}`, testSteps: [] } }));
  const runs = tagsOf.flatMap((_tags, index) => [
    { testCaseStarted: { id: `s${index}`, testCaseId: `c${index}`, attempt: 0, timestamp } },
    { testStepFinished: { testCaseStartedId: `s${index}`, testStepId: 't', timestamp, testStepResult: { status: 'PASSED', duration: { seconds: 0, nanos: 5_000_000 } } } },
    { testCaseFinished: { testCaseStartedId: `s${index}`, timestamp, willBeRetried: false } },
  ]);
  const finished = { testRunFinished: { success: true, timestamp } };
  return [...pickles, ...testCases, ...runs, finished] as Envelope[];
}

describe('the scenario collector', () => {
  it('tells the whole plan once, as the first scenario starts, before any result', () => {
    const told: string[] = [];
    const plans: PlannedScenario[][] = [];
    const collector = new ScenarioCollector(
      (result: ScenarioResult) => told.push(`result ${result.name}`),
      'wss',
      (plan) => {
        plans.push(plan);
        told.push('plan');
      },
    );
    for (const envelope of run([['@S6', '@mqtt5'], ['@S8', '@mqtt3'], ['@L2', '@mqtt5']])) collector.onMessage(envelope);
    expect(told).toEqual(['plan', 'result n0', 'result n1', 'result n2']);
    expect(plans).toEqual([
      [
        { tags: ['@S6', '@mqtt5'], transport: 'wss' },
        { tags: ['@S8', '@mqtt3'], transport: 'wss' },
        { tags: ['@L2', '@mqtt5'], transport: 'wss' },
      ],
    ]);
  });

  it('tells an empty plan once, at the end, of a run that started no scenario (a half of a transport with nothing in it)', () => {
    const plans: PlannedScenario[][] = [];
    const collector = new ScenarioCollector(undefined, 'tcp', (plan) => plans.push(plan));
    for (const envelope of run([])) collector.onMessage(envelope);
    expect(plans).toEqual([[]]);
  });
});
