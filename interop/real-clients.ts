// MQTT clients nobody here wrote, as child processes: Debian's mosquitto_sub and mosquitto_pub, and
// Eclipse Paho for Python through interop/paho_client.py. Each is found once (a test skips, saying
// why, where its client is missing), runs with a hard time limit, and has its output kept line by
// line, in the order it came, for the test to wait on and to read.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { LoadedPki } from '../certs/manifest.ts';

/** The first of `candidates` that runs at all (whatever its exit code), or undefined. */
function firstThatRuns(candidates: string[], args: string[]): string | undefined {
  return candidates.find((candidate) => spawnSync(candidate, args, { stdio: 'ignore', timeout: 10_000 }).error === undefined);
}

export const MOSQUITTO_SUB = firstThatRuns(['mosquitto_sub'], ['--help']);
export const MOSQUITTO_PUB = firstThatRuns(['mosquitto_pub'], ['--help']);
/**
 * coreutils' stdbuf: the mosquitto clients print with C's stdio, which holds a pipe's output until
 * it has a block or the process ends; `stdbuf -oL` makes it hand over every line as it is printed.
 */
const STDBUF = firstThatRuns(['stdbuf'], ['--version']);
const lineBuffered = (command: string, args: string[]): [string, string[]] => (STDBUF ? [STDBUF, ['-oL', command, ...args]] : [command, args]);

export const PAHO_SCRIPT = fileURLToPath(new URL('./paho_client.py', import.meta.url));

/**
 * A Python that can import paho-mqtt, and paho's version: the `python3` on PATH first (it may be a
 * pyenv or venv one without it), then Debian's own, where python3-paho-mqtt installs.
 */
function findPaho(): { python: string; version: string } | undefined {
  for (const python of ['python3', '/usr/bin/python3']) {
    const probe = spawnSync(python, ['-c', 'import paho.mqtt; print(paho.mqtt.__version__)'], { encoding: 'utf8', timeout: 10_000 });
    if (probe.error === undefined && probe.status === 0) return { python, version: probe.stdout.trim() };
  }
  return undefined;
}

export const PAHO = findPaho();

/** The files a client presents for an identity of the PKI, and the name it gives as Username. */
export interface IdentityFiles {
  ca: string;
  /** The chain where the PKI has one (leaf then the CA that signed it), else the certificate. */
  cert: string;
  key: string;
  username: string;
}

