// The requests clients send Redis while something runs, as Redis's MONITOR shows them: each is one
// round trip unless it travels with others in one write (ioredis' auto-pipelining). A MULTI ... EXEC is
// one request (its commands are queued and sent together); a script is one request, the commands it runs
// are not counted. A deterministic figure, where rates on a shared machine are not.
import { Redis } from 'ioredis';

export interface RedisRequests {
  requests: number;
  /** Requests by command (a transaction counted as `multi`). */
  byCommand: Map<string, number>;
}

/**
 * `ignored`: connections of the benchmark's own (its CPU readings' INFO) whose requests are not counted;
 * their local ports are matched against MONITOR's client addresses.
 */
export async function countRequests(url: string, during: () => Promise<void>, ignored: Redis[] = []): Promise<RedisRequests> {
  const connection = new Redis(url);
  const monitor = await connection.monitor();
  const byCommand = new Map<string, number>();
  /** The clients (by address) inside a MULTI: what they send until EXEC is part of the one request. */
  const inTransaction = new Set<string>();
  const portOf = (redis: Redis) => String((redis as unknown as { stream?: { localPort?: number } }).stream?.localPort);
  const skipped = new Set(ignored.map(portOf));
  // ioredis has been seen to lose track of a MONITOR stream ("Command queue state error"): the count is
  // then unknown, and said so, rather than the benchmark ending with its brokers left running.
  let failure: Error | undefined;
  monitor.on('error', (error: Error) => (failure ??= error));
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    const command = args[0]?.toLowerCase() ?? '';
    if (source === 'lua' || skipped.has(source.split(':').at(-1)!)) return;
    if (inTransaction.has(source)) {
      if (command === 'exec' || command === 'discard') inTransaction.delete(source);
      return;
    }
    if (command === 'multi') inTransaction.add(source);
    byCommand.set(command, (byCommand.get(command) ?? 0) + 1);
  });
  try {
    await during();
    // What was sent last is shown once Redis has run it: a PING after it comes back after it.
    const last = new Redis(url, { enableReadyCheck: false, lazyConnect: true });
    await last.connect();
    skipped.add(portOf(last));
    await last.ping().finally(() => last.disconnect());
    await new Promise((resolve) => setTimeout(resolve, 200));
  } finally {
    monitor.disconnect();
    connection.disconnect();
  }
  if (failure) throw new Error(`the requests could not be counted: MONITOR failed (${failure.message})`);
  return { requests: [...byCommand.values()].reduce((sum, count) => sum + count, 0), byCommand };
}

/** `requests / count` per command, the most frequent first: "1.00 multi, 1.00 publish, ...". */
export function perUnit(counted: RedisRequests, count: number): string {
  return [...counted.byCommand]
    .map(([command, requests]) => [command, requests / count] as const)
    .filter(([, share]) => share >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([command, share]) => `${share.toFixed(2)} ${command}`)
    .join(', ');
}
