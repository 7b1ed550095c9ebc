// The broker under stress, as `npm run broker` runs it: a child process on 127.0.0.1 with free ports
// for MQTT over TLS and over WebSockets, whose resident memory and open sockets are read from /proc and
// whose exit is a crash.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface BrokerProcess {
  /** MQTT over TLS. */
  port: number;
  /** MQTT over WebSockets (wss://127.0.0.1:wsPort/mqtt). */
  wsPort: number;
  pid: number;
  /** Set once the process has exited. */
  exitCode(): number | null | undefined;
  /** Resident set size, MiB; undefined once the process is gone. */
  rssMiB(): number | undefined;
  /** Sockets the process holds open (listening ones and Redis connections included); undefined once it is gone. */
  openSockets(): number | undefined;
  /** The broker's output so far (last lines). */
  output(): string[];
  stop(): Promise<void>;
  /** Ends the process with SIGKILL, as a crash or an OOM killer would, and waits for its exit. */
  kill(): Promise<void>;
}

export interface BrokerProcessOptions {
  pkiDir: string;
  namespaceFile: string;
  handshakeTimeoutMs: number;
  connectTimeoutMs: number;
  /** An instance of a namespace kept in this Redis (`--redis`). */
  redisUrl?: string;
  /** The ports to listen on (a restart takes its predecessor's); default free ones. */
  ports?: { port: number; wsPort: number };
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
      String(options.ports?.port ?? 0),
      '--ws-port',
      String(options.ports?.wsPort ?? 0),
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
  const [port, wsPort] = await new Promise<[number, number]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the broker did not start in 60 s:\n${lines.join('\n')}`)), 60_000);
    const look = () => {
      const match = lines.join('\n').match(/listening on mqtts:\/\/[^:]+:(\d+) and wss:\/\/[^:]+:(\d+)\//);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off('data', look);
        resolve([Number(match[1]), Number(match[2])]);
      }
    };
    child.stdout!.on('data', look);
    void exit.then(() => reject(new Error(`the broker exited at start:\n${lines.join('\n')}`)));
  });
  return {
    port,
    wsPort,
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
    openSockets() {
      try {
        const dir = `/proc/${child.pid}/fd`;
        return readdirSync(dir).filter((fd) => {
          try {
            return readlinkSync(`${dir}/${fd}`).startsWith('socket:');
          } catch {
            return false; // closed while listed
          }
        }).length;
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
    async kill() {
      if (exited !== undefined) return;
      child.kill('SIGKILL');
      await exit;
    },
  };
}
