// A Redis of a test's own: Debian's redis-server as a child process on a free loopback port, saving
// nothing (or, when the test needs persistence, an append-only file in a temporary directory that
// outlives restarts of the server). Tests that need it skip, saying so in one line, where it is absent.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import MQEmitterRedis from 'mqemitter-redis';
import { afterAll, afterEach, beforeAll } from 'vitest';

const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';

/** Whether redis-server can be started here. */
export const REDIS_AVAILABLE = spawnSync(REDIS_SERVER, ['--version'], { stdio: 'ignore', timeout: 10_000 }).error === undefined;

/** The line a test file prints when it skips for want of redis-server. */
export function redisSkipNotice(file: string): void {
  if (!REDIS_AVAILABLE) console.log(`${file}: skipped: redis-server is not installed (Debian: apt-get install redis-server)`);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Waits until something accepts connections on the port, or until `over` (the server exited: nothing to wait for). */
async function accepting(port: number, deadline: number, over: () => boolean): Promise<void> {
  for (;;) {
    if (over()) return;
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not accept connections on 127.0.0.1:${port}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface TestRedis {
  url: string;
  port: number;
  /** Stops the server as `kill -9` would (with persistence, what it wrote so far is kept). */
  kill(): Promise<void>;
  /** Starts it again on the same port and directory (after kill). */
  restart(): Promise<void>;
  /** Stalls it (SIGSTOP: its connections stay open and nothing is answered) or lets it go on (SIGCONT). */
  stall(stalled: boolean): void;
  /** Stops it and removes its directory. */
  stop(): Promise<void>;
}

/** The process id of the Redis server answering on the port. */
async function serverProcessId(port: number): Promise<number> {
  const probe = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await probe.connect();
    return Number(/process_id:(\d+)/.exec(await probe.info('server'))?.[1]);
  } catch {
    return Number.NaN;
  } finally {
    probe.disconnect();
  }
}

/** Starts redis-server on a free loopback port; `persistent`: an append-only file, fsynced always, in a temporary directory. */
export async function startRedis(options: { persistent?: boolean } = {}): Promise<TestRedis> {
  let port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'mmc-redis-'));
  // Tests give each namespace a database of its own: more than Redis's default 16.
  const args = () => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--protected-mode', 'no', '--databases', '64', ...(options.persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'])];
  let child: ChildProcess | undefined;
  /**
   * Whether the server started answers on the port. Test files start theirs at once: another file's
   * server may take the port between freePort() and this one's start, which then exits, and a test
   * that used that port lost its Redis when the other file stopped (its requests failed after 10 s).
   */
  const start = async (): Promise<boolean> => {
    const started = spawn(REDIS_SERVER, args(), { stdio: 'ignore' });
    child = started;
    const exited = new Promise<void>((resolve) => started.once('exit', () => resolve()));
    // Its exit ends the wait: the port was taken, and another process may or may not answer there.
    await Promise.race([accepting(port, Date.now() + 10_000, () => started.exitCode !== null || started.signalCode !== null), exited]);
    return started.exitCode === null && (await serverProcessId(port)) === started.pid;
  };
  const kill = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  for (let attempt = 1; !(await start()); attempt += 1) {
    await kill();
    if (attempt === 5) throw new Error(`redis-server did not start on a free port of its own (${attempt} tried)`);
    port = await freePort();
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    async restart() {
      if (!(await start())) throw new Error(`redis-server did not start again on 127.0.0.1:${port}: another process holds it`);
    },
    stall(stalled) {
      child?.kill(stalled ? 'SIGSTOP' : 'SIGCONT');
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * redis-server for a test file, started before its tests and stopped after them (where it is
 * installed), and connections to it (`connect`: to database `db`), each closed by `closeAt` (after the
 * tests, or after each test).
 */
function serverForTestFile(closeAt: typeof afterAll | typeof afterEach): { connect(db: number, options?: RedisOptions): Redis } {
  let server: TestRedis | undefined;
  const connections: Redis[] = [];
  beforeAll(async () => {
    if (REDIS_AVAILABLE) server = await startRedis();
  });
  afterAll(() => server?.stop());
  // Registered after the server's stop: vitest runs the later hook first.
  closeAt(() => {
    for (const connection of connections.splice(0)) connection.disconnect();
  });
  return {
    connect(db, options = {}) {
      const connection = new Redis(`${server!.url}/${db}`, options);
      connections.push(connection);
      return connection;
    },
  };
}

/**
 * For a test file: redis-server, and connections to it, closed after the tests: `fresh`, each to a
 * fresh database of its own; `database`, a fresh database for connections of its own (several
 * instances of one namespace).
 */
export function redisForTestFile(): { fresh(options?: RedisOptions): Redis; database(): (options?: RedisOptions) => Redis } {
  const server = serverForTestFile(afterAll);
  let databases = 0;
  const database = () => {
    const db = (databases += 1);
    return (options?: RedisOptions) => server.connect(db, options);
  };
  return { fresh: (options) => database()(options), database };
}

/** aedes' fan-out between instances, as the reference makes it on Redis. */
export type FanOut = ReturnType<typeof MQEmitterRedis>;

/**
 * For a test file: redis-server, and aedes' fan-outs on it (mqemitter-redis, on two connections of its
 * own each: `fanOut`) and other connections to it (`connection`), all closed after each test.
 */
export function fanOutsForTestFile(): { fanOut(options?: RedisOptions): { mq: FanOut; pub: Redis; sub: Redis }; connection(options?: RedisOptions): Redis } {
  const server = serverForTestFile(afterEach);
  const fanouts: FanOut[] = [];
  // Run before the connections are closed (the later hook first): a fan-out quits its own.
  afterEach(() => Promise.all(fanouts.splice(0).map((mq) => new Promise<void>((resolve) => mq.close(() => resolve())))));
  return {
    fanOut(options) {
      const [pub, sub] = [server.connect(0, options), server.connect(0, options)];
      const mq = MQEmitterRedis({ pubConn: pub, subConn: sub });
      fanouts.push(mq);
      return { mq, pub, sub };
    },
    connection: (options) => server.connect(0, options),
  };
}

/**
 * From now on each request on the connection reaches Redis `ms` late, in order, as from a loaded
 * instance (its answers come as they come). The connection must be connected: its socket is wrapped.
 */
export function slowRequests(connection: Redis, ms: number): void {
  const socket = (connection as unknown as { stream: { write(data: unknown): boolean } }).stream;
  const write = socket.write.bind(socket);
  let previous = Promise.resolve();
  socket.write = (data: unknown) => {
    const due = Date.now() + ms;
    previous = previous.then(() => new Promise((resolve) => setTimeout(resolve, due - Date.now()))).then(() => void write(data));
    return true;
  };
}
