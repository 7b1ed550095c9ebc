// The requests clients send Redis while something runs, as Redis's MONITOR shows them: each is one
// round trip unless it travels with others in one write (ioredis' auto-pipelining). A MULTI ... EXEC is
// one request (its commands are queued and sent together); a script is one request, the commands it runs
// are not counted. A deterministic figure, where rates on a shared machine are not.
import { once } from 'node:events';
import { connect } from 'node:net';
import { Redis } from 'ioredis';

export interface RedisRequests {
  requests: number;
  /** Requests by command (a transaction counted as `multi`). */
  byCommand: Map<string, number>;
}

/**
 * MONITOR on a socket of its own, each line told to `seen` as its source (`<address>:<port>`, or `lua`)
 * and its command. Not ioredis' `monitor()`: it enters monitoring mode a turn after MONITOR's answer,
 * and the lines that came in the same read as that answer (a busy Redis) ended the benchmark with
 * "Command queue state error".
 */
async function monitor(url: string, seen: (source: string, command: string) => void): Promise<{ stop(): void }> {
  const { hostname, port, password, username } = new URL(url);
  const socket = connect(Number(port || 6379), hostname.replace(/^\[|\]$/g, ''));
  await once(socket, 'connect');
  if (password) socket.write(`AUTH ${username ? `${decodeURIComponent(username)} ` : ''}${decodeURIComponent(password)}\r\n`);
  socket.write('MONITOR\r\n');
  let rest = '';
  /** The `+OK`s still to come before MONITOR's: AUTH's, then its own. */
  let answers = password ? 2 : 1;
  const started = new Promise<void>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString('latin1')).split('\r\n');
      rest = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith('-')) reject(new Error(`MONITOR refused: ${line.slice(1)}`));
        // `+<time> [<db> <source>] "<command>" "<argument>" ...`; the answers to AUTH and MONITOR are `+OK`.
        const match = /^\+[0-9.]+ \[\d+ ([^\]]+)\] "([^"]*)"/.exec(line);
        if (match) seen(match[1]!, match[2]!.toLowerCase());
        else if (line === '+OK' && (answers -= 1) === 0) resolve();
      }
    });
  });
  await started;
  return { stop: () => socket.destroy() };
}

/**
 * `ignored`: connections of the benchmark's own (its CPU readings' INFO) whose requests are not counted;
 * their local ports are matched against MONITOR's client addresses.
 */
export async function countRequests(url: string, during: () => Promise<void>, ignored: Redis[] = []): Promise<RedisRequests> {
  const byCommand = new Map<string, number>();
  /** The clients (by address) inside a MULTI: what they send until EXEC is part of the one request. */
  const inTransaction = new Set<string>();
  const portOf = (redis: Redis) => String((redis as unknown as { stream?: { localPort?: number } }).stream?.localPort);
  const skipped = new Set(ignored.map(portOf));
  const monitoring = await monitor(url, (source, command) => {
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
    monitoring.stop();
  }
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
