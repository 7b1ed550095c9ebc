// One broker of a benchmark in a process of its own (run with --expose-gc), so that its CPU and memory
// are not the clients' (the reference on Redis when given a Redis URL): it prints its URL, then answers
// 'memory', 'cpu' and 'stop' over IPC.
import { loadPki } from '../certs/manifest.ts';
import { startPlainAedes, startReference, type BenchBroker } from './brokers.ts';

const [kind, pkiDir, redisUrl] = process.argv.slice(2);
const pki = loadPki(pkiDir!);
const broker: BenchBroker = kind === 'reference' ? await startReference(pki, redisUrl) : await startPlainAedes(pki);

function settledMemory() {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let round = 0; round < 3; round += 1) gc?.();
  const { heapUsed, external, arrayBuffers, rss } = process.memoryUsage();
  return { heapUsed, external, arrayBuffers, rss };
}

process.on('message', async (message: string) => {
  if (message === 'memory') process.send!({ memory: settledMemory() });
  if (message === 'cpu') process.send!({ cpu: process.cpuUsage() });
  if (message === 'stop') {
    await broker.stop();
    process.disconnect();
  }
});
// A benchmark that ended without stopping it (an error) leaves it no reason to run on.
process.on('disconnect', () => process.exit(0));
process.send!({ url: broker.url, ...(broker.wsUrl ? { wsUrl: broker.wsUrl } : {}) });
