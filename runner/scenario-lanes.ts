// Scenarios at once, in one process. cucumber overlaps scenarios only in worker processes, each of
// which loads the whole suite again: 1.5 s of CPU apiece under tsx on the reference machine, more than
// most scenarios take (docs/performance.md). The scenarios here mostly wait (on round trips, on a Keep
// Alive, on an expiry), so an embedded run overlaps them in this process instead: cucumber's in-process
// adapter is given lanes, each taking the next test case that setParallelCanAssign (steps/hooks.ts)
// allows beside those running, the longest waits first.
//
// This reaches into cucumber's internals (lib/runtime/serial/adapter.js, pinned by "~12.9.0" in
// package.json); runner/scenario-lanes.test.ts fails if they change shape. With one lane the adapter
// runs the test cases one after another, as cucumber's own does.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Pickle } from '@cucumber/messages';

/** What cucumber's in-process adapter hands its worker: one test case. */
interface AssembledTestCase {
  pickle: Pickle;
}
interface InProcessWorker {
  supportCodeLibrary: { parallelCanAssign(pickle: Pickle, running: Pickle[]): boolean };
  runBeforeAllHooks(): Promise<unknown>;
  runTestCase(item: AssembledTestCase, failing: boolean): Promise<boolean>;
  runAfterAllHooks(): Promise<unknown>;
}
interface InProcessAdapter {
  worker: InProcessWorker;
  failing: boolean;
}

const settings = { lanes: 1, rank: (_pickle: Pickle): number => 0 };

/** Runs the test cases, up to `settings.lanes` at once, the highest rank first. */
async function runInLanes(this: InProcessAdapter, assembled: AssembledTestCase[]): Promise<boolean> {
  // Each running step listens for uncaught exceptions on the process: one listener per lane.
  const listeners = process.getMaxListeners();
  process.setMaxListeners(listeners + settings.lanes);
  try {
    await this.worker.runBeforeAllHooks();
    await dispatchInLanes(this, assembled);
    await this.worker.runAfterAllHooks();
  } finally {
    process.setMaxListeners(listeners);
  }
  return !this.failing;
}

function dispatchInLanes(adapter: InProcessAdapter, assembled: AssembledTestCase[]): Promise<void> {
  const { worker } = adapter;
  const todo = assembled.map((item, index) => ({ item, index, rank: settings.rank(item.pickle) }));
  todo.sort((a, b) => b.rank - a.rank || a.index - b.index);
  const running = new Set<AssembledTestCase>();
  return new Promise<void>((resolve, reject) => {
    const dispatch = (): void => {
      while (running.size < settings.lanes && todo.length) {
        const others = [...running].map((item) => item.pickle);
        let next = todo.findIndex(({ item }) => worker.supportCodeLibrary.parallelCanAssign(item.pickle, others));
        // As cucumber's parallel adapter does: a lane never idles with nothing running.
        if (next < 0 && running.size === 0) next = 0;
        if (next < 0) break;
        const [{ item }] = todo.splice(next, 1) as [(typeof todo)[number]];
        running.add(item);
        worker.runTestCase(item, adapter.failing).then((success) => {
          if (!success) adapter.failing = true;
          running.delete(item);
          if (todo.length === 0 && running.size === 0) resolve();
          else dispatch();
        }, reject);
      }
    };
    if (todo.length === 0) resolve();
    else dispatch();
  });
}

let installed = false;

/** Gives cucumber's in-process adapter lanes; `rank` orders the test cases, higher first. */
export function useLanes(lanes: number, rank: (pickle: Pickle) => number): void {
  if (!installed) {
    const require = createRequire(import.meta.url);
    const runtime = join(dirname(require.resolve('@cucumber/cucumber')), 'runtime');
    const { InProcessAdapter } = require(join(runtime, 'serial', 'adapter.js')) as { InProcessAdapter?: { prototype: { run?: unknown } } };
    if (typeof InProcessAdapter?.prototype.run !== 'function') throw new Error(`@cucumber/cucumber has no InProcessAdapter.run in ${runtime}: runner/scenario-lanes.ts needs updating`);
    InProcessAdapter.prototype.run = runInLanes;
    installed = true;
  }
  settings.lanes = Math.max(1, lanes);
  settings.rank = rank;
}
