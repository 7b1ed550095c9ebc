// npm run bench:redis: the reference on Redis next to the reference in memory, each broker in a process
// of its own: CONNECT rate and QoS 1 throughput of one Redis instance as ratios to memory, CONNECT rate
// of two Redis instances (the clients alternate between them) as a ratio to one, and the requests
// Redis gets per CONNECT and per QoS 1 message (counted by MONITOR in a pass of their own: each is a
// round trip unless pipelined with others), and the round trips a CONNECT waits for in turn
// (redis-round-trips.ts). The CONNECT clients run in processes of their own
// (connect-driver.ts), so that they are not one process's turn after the brokers'; the CPU each broker,
// the clients, Redis and the whole machine (other work included) spent per phase is printed, to show
// what bounded the rate. Rounds are interleaved and ratios are medians of each round's ratio. Needs
// Debian's redis-server (started here on a free loopback port).
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { runCli, wholeNumberFlag } from '../common/cli.ts';
import { UserError } from '../common/errors.ts';
import { loadPki } from '../certs/manifest.ts';
import { DEFAULT_PKI_DIR, ensurePki } from '../certs/pki.ts';
import { REDIS_AVAILABLE, startRedis } from '../testkit/redis-server.ts';
import type { ConnectRun } from './connect-driver.ts';
import { coresFlag, limitCpu } from './cpu-limit.ts';
import { clientContext } from './lean-client.ts';
import { qosThroughput } from './qos-throughput.ts';
import { countRequests, perUnit } from './redis-requests.ts';
import { roundTripsInTurn } from './redis-round-trips.ts';

const USAGE = `usage: npm run bench:redis [-- options]
  --rounds N        interleaved rounds (default 5)
  --connects N      connects per round and setup, spread over the client processes (default 400; 0 skips the CONNECT comparison)
  --drivers N       client processes for the CONNECTs, each 16 at a time (default 2)
  --qos-messages N  QoS 1 messages per round and broker (default 5000; 0 skips the QoS 1 comparison)
  --qos-window N    QoS 1 messages the publisher has unacknowledged at a time (default 64; Event Grid lets a session have 1,000)
  --identities DIR  the PKI to use (default pki/)
  --cpu-prof DIR    each broker process writes a CPU profile (node --cpu-prof) as it stops, into DIR/memory or DIR/redis
  --cpu-limit CORES each broker process gets at most CORES of CPU (0.5 = half a core; a Linux cgroup of its own, as root),
                    so that the clients on the same machine are not what bounds a rate`;

interface Instance {
  child: ChildProcess;
  /** Removes its cgroup once it has exited (--cpu-limit). */
  unlimit?: () => Promise<void>;
  url: string;
  host: string;
  port: number;
}

interface InstanceOptions {
  redisUrl?: string;
  profileDir?: string;
  cpuLimit?: number;
}

/** The broker processes started and not stopped yet, with what removes each one's cgroup: a benchmark that fails ends them. */
const running = new Map<ChildProcess, (() => Promise<void>) | undefined>();

async function instance(pkiDir: string, { redisUrl, profileDir, cpuLimit }: InstanceOptions = {}): Promise<Instance> {
  const profile = profileDir ? ['--cpu-prof', '--cpu-prof-dir', join(profileDir, redisUrl ? 'redis' : 'memory')] : [];
  const child = fork(resolve('bench/broker-process.ts'), ['reference', pkiDir, ...(redisUrl ? [redisUrl] : [])], {
    execArgv: ['--import', 'tsx', '--expose-gc', ...profile],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // Known before its cgroup is made, which may fail: the benchmark's end then ends it.
  running.set(child, undefined);
  const unlimit = cpuLimit === undefined ? undefined : limitCpu(child.pid!, cpuLimit);
  running.set(child, unlimit);
  const exited = once(child, 'exit').then(([code]) => Promise.reject(new Error(`a broker process exited (code ${code}) before it listened`)));
  const [first] = (await Promise.race([once(child, 'message'), exited])) as [{ url: string }];
  const url = new URL(first.url);
  return { child, unlimit, url: first.url, host: url.hostname, port: Number(url.port) };
}

/** Ends what is left of the broker processes (a benchmark that failed) and removes their cgroups. */
async function endRunning(): Promise<void> {
  await Promise.all(
    [...running].map(async ([child, unlimit]) => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      }
      await unlimit?.();
    }),
  );
  running.clear();
}

