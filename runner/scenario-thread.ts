// One transport's scenarios in a worker thread of their own. The scenarios' clients (TLS, WebSocket,
// mqtt.js, cucumber) keep a thread busy: with both transports of an embedded run in the one thread,
// that thread was the run's bottleneck and the run took as long as two runs one after the other. The
// thread loads cucumber and the step modules as soon as it starts, while the target starts; it runs
// when handed the target, and posts every cucumber message back to the collector on the main thread.
// The same module is the thread's entry: see the end.
import { once } from 'node:events';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { Envelope } from '@cucumber/messages';
import { threadEntry } from '../common/thread-entry.ts';
import type { TargetParameters } from '../steps/target.ts';
import type { ScenarioRunner, ScenarioRunnerOptions, TransportRun } from './run.ts';

type ToThread = { run: { target: TargetParameters; concurrency: number } };
type FromThread = { envelope: Envelope } | { done: TransportRun };
const THREAD_KIND = 'mmc-scenario-thread';

export function startScenarioThread(options: ScenarioRunnerOptions): ScenarioRunner {
  const thread = new Worker(threadEntry('./scenario-thread', import.meta.url), { workerData: { kind: THREAD_KIND, options } });
  // Before a run, an error (the step modules failed to load) is the run's to report.
  const early = once(thread, 'error').then(([error]) => Promise.reject(error as Error));
  early.catch(() => {});
  return {
    run(target, concurrency, onMessage) {
      const ended = new Promise<TransportRun>((resolve, reject) => {
        thread.on('message', (message: FromThread) => ('envelope' in message ? onMessage(message.envelope) : resolve(message.done)));
        thread.once('exit', (code) => reject(new Error(`the scenarios' thread ended (exit code ${code}) before its run did`)));
      });
      thread.postMessage({ run: { target, concurrency } } satisfies ToThread);
      return Promise.race([ended, early]).finally(() => thread.terminate());
    },
    stop: () => thread.terminate().then(() => {}),
  };
}

async function serve(options: ScenarioRunnerOptions): Promise<void> {
  const port = parentPort!;
  const { inProcess } = await import('./run.ts');
  const runner = inProcess(options);
  const [{ run }] = (await once(port, 'message')) as [ToThread];
  const done = await runner.run(run.target, run.concurrency, (envelope) => port.postMessage({ envelope } satisfies FromThread));
  port.postMessage({ done } satisfies FromThread);
}

if (!isMainThread && (workerData as { kind?: string } | null)?.kind === THREAD_KIND) await serve((workerData as { options: ScenarioRunnerOptions }).options);
