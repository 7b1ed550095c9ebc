// The progress renderer, with an injected clock and output: on a terminal one line redrawn in place
// with counts and the time left at the pace so far; elsewhere a line per rule and version once its
// last scenario is in.
import { describe, expect, it } from 'vitest';
import { RunProgress } from './progress.ts';
import type { ScenarioResult } from './scenarios.ts';

const scenario = (name: string, tags: string[], status: ScenarioResult['status'], message?: string): ScenarioResult => ({
  name,
  location: 'features/x.feature:1',
  tags,
  rules: tags.filter((tag) => /^@[A-Z]\d+$/.test(tag)).map((tag) => tag.slice(1)),
  version: tags.includes('@mqtt5') ? '5' : '3.1.1',
  method: 'certificate',
  transport: 'tcp',
  status,
  ...(message ? { message } : {}),
  durationMs: 10,
  observations: [],
});

const PLAN = [['@S6', '@mqtt5'], ['@S6', '@mqtt5'], ['@S7', '@mqtt5'], ['@S6', '@mqtt3']].map((tags) => ({ tags, transport: 'tcp' as const }));

function harness(terminal: boolean) {
  let now = 0;
  const written: string[] = [];
  const progress = new RunProgress({ write: (text) => written.push(text) }, terminal, 1, () => now);
  progress.onPlanned(PLAN);
  return { progress, written, advance: (ms: number) => (now += ms) };
}

describe('progress on a terminal', () => {
  it('redraws one line in place with done, passing, failing and the time left at the pace so far', () => {
    const { progress, written, advance } = harness(true);
    advance(10_000);
    progress.onResult(scenario('a', ['@S6', '@mqtt5'], 'passed'));
    expect(written.at(-1)).toBe('\r\u001b[2K1/4 scenarios · 1 passed · 0 failed · 10 s elapsed, about 30 s left');
    advance(70_000);
    progress.onResult(scenario('b', ['@S6', '@mqtt5'], 'failed', 'expected a refusal, got accepted'));
    // S6 over MQTT 5 is complete and failed: its line stays above the redrawn one.
    expect(written.at(-1)).toBe('\r\u001b[2K[2/4 1 min 20 s] FAIL S6 over MQTT 5 (2 scenarios): b: expected a refusal, got accepted\n2/4 scenarios · 1 passed · 1 failed · 1 min 20 s elapsed, about 1 min 20 s left');
    expect(written.every((text) => !text.endsWith('\n'))).toBe(true);
    progress.end();
    expect(written.at(-1)).toBe('\r\u001b[2K');
  });
});

describe('progress elsewhere (a CI log)', () => {
  it('writes a plain line per rule and version once its last scenario is in, and nothing else', () => {
    const { progress, written, advance } = harness(false);
    advance(2000);
    progress.onResult(scenario('a', ['@S6', '@mqtt5'], 'passed'));
    expect(written).toEqual([]);
    progress.onResult(scenario('c', ['@S7', '@mqtt5'], 'passed'));
    progress.onResult(scenario('b', ['@S6', '@mqtt5'], 'passed'));
    expect(written).toEqual(['[2/4 2 s] PASS S7 over MQTT 5 (1 scenario)\n', '[3/4 2 s] PASS S6 over MQTT 5 (2 scenarios)\n']);
    progress.end();
    expect(written).toHaveLength(2);
  });
});

describe('progress of a run over both transports at once', () => {
  it('counts every transport in one line and finishes a rule and version per transport', () => {
    const plan = [['@S6', '@mqtt5'], ['@S7', '@mqtt5']].flatMap((tags) => (['tcp', 'wss'] as const).map((transport) => ({ tags, transport })));
    const written: string[] = [];
    const progress = new RunProgress({ write: (text) => written.push(text) }, false, 2, () => 0);
    progress.onPlanned(plan.filter(({ transport }) => transport === 'tcp'));
    progress.onPlanned(plan.filter(({ transport }) => transport === 'wss'));
    progress.onResult(scenario('a', ['@S6', '@mqtt5'], 'passed'));
    progress.onResult({ ...scenario('a', ['@S6', '@mqtt5'], 'failed', 'accepted'), transport: 'wss' });
    expect(written).toEqual(['[1/4 0 s] PASS S6 over MQTT 5 (1 scenario)\n', '[2/4 0 s] FAIL S6 over MQTT 5 via wss (1 scenario): a: accepted\n']);
  });
});

describe('progress of one transport in two halves', () => {
  it('holds the results that come before the second half has planned, then finishes each rule and version once', () => {
    const written: string[] = [];
    const progress = new RunProgress({ write: (text) => written.push(text) }, false, 2, () => 0);
    progress.onPlanned([{ tags: ['@S6', '@mqtt5'], transport: 'tcp' }]);
    progress.onResult(scenario('a', ['@S6', '@mqtt5'], 'passed'));
    expect(written).toEqual([]);
    progress.onPlanned([{ tags: ['@S6', '@mqtt5'], transport: 'tcp' }]);
    expect(written).toEqual([]);
    progress.onResult(scenario('b', ['@S6', '@mqtt5'], 'passed'));
    expect(written).toEqual(['[2/2 0 s] PASS S6 over MQTT 5 (2 scenarios)\n']);
  });
});
