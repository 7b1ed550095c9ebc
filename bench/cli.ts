// npm run bench [-- flags]: how fast and how lean the reference broker is (CONNECT rate, QoS 1 throughput,
// through a shared subscription too, and losses across takeovers, held sessions), next to plain aedes 2.0 beta
// (same TLS setup) and Debian's mosquitto when installed. Loopback only, bounded counts; brokers run
// in processes of their own, and measurements are interleaved across brokers and reported as medians.
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { runCli } from '../common/cli.ts';
import { UserError } from '../common/errors.ts';
import { loadPki, type LoadedPki } from '../certs/manifest.ts';
import { DEFAULT_PKI_DIR, ensurePki } from '../certs/pki.ts';
import { TRANSPORTS } from '../rules/transports.ts';
import { findMosquitto, startMosquitto, type BenchBroker } from './brokers.ts';
import { clientContext, leanConnect, leanRate, type LeanConnect } from './lean-client.ts';
import { qosThroughput } from './qos-throughput.ts';
import { runStress } from '../stress/stress.ts';
import { formatFigure } from '../stress/runs.ts';

const USAGE = `usage: npm run bench [-- options]
  --rounds N            interleaved rounds of the connect-rate comparison (default 5; 0 skips it)
  --sequential N        connects per round, one at a time (default 40)
  --concurrent N        connects per round, --concurrency at a time (default 160)
  --concurrency N       (default 16)
  --qos-rounds N        interleaved rounds of the QoS 1 throughput comparison, after one to warm up (default 7; 0 skips it)
  --qos-messages N      QoS 1 messages per round (default 20000)
  --qos-window N        QoS 1 messages the publisher has unacknowledged at a time (default 64)
  --shared-rounds N     interleaved rounds of QoS 1 throughput through a shared subscription of
                        --shared-sessions sessions against a plain subscription, on the reference
                        (same messages and window as --qos-*; default 5; 0 skips it)
  --shared-sessions N   sessions in the shared subscription group (default 4)
  --noloss N            QoS 1 messages of the takeover run (npm run stress's noloss: 1,000 a second, a
                        takeover every 100 ms; default 10000; 0 skips it)
  --held 1000,10000     held-session counts to measure memory and latency at (100000 takes minutes; 0 skips it)
  --latency-samples N   connects measured at each held count (default 100)
  --suite-runs N        timed runs of npm run conformance (default 3; 0 skips)
  --no-pki              skip the PKI timing (npm run bench:certs)
  --identities DIR      the PKI to use (default pki/)`;

const run = promisify(execFile);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((sorted.length * p) / 100) - 1)] ?? NaN;
}
const count = (text: string, flag: string) => {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new UserError(`${flag} takes a whole number, not "${text}"`);
  return value;
};

interface ProcessBroker extends BenchBroker {
  memory(): Promise<{ heapUsed: number; external: number; arrayBuffers: number; rss: number }>;
  /** The broker process's CPU time so far (user + system), µs. */
  cpu(): Promise<number>;
}

