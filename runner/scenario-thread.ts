// A run's scenarios (a transport's, or half of them: runner/scenario-runs.ts) in a worker thread of their own. The scenarios' clients (TLS, WebSocket,
// mqtt.js, cucumber) keep a thread busy: with both transports of an embedded run in the one thread,
// that thread was the run's bottleneck and the run took as long as two runs one after the other. The
// thread loads cucumber and the step modules as soon as it starts, while the target starts; it runs
// when handed the target, and posts back the plan and each scenario's result.
// The same module is the thread's entry: see the end.
import { once } from 'node:events';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { PlannedScenario, ScenarioResult } from '../report/scenarios.ts';
import type { Transport } from '../rules/transports.ts';
import { threadEntry } from '../common/thread-entry.ts';
import type { TargetParameters } from '../steps/target.ts';
import type { ScenarioRunner, ScenarioRunnerOptions, TransportRun } from './run.ts';

type ToThread = { run: { target: TargetParameters; concurrency: number; transport: Transport } };
type FromThread = { planned: PlannedScenario[] } | { result: ScenarioResult } | { done: TransportRun };
const THREAD_KIND = 'mmc-scenario-thread';

export function startScenarioThread(options: ScenarioRunnerOptions): ScenarioRunner {
  const thread = new Worker(threadEntry('./scenario-thread', import.meta.url), { workerData: { kind: THREAD_KIND, options } });
  // Before a run, an error (the step modules failed to load) is the run's to report.
  const early = once(thread, 'error').then(([error]) => Promise.reject(error as Error));
  early.catch(() => {});
  return {
    run(target, concurrency, { transport, onPlanned, onResult }) {
      const ended = new Promise<TransportRun>((resolve, reject) => {
        thread.on('message', (message: FromThread) => {
          if ('planned' in message) onPlanned(message.planned);
          else if ('result' in message) onResult(message.result);
          else resolve(message.done);
        });
        thread.once('exit', (code) => reject(new Error(`the scenarios' thread ended (exit code ${code}) before its run did`)));
      });
      thread.postMessage({ run: { target, concurrency, transport } } satisfies ToThread);
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
  const done = await runner.run(run.target, run.concurrency, {
    transport: run.transport,
    onPlanned: (planned) => port.postMessage({ planned } satisfies FromThread),
    onResult: (result) => port.postMessage({ result } satisfies FromThread),
  });
  port.postMessage({ done } satisfies FromThread);
}

if (!isMainThread && (workerData as { kind?: string } | null)?.kind === THREAD_KIND) await serve((workerData as { options: ScenarioRunnerOptions }).options);
