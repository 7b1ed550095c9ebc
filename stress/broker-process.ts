// The broker under stress, as `npm run broker` runs it: a child process on 127.0.0.1 with a free port,
// whose resident memory is read from /proc and whose exit is a crash.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface BrokerProcess {
  port: number;
  pid: number;
  /** Set once the process has exited. */
  exitCode(): number | null | undefined;
  /** Resident set size, MiB; undefined once the process is gone. */
  rssMiB(): number | undefined;
  /** The broker's output so far (last lines). */
  output(): string[];
  stop(): Promise<void>;
}

export interface BrokerProcessOptions {
  pkiDir: string;
  namespaceFile: string;
  handshakeTimeoutMs: number;
  connectTimeoutMs: number;
  /** An instance of a namespace kept in this Redis (`--redis`). */
  redisUrl?: string;
}

const MAX_KEPT_LINES = 200;

export async function startBrokerProcess(options: BrokerProcessOptions): Promise<BrokerProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'reference/cli.ts',
      '--port',
      '0',
      '--ws-port',
      'off',
      '--pki',
      options.pkiDir,
      '--namespace',
      options.namespaceFile,
      '--handshake-timeout',
      String(options.handshakeTimeoutMs),
      '--connect-timeout',
      String(options.connectTimeoutMs),
      ...(options.redisUrl ? ['--redis', options.redisUrl] : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  let exited: number | null | undefined;
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(line.slice(0, 300));
    if (lines.length > MAX_KEPT_LINES) lines.splice(0, lines.length - MAX_KEPT_LINES);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = code ?? (signal ? -1 : null);
      resolve();
    }),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the broker did not start in 60 s:\n${lines.join('\n')}`)), 60_000);
    const look = () => {
      const match = lines.join('\n').match(/listening on mqtts:\/\/[^:]+:(\d+)/);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off('data', look);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on('data', look);
    void exit.then(() => reject(new Error(`the broker exited at start:\n${lines.join('\n')}`)));
  });
  return {
    port,
    pid: child.pid!,
    exitCode: () => exited,
    rssMiB() {
      try {
        const kib = Number(readFileSync(`/proc/${child.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)?.[1]);
        return Number.isFinite(kib) ? kib / 1024 : undefined;
      } catch {
        return undefined;
      }
    },
    output: () => [...lines],
    async stop() {
      if (exited !== undefined) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(killer);
    },
  };
}
