import { describe, expect, it } from 'vitest';
import { cucumberPage, embeddedRuns } from './scenario-runs.ts';

describe('embedded scenario runs', () => {
  it('runs each of two transports in a thread of its own', () => {
    expect(embeddedRuns(['tcp', 'wss'], 32)).toEqual([{ transport: 'tcp' }, { transport: 'wss' }]);
  });

  it("splits one transport's scenarios in two parts", () => {
    expect(embeddedRuns(['wss'], 32)).toEqual([
      { transport: 'wss', shard: '1/2' },
      { transport: 'wss', shard: '2/2' },
    ]);
  });

  it('runs one transport whole when scenarios go one at a time', () => {
    expect(embeddedRuns(['tcp'], 1)).toEqual([{ transport: 'tcp' }]);
  });

  it("names each run's cucumber page apart", () => {
    const both = embeddedRuns(['tcp', 'wss'], 32);
    expect(both.map((_, index) => cucumberPage(both, index))).toEqual(['cucumber.html', 'cucumber-wss.html']);
    const tcp = embeddedRuns(['tcp'], 32);
    expect(tcp.map((_, index) => cucumberPage(tcp, index))).toEqual(['cucumber.html', 'cucumber-tcp-2.html']);
  });
});