async function startInProcess(kind: 'reference' | 'aedes', pkiDir: string): Promise<ProcessBroker> {
  const child: ChildProcess = fork(resolve('bench/broker-process.ts'), [kind, pkiDir], { execArgv: ['--import', 'tsx', '--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [first] = (await once(child, 'message')) as [{ url: string; wsUrl?: string }];
  return {
    name: kind,
    url: first.url,
    ...(first.wsUrl ? { wsUrl: first.wsUrl } : {}),
    async memory() {
      child.send('memory');
      const [reply] = (await once(child, 'message')) as [{ memory: Awaited<ReturnType<ProcessBroker['memory']>> }];
      return reply.memory;
    },
    async cpu() {
      child.send('cpu');
      const [reply] = (await once(child, 'message')) as [{ cpu: NodeJS.CpuUsage }];
      return reply.cpu.user + reply.cpu.system;
    },
    async stop() {
      child.send('stop');
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}

function endpoint(url: string) {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port) };
}

let sessionCounter = 0;
function connectOptions(pki: LoadedPki, context: LeanConnect['context'], url: string, expirySeconds = 0, subscribe = false): (index: number) => LeanConnect {
  const username = pki.identities.get('alpha')!.entry.authenticationName;
  const batch = (sessionCounter += 1);
  return (index) => {
    const clientId = `bench-${batch}-${index}`;
    return { url, context, username, clientId, expirySeconds, ...(subscribe ? { subscribe: `bench/${clientId}` } : {}) };
  };
}

const fmt = (value: number, digits = 1) => value.toFixed(digits);

/**
 * QoS 1 throughput: `rounds` interleaved rounds of every broker (a persistent session subscribed at QoS 1,
 * acknowledging; one publisher as fast as the window allows), then the medians as ratios to plain aedes.
 */
async function compareQosThroughput(pki: LoadedPki, pkiDir: string, { rounds, messages, window }: { rounds: number; messages: number; window: number }): Promise<void> {
  const brokers: (BenchBroker & Partial<Pick<ProcessBroker, 'cpu'>>)[] = [await startInProcess('reference', pkiDir), await startInProcess('aedes', pkiDir)];
  const mosquitto = findMosquitto();
  if (mosquitto) brokers.push(await startMosquitto(pki, mosquitto));
  const identity = (id: string) => ({ context: clientContext(pki, pki.identities.get(id)!), username: pki.identities.get(id)!.entry.authenticationName });
  // alpha subscribes to its own topics and the observer publishes there, as the namespace lets them (P1).
  const subscriber = identity('alpha');
  const publisher = identity('observer');
  const figures = new Map(brokers.map((broker) => [broker.name, { rates: [] as number[], cpu: [] as number[], lost: 0, duplicates: 0 }]));
  // Round 0 warms every broker (and the client) up and is not counted.
  for (let round = 0; round <= rounds; round += 1) {
    const order = brokers.map((_, index) => brokers[(index + round) % brokers.length]!);
    for (const broker of order) {
      const { host, port } = endpoint(broker.url);
      const cpuBefore = await broker.cpu?.();
      const result = await qosThroughput({ host, port, subscriber, publisher, topic: `mmc/alpha/bench-qos-${round}`, messages, window });
      const cpuAfter = await broker.cpu?.();
      if (round === 0) continue;
      const figure = figures.get(broker.name)!;
      figure.rates.push(result.rate);
      if (cpuBefore !== undefined && cpuAfter !== undefined) figure.cpu.push((cpuAfter - cpuBefore) / messages);
      figure.lost += result.lost;
      figure.duplicates += result.duplicates;
    }
    if (round) console.log(`qos round ${round}/${rounds}: ${order.map((broker) => `${broker.name} ${fmt(figures.get(broker.name)!.rates.at(-1)!, 0)} msg/s`).join('; ')}`);
  }
  console.log(`\nQoS 1 throughput (mTLS, MQTT 5; a persistent session subscribed at QoS 1 and acknowledging; one publisher, ${window} unacknowledged at a time; ${messages} messages), median of ${rounds} interleaved rounds after one to warm up`);
  console.log('broker      msg/s   x aedes   broker CPU µs/msg   x aedes   lost  duplicates');
  const aedes = figures.get('aedes')!;
  for (const [name, figure] of figures) {
    const cpu = figure.cpu.length ? `${fmt(median(figure.cpu), 1).padStart(17)}   ${fmt(median(aedes.cpu) / median(figure.cpu), 2).padStart(7)}` : `${'-'.padStart(17)}   ${'-'.padStart(7)}`;
    console.log(`${name.padEnd(11)} ${fmt(median(figure.rates), 0).padStart(5)}   ${fmt(median(figure.rates) / median(aedes.rates), 2).padStart(7)}   ${cpu}   ${String(figure.lost).padStart(4)}  ${String(figure.duplicates).padStart(10)}`);
  }
  // The load of a shared machine drifts between rounds: the ratio of the two brokers within each round
  // (measured back to back) moves less than the ratio of their medians.
  const reference = figures.get('reference')!;
  const ratios = (of: (figure: typeof aedes, round: number) => number) => median(reference.rates.map((_, round) => of(reference, round) / of(aedes, round)));
  console.log(
    `reference / plain aedes, QoS 1, median of the rounds' ratios: throughput ${fmt(ratios((figure, round) => figure.rates[round]!), 2)}, ` +
      `broker CPU per message ${fmt(1 / ratios((figure, round) => figure.cpu[round]!), 2)} (goal >= 0.80)`,
  );
  for (const broker of brokers) await broker.stop();
}

/**
 * QoS 1 throughput through a shared subscription (M3): on one reference broker, `rounds` interleaved
 * rounds of a plain subscription (one persistent session) and of a group of `sessions` persistent
 * sessions of the same identity on `$share/bench/{topic}`, the same publisher and window; then the
 * medians and the median of each round's ratio (shared / plain, measured back to back).
 */
async function compareSharedThroughput(pki: LoadedPki, pkiDir: string, { rounds, sessions, messages, window }: { rounds: number; sessions: number; messages: number; window: number }): Promise<void> {
  const broker = await startInProcess('reference', pkiDir);
  const identity = (id: string) => ({ context: clientContext(pki, pki.identities.get(id)!), username: pki.identities.get(id)!.entry.authenticationName });
  const subscriber = identity('alpha');
  const publisher = identity('observer');
  const { host, port } = endpoint(broker.url);
  const kinds = [
    { name: 'plain', subscribers: 1 },
    { name: `shared x${sessions}`, subscribers: sessions, group: 'bench' },
  ];
  const rates = new Map(kinds.map((kind) => [kind.name, [] as number[]]));
  let lost = 0;
  let duplicates = 0;
  // Round 0 warms the broker up and is not counted; the order alternates from round to round.
  for (let round = 0; round <= rounds; round += 1) {
    const order = round % 2 ? [...kinds].reverse() : kinds;
    for (const kind of order) {
      const result = await qosThroughput({ host, port, subscriber, publisher, topic: `mmc/alpha/bench-shared-${round}`, messages, window, subscribers: kind.subscribers, ...(kind.group ? { group: kind.group } : {}) });
      if (round === 0) continue;
      rates.get(kind.name)!.push(result.rate);
      lost += result.lost;
      duplicates += result.duplicates;
    }
    if (round) console.log(`shared round ${round}/${rounds}: ${order.map((kind) => `${kind.name} ${fmt(rates.get(kind.name)!.at(-1)!, 0)} msg/s`).join('; ')}`);
  }
  const plain = rates.get('plain')!;
  const shared = rates.get(`shared x${sessions}`)!;
  console.log(`
QoS 1 throughput through a shared subscription (reference, mTLS, MQTT 5; ${sessions} persistent sessions of one identity in $share/bench/..., against one persistent session's plain subscription; one publisher, ${window} unacknowledged at a time; ${messages} messages), median of ${rounds} interleaved rounds after one to warm up`);
  console.log(`plain ${fmt(median(plain), 0)} msg/s, shared x${sessions} ${fmt(median(shared), 0)} msg/s; lost ${lost}, duplicated ${duplicates}`);
  console.log(`shared x${sessions} / plain, median of the rounds' ratios: ${fmt(median(shared.map((rate, round) => rate / plain[round]!)), 2)}`);
  await broker.stop();
}

/**
 * The connect-rate comparison: `rounds` interleaved rounds of every broker, over TLS and, for the
 * reference and plain aedes, over WebSockets; then the medians as ratios to plain aedes over the same
 * transport, and the reference's rate over WebSockets as a ratio to its rate over TLS in the same rounds.
 */
async function compareConnectRates(
  pki: LoadedPki,
  context: LeanConnect['context'],
  pkiDir: string,
  { rounds, sequential, concurrent, concurrency }: { rounds: number; sequential: number; concurrent: number; concurrency: number },
): Promise<void> {
  const brokers: BenchBroker[] = [await startInProcess('reference', pkiDir), await startInProcess('aedes', pkiDir)];
  const mosquitto = findMosquitto();
  if (mosquitto) brokers.push(await startMosquitto(pki, mosquitto));
  else console.log('mosquitto: not installed (apt-get install -y mosquitto), left out of the comparison');
  const endpoints = [
    ...brokers.map((broker) => ({ name: broker.name, url: broker.url })),
    ...brokers.flatMap((broker) => (broker.wsUrl ? [{ name: `${broker.name} wss`, url: broker.wsUrl }] : [])),
  ];
  const rates = new Map(endpoints.map((endpoint) => [endpoint.name, { sequential: [] as number[], concurrent: [] as number[], latencies: [] as number[] }]));
  for (let round = 0; round < rounds; round += 1) {
    const order = endpoints.map((_, index) => endpoints[(index + round) % endpoints.length]!);
    for (const endpoint of order) {
      const figures = rates.get(endpoint.name)!;
      const one = await leanRate(connectOptions(pki, context, endpoint.url), sequential, 1);
      figures.sequential.push(one.rate);
      figures.latencies.push(...one.latencies);
      figures.concurrent.push((await leanRate(connectOptions(pki, context, endpoint.url), concurrent, concurrency)).rate);
    }
    console.log(`round ${round + 1}/${rounds}: ${order.map((endpoint) => `${endpoint.name} ${fmt(rates.get(endpoint.name)!.sequential.at(-1)!, 0)}/s, ${fmt(rates.get(endpoint.name)!.concurrent.at(-1)!, 0)}/s`).join('; ')}`);
  }
  console.log(`\nmTLS CONNECT -> CONNACK (MQTT 5, Clean Start, then DISCONNECT; "wss": over WebSockets on the same TLS), median of ${rounds} interleaved rounds`);
  console.log(`broker          sequential/s  x aedes   ${concurrency} at a time/s  x aedes   latency p50 / p99 ms (sequential)`);
  for (const [name, figures] of rates) {
    // Each is compared with plain aedes over the same transport.
    const aedes = rates.get(name.endsWith(' wss') ? 'aedes wss' : 'aedes')!;
    const seq = median(figures.sequential);
    const con = median(figures.concurrent);
    console.log(
      `${name.padEnd(15)} ${fmt(seq, 0).padStart(12)}  ${fmt(seq / median(aedes.sequential), 2).padStart(7)}   ${fmt(con, 0).padStart(14)}    ${fmt(con / median(aedes.concurrent), 2).padStart(7)}   ${fmt(median(figures.latencies))} / ${fmt(percentile(figures.latencies, 99))}`,
    );
  }
  const tcp = rates.get('reference')!;
  const wss = rates.get('reference wss');
  if (wss) {
    // Within each round the two are measured back to back: their ratio moves less than the medians'.
    const ratio = (of: (figures: typeof tcp) => number[]) => median(of(wss).map((rate, round) => rate / of(tcp)[round]!));
    console.log(
      `reference over WebSockets / over TLS, median of the rounds' ratios: sequential ${fmt(ratio((f) => f.sequential), 2)}, ${concurrency} at a time ${fmt(ratio((f) => f.concurrent), 2)} (goal >= 0.80)`,
    );
  }
  for (const broker of brokers) await broker.stop();
}

await runCli(USAGE, async () => {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '5' },
      sequential: { type: 'string', default: '40' },
      concurrent: { type: 'string', default: '160' },
      concurrency: { type: 'string', default: '16' },
      'qos-rounds': { type: 'string', default: '7' },
      'qos-messages': { type: 'string', default: '20000' },
      'qos-window': { type: 'string', default: '64' },
      'shared-rounds': { type: 'string', default: '5' },
      'shared-sessions': { type: 'string', default: '4' },
      noloss: { type: 'string', default: '10000' },
      held: { type: 'string', default: '1000,10000' },
      'latency-samples': { type: 'string', default: '100' },
      'suite-runs': { type: 'string', default: '3' },
      'no-pki': { type: 'boolean', default: false },
      identities: { type: 'string', default: DEFAULT_PKI_DIR },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return console.log(USAGE);
  const rounds = count(values.rounds, '--rounds');
  const sequential = count(values.sequential, '--sequential');
  const concurrent = count(values.concurrent, '--concurrent');
  const concurrency = Math.max(1, count(values.concurrency, '--concurrency'));
  const qosRounds = count(values['qos-rounds'], '--qos-rounds');
  const qosMessages = Math.max(1, count(values['qos-messages'], '--qos-messages'));
  const qosWindow = Math.min(65535, Math.max(1, count(values['qos-window'], '--qos-window')));
  const sharedRounds = count(values['shared-rounds'], '--shared-rounds');
  const sharedSessions = Math.max(1, count(values['shared-sessions'], '--shared-sessions'));
  const noloss = count(values.noloss, '--noloss');
  // 0 skips the held sessions, as it skips the other parts: a count of none would measure a share of nothing.
  const held = values.held ? values.held.split(',').map((text) => count(text.trim(), '--held')).filter((total) => total > 0) : [];
  const samples = Math.max(1, count(values['latency-samples'], '--latency-samples'));
  const suiteRuns = count(values['suite-runs'], '--suite-runs');
  const pkiDir = resolve(values.identities);
  await ensurePki({ outDir: pkiDir });
  const pki = loadPki(pkiDir);
  const context = clientContext(pki, pki.identities.get('alpha')!);

  console.log(`machine: ${availableParallelism()} cores, node ${process.version}, load average ${loadavg().map((load) => load.toFixed(1)).join(' ')}`);

  // 1. CONNECT -> CONNACK rate, interleaved: every round runs every broker, in a rotating order.
  if (rounds) await compareConnectRates(pki, context, pkiDir, { rounds, sequential, concurrent, concurrency });

  // 2. QoS 1 throughput, interleaved, as a ratio to plain aedes; then the takeover run's losses.
  if (qosRounds) await compareQosThroughput(pki, pkiDir, { rounds: qosRounds, messages: qosMessages, window: qosWindow });
  if (sharedRounds) await compareSharedThroughput(pki, pkiDir, { rounds: sharedRounds, sessions: sharedSessions, messages: qosMessages, window: qosWindow });
  if (noloss) {
    const [figure] = await runStress({
      pkiDir,
      runs: ['noloss'],
      transports: TRANSPORTS,
      counts: { race: 0, hostile: 0, idle: 0, oversized: 0, badcert: 0, upgrades: 0, restart: 0, noloss },
      rate: 1000,
      takeoverEveryMs: 100,
      seed: 0,
      parallel: 8,
      handshakeTimeoutMs: 2000,
      connectTimeoutMs: 2000,
      log: () => {},
    });
    console.log(`\nQoS 1 across takeovers (npm run stress -- --only noloss --noloss ${noloss}: 1,000 msg/s, the owner taking its session over every 100 ms):`);
    console.log(formatFigure(figure!));
    for (const example of figure!.examples) console.log(`  violation: ${example}`);
  }

  // 3. Held sessions: memory per session and connect latency, reference next to plain aedes.
  if (held.length) {
    console.log('\nheld sessions (each subscribed at QoS 1, then DISCONNECT with expiry 3600 s): broker heap after GC, and connect latency while held');
    console.log('sessions   broker      heap/session B   rss/session B   latency p50 / p99 ms');
    for (const total of held) {
      const perBroker = new Map<string, number>();
      for (const kind of ['reference', 'aedes'] as const) {
        const broker = await startInProcess(kind, pkiDir);
        const before = await broker.memory();
        await leanRate(connectOptions(pki, context, broker.url, 3600, true), total, concurrency);
        const after = await broker.memory();
        const latencies: number[] = [];
        const probe = connectOptions(pki, context, broker.url);
        for (let index = 0; index < samples; index += 1) latencies.push(await leanConnect(probe(index)));
        await broker.stop();
        const heap = (after.heapUsed + after.external - before.heapUsed - before.external) / total;
        perBroker.set(kind, heap);
        console.log(`${String(total).padStart(8)}   ${kind.padEnd(10)}  ${fmt(heap, 0).padStart(14)}   ${fmt((after.rss - before.rss) / total, 0).padStart(13)}   ${fmt(median(latencies))} / ${fmt(percentile(latencies, 99))}`);
      }
      console.log(`${String(total).padStart(8)}   the project's own share (reference - aedes): ${fmt(perBroker.get('reference')! - perBroker.get('aedes')!, 0)} B per held session`);
    }
  }

  // 4. The suite's wall time, start-up included, as a user runs it.
  if (suiteRuns) {
    const walls: number[] = [];
    for (let index = 0; index < suiteRuns; index += 1) {
      const started = performance.now();
      const result = await run('npm', ['run', '--silent', 'conformance', '--', '--identities', pkiDir, '--report-dir', resolve('reports/bench')], { maxBuffer: 64 * 1024 * 1024 }).catch((error: { code: number }) => error);
      walls.push((performance.now() - started) / 1000);
      if ('code' in result && result.code) throw new Error(`npm run conformance exited ${result.code}`);
      console.log(`suite run ${index + 1}/${suiteRuns}: ${fmt(walls.at(-1)!)} s`);
    }
    console.log(`npm run conformance wall time, start-up included: median ${fmt(median(walls))} s of ${suiteRuns}`);
  }

  // 5. PKI time: npm run bench:certs, as it is.
  if (!values['no-pki']) {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'certs/bench.ts']);
    console.log(`\nPKI (npm run bench:certs): ${stdout.trim().split('\n').slice(-2).join('; ')}`);
  }
});