export function identityFiles(pki: LoadedPki, id: string): IdentityFiles {
  const entry = pki.manifest.identities.find((identity) => identity.id === id);
  if (!entry) throw new Error(`no identity ${id} in the PKI`);
  return {
    ca: join(pki.dir, pki.manifest.ca.root.certificate),
    cert: join(pki.dir, entry.chain ?? entry.certificate),
    key: join(pki.dir, entry.key),
    username: entry.authenticationName,
  };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A client process: its output lines as they come, stdout and stderr in one list, and its end. */
export class ClientProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<Exit>;
  private readonly child: ChildProcess;
  private readonly waiters = new Set<() => void>();
  private exit: Exit | undefined;

  constructor(
    readonly command: string,
    readonly args: string[],
    /** Killed (SIGKILL) past this, whatever it is doing. */
    limitMs: number,
  ) {
    this.child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const limit = setTimeout(() => this.child.kill('SIGKILL'), limitMs);
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop()!;
        this.lines.push(...parts);
        this.notify();
      });
      stream.on('end', () => {
        if (partial) this.lines.push(partial);
        partial = '';
        this.notify();
      });
    }
    this.exited = new Promise((resolve) => {
      this.child.on('error', (error) => {
        this.lines.push(`spawn error: ${error.message}`);
        clearTimeout(limit);
        this.exit = { code: null, signal: null };
        this.notify();
        resolve(this.exit);
      });
      this.child.on('close', (code, signal) => {
        clearTimeout(limit);
        this.exit = { code, signal };
        this.notify();
        resolve(this.exit);
      });
    });
    RUNNING.add(this);
    void this.exited.then(() => RUNNING.delete(this));
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  private notify() {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** The first line matching `pattern`, once it has come; an error showing the output if it does not within `ms`. */
  async line(pattern: RegExp, ms = 5000): Promise<string> {
    await this.until(() => this.lines.some((line) => pattern.test(line)), `a line matching ${pattern}`, ms);
    return this.lines.find((line) => pattern.test(line))!;
  }

  /** Once `condition` holds (checked at each line and at the end); an error showing the output if it does not within `ms`. */
  async until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (condition()) return finish(() => resolve());
        if (this.exit) return finish(() => reject(new Error(`${this.describe()} ended (${JSON.stringify(this.exit)}) without ${what}:\n${this.lines.join('\n')}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`no ${what} from ${this.describe()} within ${ms} ms:\n${this.lines.join('\n')}`))), ms);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        settle();
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Its exit, once it has ended; an error showing the output if it has not within `ms`. */
  async ended(ms = 8000): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.describe()} still running after ${ms} ms:\n${this.lines.join('\n')}`)), ms);
    });
    try {
      return await Promise.race([this.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Ends it at once, with no DISCONNECT: the kernel closes its connection. */
  async kill(): Promise<Exit> {
    this.child.kill('SIGKILL');
    return this.exited;
  }

  describe(): string {
    // Files by their names alone; the stdbuf in front left out.
    const words = this.command === STDBUF ? this.args.slice(1) : [this.command, ...this.args];
    return words.map((word) => (word.startsWith('/') ? word.split('/').pop() : word)).join(' ');
  }
}

const RUNNING = new Set<ClientProcess>();

/** Kills every client process still running (for afterEach). */
export async function killClients(): Promise<void> {
  await Promise.all([...RUNNING].map((client) => client.kill()));
}

// --- mosquitto_sub and mosquitto_pub -----------------------------------------------------------

export type Version = '5' | '3.1.1';

/** The connection flags of mosquitto_sub and mosquitto_pub: mutual TLS, Username, ClientID, version, debug output. */
export function mosquittoFlags(port: number, files: IdentityFiles, sessionName: string, version: Version): string[] {
  return [
    ...['-h', '127.0.0.1', '-p', String(port), '--cafile', files.ca, '--cert', files.cert, '--key', files.key],
    ...['-u', files.username, '-i', sessionName, '-V', version === '5' ? 'mqttv5' : 'mqttv311', '-d'],
  ];
}

/** A message as mosquitto_sub's `-F %j` prints it. */
export interface MosquittoMessage {
  topic: string;
  qos: number;
  retain: number;
  payload: string;
  properties?: { 'user-properties'?: Record<string, string> };
}

/** What a mosquitto client's `-d` output (and `-F %j` lines) says it saw. */
export interface MosquittoObservations {
  connacks: number[];
  /** Each SUBACK: the granted QoS or reason code of each filter. */
  subacks: number[][];
  /** Each PUBLISH received, with its header flags. */
  publishes: { dup: number; qos: number; retain: number; topic: string }[];
  pubacks: number[];
  /** Reason codes of the DISCONNECTs the server sent. */
  disconnects: number[];
  messages: MosquittoMessage[];
}

export function mosquittoObservations(lines: string[]): MosquittoObservations {
  const seen: MosquittoObservations = { connacks: [], subacks: [], publishes: [], pubacks: [], disconnects: [], messages: [] };
  for (const line of lines) {
    let match: RegExpMatchArray | null;
    if ((match = line.match(/received CONNACK \((\d+)\)/))) seen.connacks.push(Number(match[1]));
    else if ((match = line.match(/^Subscribed \(mid: \d+\): ([\d, ]+)$/))) seen.subacks.push(match[1]!.split(', ').map(Number));
    else if ((match = line.match(/received PUBLISH \(d(\d), q(\d), r(\d), m\d+, '(.*)', \.\.\./))) {
      seen.publishes.push({ dup: Number(match[1]), qos: Number(match[2]), retain: Number(match[3]), topic: match[4]! });
    } else if ((match = line.match(/received PUBACK \(Mid: \d+, RC:(\d+)\)/))) seen.pubacks.push(Number(match[1]));
    else if ((match = line.match(/^Received DISCONNECT \((\d+)\)/))) seen.disconnects.push(Number(match[1]));
    else if (line.startsWith('{"tst":')) seen.messages.push(JSON.parse(line) as MosquittoMessage);
  }
  return seen;
}

/** Starts mosquitto_sub (`-F %j`: one JSON line a message) with these further flags. */
export function mosquittoSub(port: number, files: IdentityFiles, sessionName: string, version: Version, flags: string[], limitMs = 10_000): ClientProcess {
  return new ClientProcess(...lineBuffered(MOSQUITTO_SUB!, [...mosquittoFlags(port, files, sessionName, version), '-F', '%j', ...flags]), limitMs);
}

/** Runs mosquitto_pub with these further flags to its end. */
export async function mosquittoPub(port: number, files: IdentityFiles, sessionName: string, version: Version, flags: string[]): Promise<{ exit: Exit; lines: string[] }> {
  const client = new ClientProcess(...lineBuffered(MOSQUITTO_PUB!, [...mosquittoFlags(port, files, sessionName, version), ...flags]), 10_000);
  const exit = await client.ended(10_000);
  return { exit, lines: client.lines };
}

// --- Paho (Python) ------------------------------------------------------------------------------

/** One line of paho_client.py's output (see the script's docstring). */
export interface PahoEvent {
  event: 'connack' | 'suback' | 'puback' | 'message' | 'disconnect' | 'disconnectPacket' | 'connectionLost' | 'clientError' | 'end';
  reasonCode?: number;
  reasonCodes?: number[];
  sessionPresent?: boolean;
  properties?: Record<string, unknown>;
  topic?: string;
  payload?: string;
  qos?: number;
  dup?: boolean;
  retain?: boolean;
  error?: string;
  reason?: string;
  remainingLength?: number;
}

/** Starts paho_client.py: `command` sub or pub, connected as `files` with `sessionName`, with these further flags. */
export function paho(command: 'sub' | 'pub', port: number, files: IdentityFiles, sessionName: string, version: Version, flags: string[], limitMs = 10_000): ClientProcess {
  const connection = ['--port', String(port), '--ca', files.ca, '--cert', files.cert, '--key', files.key, '--username', files.username, '--id', sessionName];
  return new ClientProcess(PAHO!.python, [PAHO_SCRIPT, command, ...connection, '--version', version === '5' ? '5' : '311', ...flags], limitMs);
}

/** The events a paho_client.py run printed so far. */
export function pahoEvents(client: ClientProcess): PahoEvent[] {
  return client.lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as PahoEvent);
}

/** Runs paho_client.py to its end and returns its events. */
export async function pahoRun(command: 'sub' | 'pub', port: number, files: IdentityFiles, sessionName: string, version: Version, flags: string[]): Promise<PahoEvent[]> {
  const client = paho(command, port, files, sessionName, version, flags);
  const exit = await client.ended(12_000);
  if (exit.code !== 0) throw new Error(`${client.describe()} exited ${JSON.stringify(exit)}:\n${client.lines.join('\n')}`);
  return pahoEvents(client);
}
