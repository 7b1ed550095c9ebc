// npm run bench:redis: the reference on Redis next to the reference in memory, each broker in a process
// of its own, the clients here: CONNECT rate and QoS 1 throughput of one Redis instance as ratios to
// memory, CONNECT rate of two Redis instances (the clients alternate between them) as a ratio to one,
// and the Redis commands one CONNECT costs (counted by Redis: INFO commandstats, the session store's
// scripts apart). Rounds are interleaved and ratios are medians of each round's ratio. Needs
// Debian's redis-server (started here on a free loopback port).
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { runCli } from '../common/cli.ts';
import { UserError } from '../common/errors.ts';
import { loadPki } from '../certs/manifest.ts';
import { DEFAULT_PKI_DIR, ensurePki } from '../certs/pki.ts';
import { REDIS_AVAILABLE, startRedis } from '../testkit/redis-server.ts';
import { clientContext, leanRate } from './lean-client.ts';
import { qosThroughput } from './qos-throughput.ts';

const USAGE = `usage: npm run bench:redis [-- options]
  --rounds N        interleaved rounds (default 5)
  --connects N      connects per round and broker, 16 at a time (default 400)
  --qos-messages N  QoS 1 messages per round and broker (default 5000; 0 skips the QoS 1 comparison)
  --identities DIR  the PKI to use (default pki/)`;

interface Instance {
  child: ChildProcess;
  url: string;
  host: string;
  port: number;
}

async function instance(pkiDir: string, redisUrl?: string): Promise<Instance> {
  const child = fork(resolve('bench/broker-process.ts'), ['reference', pkiDir, ...(redisUrl ? [redisUrl] : [])], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [first] = (await once(child, 'message')) as [{ url: string }];
  const url = new URL(first.url);
  return { child, url: first.url, host: url.hostname, port: Number(url.port) };
}

async function stop(instance: Instance): Promise<void> {
  instance.child.send('stop');
  await once(instance.child, 'exit');
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

/** Redis's own count of calls per command, summed: the scripts (EVALSHA) and everything else. */
async function commandCounts(redis: Redis): Promise<{ scripts: number; all: number }> {
  const info = await redis.info('commandstats');
  let scripts = 0;
  let all = 0;
  for (const [, name, calls] of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
    // Commands a script runs are counted too: only what clients sent is a round trip.
    all += Number(calls);
    if (name === 'evalsha' || name === 'eval') scripts += Number(calls);
  }
  return { scripts, all };
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      rounds: { type: 'string', default: '5' },
      connects: { type: 'string', default: '400' },
      'qos-messages': { type: 'string', default: '5000' },
      identities: { type: 'string', default: DEFAULT_PKI_DIR },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return console.log(USAGE);
  if (!REDIS_AVAILABLE) throw new UserError('redis-server is not installed (Debian: apt-get install redis-server)');
  const rounds = Number(values.rounds);
  const connects = Number(values.connects);
  const qosMessages = Number(values['qos-messages']);
  await ensurePki({ outDir: values.identities, log: () => {} });
  const pki = loadPki(values.identities);
  const alpha = pki.identities.get('alpha')!;
  const observer = pki.identities.get('observer')!;
  const context = clientContext(pki, alpha);
  const server = await startRedis();
  const admin = new Redis(server.url);
  try {
    const memory = await instance(pki.dir);
    const [redisA, redisB] = [await instance(pki.dir, server.url), await instance(pki.dir, server.url)];
    let name = 0;
    /** `connects` persistent sessions of alpha (expiry 60 s), spread over `targets` in turn. */
    const connectRate = (targets: Instance[]) =>
      leanRate(
        (index) => {
          const target = targets[index % targets.length]!;
          return { url: target.url, context, username: 'alpha', clientId: `bench-${(name += 1)}`, expirySeconds: 60 };
        },
        connects,
        16,
      ).then((result) => result.rate);

    const ratios = { redisToMemory: [] as number[], twoToOne: [] as number[], qos: [] as number[] };
    const rates = { memory: [] as number[], redis: [] as number[], two: [] as number[] };
    let perConnect = { scripts: NaN, all: NaN };
    for (let round = 0; round < rounds; round += 1) {
      const inMemory = await connectRate([memory]);
      const before = await commandCounts(admin);
      const onRedis = await connectRate([redisA]);
      const after = await commandCounts(admin);
      const onTwo = await connectRate([redisA, redisB]);
      perConnect = { scripts: (after.scripts - before.scripts) / connects, all: (after.all - before.all) / connects };
      rates.memory.push(inMemory);
      rates.redis.push(onRedis);
      rates.two.push(onTwo);
      ratios.redisToMemory.push(onRedis / inMemory);
      ratios.twoToOne.push(onTwo / onRedis);
      if (qosMessages > 0) {
        const qos = (target: Instance) =>
          qosThroughput({
            host: target.host,
            port: target.port,
            subscriber: { context, username: 'alpha' },
            publisher: { context: clientContext(pki, observer), username: 'observer' },
            topic: `mmc/alpha/bench-${round}`,
            messages: qosMessages,
            window: 64,
          });
        const [m, r] = [await qos(memory), await qos(redisA)];
        ratios.qos.push(r.rate / m.rate);
        console.log(`round ${round + 1}: QoS 1 ${m.rate.toFixed(0)}/s in memory, ${r.rate.toFixed(0)}/s on Redis (lost ${r.lost}, duplicates ${r.duplicates})`);
      }
      console.log(`round ${round + 1}: CONNECT ${inMemory.toFixed(0)}/s in memory, ${onRedis.toFixed(0)}/s on Redis, ${onTwo.toFixed(0)}/s on two Redis instances`);
    }
    console.log(
      `CONNECT rate, Redis / memory: ${median(ratios.redisToMemory).toFixed(2)} (medians ${median(rates.redis).toFixed(0)}/s vs ${median(rates.memory).toFixed(0)}/s; goal >= 0.5)`,
    );
    console.log(`CONNECT rate, two Redis instances / one: ${median(ratios.twoToOne).toFixed(2)} (median ${median(rates.two).toFixed(0)}/s; goal >= 1.3 where the client is not the bottleneck)`);
    if (ratios.qos.length) console.log(`QoS 1 throughput, Redis / memory: ${median(ratios.qos).toFixed(2)} (goal >= 0.5)`);
    console.log(
      `Redis per connection (CONNECT of a persistent session, no subscription, then DISCONNECT): ${perConnect.scripts.toFixed(2)} session-store scripts, one round trip each (view and claim at the CONNECT, close and next expiry at its end); ${perConnect.all.toFixed(1)} commands counted by Redis in all, the scripts' own and aedes-persistence-redis's included`,
    );
    await Promise.all([stop(memory), stop(redisA), stop(redisB)]);
  } finally {
    admin.disconnect();
    await server.stop();
  }
}

await runCli(USAGE, () => main(process.argv.slice(2)));
