// How an embedded run spreads its scenarios over threads. The clients of a run's scenarios (TLS,
// WebSockets, mqtt.js, cucumber) keep a thread busy, and the brokers' thread is busy beside them: two
// scenario threads use the machine's two cores (a third only contends), so both transports run a
// thread each, and one transport's scenarios run in two parts, a thread each (cucumber's shards: every
// other scenario). The first run goes in the main thread, which has nothing else to do meanwhile but
// show progress (a thread of its own costs half a second of CPU to load cucumber and the steps).
// Each run goes to namespaces of its own (runner/embedded-brokers.ts).
import type { Transport } from '../rules/transports.ts';

export const SCENARIO_THREADS = 2;

export interface ScenarioRun {
  transport: Transport;
  /** The part of the transport's scenarios, as cucumber's `<index>/<total>`; absent, all of them. */
  shard?: string;
}

/** The runs of `transports`; with `concurrency` 1 (one scenario at a time, to debug), a transport is not split. */
export function embeddedRuns(transports: readonly Transport[], concurrency: number): ScenarioRun[] {
  const parts = concurrency === 1 ? 1 : Math.max(1, Math.floor(SCENARIO_THREADS / transports.length));
  return transports.flatMap((transport) => Array.from({ length: parts }, (_, index) => ({ transport, ...(parts > 1 ? { shard: `${index + 1}/${parts}` } : {}) })));
}

/** The file of cucumber's own page of a run: cucumber.html for the first, then cucumber-wss.html, cucumber-tcp-2.html... */
export function cucumberPage(runs: readonly ScenarioRun[], index: number): string {
  if (index === 0) return 'cucumber.html';
  const { transport, shard } = runs[index]!;
  return `cucumber-${transport}${shard ? `-${shard.split('/')[0]}` : ''}.html`;
}