/** A broker process's CPU time so far, µs. */
async function cpuOf(instance: Instance): Promise<number> {
  instance.child.send('cpu');
  const [reply] = (await once(instance.child, 'message')) as [{ cpu: NodeJS.CpuUsage }];
  return reply.cpu.user + reply.cpu.system;
}

async function stop(instance: Instance): Promise<void> {
  instance.child.send('stop');
  await once(instance.child, 'exit');
  running.delete(instance.child);
  await instance.unlimit?.();
}

async function driver(pkiDir: string): Promise<ChildProcess> {
  const child = fork(resolve('bench/connect-driver.ts'), [pkiDir], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await once(child, 'message');
  return child;
}

/** The whole machine's CPU time so far (every process's, this benchmark's and others'), µs, busy and all. */
function machineCpu(): { busy: number; all: number } {
  let busy = 0;
  let all = 0;
  for (const { times } of cpus()) {
    busy += times.user + times.nice + times.sys + times.irq;
    all += times.user + times.nice + times.sys + times.irq + times.idle;
  }
  return { busy: busy * 1000, all: all * 1000 };
}

/** Redis's CPU time so far, µs. */
async function redisCpu(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const seconds = (field: string) => Number(new RegExp(`^${field}:([0-9.]+)`, 'm').exec(info)?.[1] ?? 0);
  return (seconds('used_cpu_sys') + seconds('used_cpu_user')) * 1e6;
}

/** One CONNECT phase: its rate, and the cores each party kept busy (CPU time / wall time). */
interface ConnectPhase {
  rate: number;
  /** The brokers' CPU time a CONNECT, ms (all instances together). */
  brokerMs: number;
  brokers: number[];
  clients: number;
  redis: number;
  /** The machine's busy share of its cores (2 = both busy), other sessions' work included. */
  machine: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const cores = (values: number[]) => values.map((value) => value.toFixed(2)).join(' + ');

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      rounds: { type: 'string', default: '5' },
      connects: { type: 'string', default: '400' },
      drivers: { type: 'string', default: '2' },
      'qos-messages': { type: 'string', default: '5000' },
      'qos-window': { type: 'string', default: '64' },
      identities: { type: 'string', default: DEFAULT_PKI_DIR },
      'cpu-prof': { type: 'string' },
      'cpu-limit': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return console.log(USAGE);
  if (!REDIS_AVAILABLE) throw new UserError('redis-server is not installed (Debian: apt-get install redis-server)');
  const rounds = wholeNumberFlag(values.rounds as string, '--rounds', 1);
  const connects = wholeNumberFlag(values.connects as string, '--connects', 0);
  const qosMessages = wholeNumberFlag(values['qos-messages'] as string, '--qos-messages', 0);
  const qosWindow = wholeNumberFlag(values['qos-window'] as string, '--qos-window', 1, 65_535);
  const cpuLimit = values['cpu-limit'] === undefined ? undefined : coresFlag(values['cpu-limit']);
  await ensurePki({ outDir: values.identities, log: () => {} });
  const pki = loadPki(values.identities);
  const alpha = pki.identities.get('alpha')!;
  const observer = pki.identities.get('observer')!;
  const context = clientContext(pki, alpha);
  const server = await startRedis();
  const admin = new Redis(server.url);
  const drivers = await Promise.all(Array.from({ length: wholeNumberFlag(values.drivers as string, '--drivers', 1, 16) }, () => driver(pki.dir)));
  console.log(`load average at the start: ${loadavg().map((load) => load.toFixed(2)).join(', ')} (${cpus().length} cores)${cpuLimit === undefined ? '' : `; each broker limited to ${cpuLimit} of a core`}`);
  try {
    const profileDir = values['cpu-prof'] ? resolve(values['cpu-prof']) : undefined;
    const memory = await instance(pki.dir, { profileDir, cpuLimit });
    const onRedis = { redisUrl: server.url, profileDir, cpuLimit };
    const [redisA, redisB] = [await instance(pki.dir, onRedis), await instance(pki.dir, onRedis)];
    let runs = 0;
    /** `count` CONNECTs of persistent sessions (expiry 60 s, then DISCONNECT) over `targets` in turn, shared among the client processes. */
    const connectPhase = async (targets: Instance[], count = connects): Promise<ConnectPhase> => {
      const cpuBefore = await Promise.all(targets.map(cpuOf));
      const [redisBefore, machineBefore] = [await redisCpu(admin), machineCpu()];
      const started = performance.now();
      const perDriver = Math.ceil(count / drivers.length);
      const clientCpu = await Promise.all(
        drivers.map(async (child, index) => {
          const run: ConnectRun = { urls: targets.map((target) => target.url), count: perDriver, concurrency: 16, prefix: `bench-${(runs += 1)}-${index}` };
          child.send(run);
          const [reply] = (await once(child, 'message')) as [{ cpuMicros: number }];
          return reply.cpuMicros;
        }),
      );
      const wall = (performance.now() - started) * 1000;
      const cpuAfter = await Promise.all(targets.map(cpuOf));
      const [redisAfter, machineAfter] = [await redisCpu(admin), machineCpu()];
      const made = perDriver * drivers.length;
      return {
        rate: made / (wall / 1e6),
        brokerMs: cpuAfter.reduce((sum, after, index) => sum + after - cpuBefore[index]!, 0) / made / 1000,
        brokers: cpuAfter.map((after, index) => (after - cpuBefore[index]!) / wall),
        clients: clientCpu.reduce((sum, micros) => sum + micros, 0) / wall,
        redis: (redisAfter - redisBefore) / wall,
        machine: ((machineAfter.busy - machineBefore.busy) / (machineAfter.all - machineBefore.all)) * cpus().length,
      };
    };
    const describe = (phase: ConnectPhase) =>
      `${phase.rate.toFixed(0)}/s, broker CPU ${phase.brokerMs.toFixed(2)} ms a CONNECT (cores busy: broker ${cores(phase.brokers)}, clients ${phase.clients.toFixed(2)}, Redis ${phase.redis.toFixed(2)}; the machine ${phase.machine.toFixed(2)} of ${cpus().length})`;

    /** One publisher, one persistent subscriber, `qosMessages` QoS 1 messages, `qosWindow` unacknowledged at a time. */
    const qosOptions = (target: Instance, topic: string) => ({
      host: target.host,
      port: target.port,
      subscriber: { context, username: 'alpha' },
      publisher: { context: clientContext(pki, observer), username: 'observer' },
      topic: `mmc/alpha/${topic}`,
      messages: qosMessages,
      window: qosWindow,
    });
    const ratios = { redisToMemory: [] as number[], twoToOne: [] as number[], qos: [] as number[] };
    const phases = { memory: [] as ConnectPhase[], redis: [] as ConnectPhase[], two: [] as ConnectPhase[] };
    const qosRates = { memory: [] as number[], redis: [] as number[] };
    const qosCpu = { memory: [] as number[], redis: [] as number[], redisServer: [] as number[] };
    // A round's worth of work first, untimed: the first round ran each broker's code cold (JIT), at up to
    // three times the CPU a message of the rounds after it.
    if (connects > 0) for (const target of [memory, redisA, redisB]) await connectPhase([target], Math.min(connects, 100));
    if (qosMessages > 0) for (const target of [memory, redisA]) await qosThroughput({ ...qosOptions(target, 'warm-up'), messages: Math.min(qosMessages, 2000) });
    for (let round = 0; round < rounds; round += 1) {
      if (connects > 0) {
        const inMemory = await connectPhase([memory]);
        const onRedis = await connectPhase([redisA]);
        const onTwo = await connectPhase([redisA, redisB]);
        phases.memory.push(inMemory);
        phases.redis.push(onRedis);
        phases.two.push(onTwo);
        ratios.redisToMemory.push(onRedis.rate / inMemory.rate);
        ratios.twoToOne.push(onTwo.rate / onRedis.rate);
        console.log(`round ${round + 1}: CONNECT in memory ${describe(inMemory)}`);
        console.log(`round ${round + 1}: CONNECT on Redis ${describe(onRedis)}`);
        console.log(`round ${round + 1}: CONNECT on two Redis instances ${describe(onTwo)}`);
      }
      if (qosMessages > 0) {
        const qos = (target: Instance) => qosThroughput(qosOptions(target, `bench-${round}`));
        /** The run, and the broker's and Redis's CPU time per message, µs. */
        const measured = async (target: Instance) => {
          const [before, redisBefore] = [await cpuOf(target), await redisCpu(admin)];
          const result = await qos(target);
          const [after, redisAfter] = [await cpuOf(target), await redisCpu(admin)];
          return { ...result, cpu: (after - before) / qosMessages, redisCpu: (redisAfter - redisBefore) / qosMessages };
        };
        const [m, r] = [await measured(memory), await measured(redisA)];
        qosRates.memory.push(m.rate);
        qosRates.redis.push(r.rate);
        qosCpu.memory.push(m.cpu);
        qosCpu.redis.push(r.cpu);
        qosCpu.redisServer.push(r.redisCpu);
        ratios.qos.push(r.rate / m.rate);
        console.log(
          `round ${round + 1}: QoS 1 ${m.rate.toFixed(0)}/s in memory (broker CPU ${m.cpu.toFixed(0)} µs a message), ${r.rate.toFixed(0)}/s on Redis (broker CPU ${r.cpu.toFixed(0)} µs, Redis ${r.redisCpu.toFixed(0)} µs a message; lost ${r.lost}, duplicates ${r.duplicates})`,
        );
      }
    }
    const medianPhase = (list: ConnectPhase[]) => describe({
      rate: median(list.map((phase) => phase.rate)),
      brokerMs: median(list.map((phase) => phase.brokerMs)),
      brokers: list[0]!.brokers.map((_, index) => median(list.map((phase) => phase.brokers[index]!))),
      clients: median(list.map((phase) => phase.clients)),
      redis: median(list.map((phase) => phase.redis)),
      machine: median(list.map((phase) => phase.machine)),
    });
    if (connects > 0) {
      console.log(`medians: CONNECT in memory ${medianPhase(phases.memory)}; on Redis ${medianPhase(phases.redis)}; on two Redis instances ${medianPhase(phases.two)}`);
      console.log(`CONNECT rate, Redis / memory: ${median(ratios.redisToMemory).toFixed(2)} (goal >= 0.5)`);
      console.log(`CONNECT rate, two Redis instances / one: ${median(ratios.twoToOne).toFixed(2)} (goal >= 1.3 where the client is not the bottleneck)`);
    }
    if (ratios.qos.length) {
      console.log(`QoS 1 throughput (${qosWindow} unacknowledged at a time), Redis / memory: ${median(ratios.qos).toFixed(2)} (medians ${median(qosRates.redis).toFixed(0)}/s vs ${median(qosRates.memory).toFixed(0)}/s; goal >= 0.5)`);
      console.log(
        `QoS 1 broker CPU a message, memory / Redis: ${(median(qosCpu.memory) / median(qosCpu.redis)).toFixed(2)} (medians ${median(qosCpu.memory).toFixed(0)} µs vs ${median(qosCpu.redis).toFixed(0)} µs, and Redis's own ${median(qosCpu.redisServer).toFixed(0)} µs: the throughput ratio a broker bound by its CPU would show)`,
      );
    }

    // The requests to Redis, counted apart from the timed rounds (MONITOR slows Redis down).
    const counted = 200;
    if (connects > 0) {
      const perConnect = await countRequests(server.url, () => connectPhase([redisA], counted).then(() => {}), [admin]);
      console.log(`Redis requests per connection (CONNECT of a persistent session, no subscription, then DISCONNECT): ${(perConnect.requests / counted).toFixed(2)}: ${perUnit(perConnect, counted)}`);
    }
    if (qosMessages > 0) {
      const perMessage = await countRequests(server.url, async () => {
        const result = await qosThroughput({ ...qosOptions(redisA, 'bench-counted'), messages: counted });
        if (result.lost) throw new Error(`${result.lost} of the counted QoS 1 messages were lost`);
      }, [admin]);
      // The two sessions' CONNECTs, SUBSCRIBE and ends are in the count too: a few hundredths per message.
      console.log(`Redis requests per QoS 1 message (one publisher, one persistent subscriber): ${(perMessage.requests / counted).toFixed(2)}: ${perUnit(perMessage, counted)}`);
    }
    const inTurn = await roundTripsInTurn(
      server.url,
      async (url) => {
        const started = await instance(pki.dir, { redisUrl: url });
        return { url: started.url, stop: () => stop(started) };
      },
      context,
    );
    console.log(`Redis round trips in turn before a CONNACK (an instance reaching Redis through a relay that holds each answer): ${inTurn.fresh} for a new persistent session, ${inTurn.resumed} for a held session with a subscription resumed`);
    console.log(`load average at the end: ${loadavg().map((load) => load.toFixed(2)).join(', ')}`);
    await Promise.all([stop(memory), stop(redisA), stop(redisB)]);
  } finally {
    await endRunning();
    for (const child of drivers) child.send('stop');
    admin.disconnect();
    await server.stop();
  }
}

await runCli(USAGE, () => main(process.argv.slice(2)));
