// Clients of a CONNECT-rate benchmark in a process of their own (bench/redis.ts starts several), so
// that the clients' TLS handshakes are not one process's turn after the brokers': on each request over
// IPC it runs `count` lean connects of alpha's persistent sessions over the given URLs in turn,
// `concurrency` at a time, and answers with the CPU time it took.
import { loadPki } from '../certs/manifest.ts';
import { clientContext, leanRate } from './lean-client.ts';

export interface ConnectRun {
  urls: string[];
  count: number;
  concurrency: number;
  /** ClientIDs are `<prefix>-<n>`: distinct over every run and driver. */
  prefix: string;
}

const pki = loadPki(process.argv[2]!);
const context = clientContext(pki, pki.identities.get('alpha')!);

process.on('message', async (message: ConnectRun | 'stop') => {
  if (message === 'stop') return process.disconnect();
  const { urls, count, concurrency, prefix } = message;
  const before = process.cpuUsage();
  await leanRate((index) => ({ url: urls[index % urls.length]!, context, username: 'alpha', clientId: `${prefix}-${index}`, expirySeconds: 60 }), count, concurrency);
  const cpu = process.cpuUsage(before);
  process.send!({ cpuMicros: cpu.user + cpu.system });
});
process.on('disconnect', () => process.exit(0));
process.send!('ready');
