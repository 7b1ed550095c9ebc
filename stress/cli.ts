// npm run stress [-- --transport tcp|wss|both --race N --hostile N --idle N --oversized N --badcert N --noloss N --rate N --seed S]:
// the reference broker (`npm run broker` as a child process on 127.0.0.1) under bounded load, one
// figure line per run; exit 1 on any violation, and a failing hostile run prints the seed that replays it.
// A development command of this repository (not one of the tool's subcommands, not in the package), in
// the same Command shape as they are.
import { parseArgs } from 'node:util';
import { isEntryPoint, runCommand, type Command } from '../common/cli.ts';
import { UserError } from '../common/errors.ts';
import { DEFAULT_PKI_DIR, ensurePki } from '../certs/pki.ts';
import { TRANSPORTS, type Transport } from '../rules/transports.ts';
import { RUNS, runStress, type RunName } from './stress.ts';

const DEFAULTS: Record<RunName, number> = { race: 500, hostile: 20_000, idle: 150, oversized: 4, badcert: 3, upgrades: 100, noloss: 10_000, restart: 3 };

const USAGE = `usage: npm run stress [-- --only race,hostile,...] [--transport tcp|wss|both] [--race N] [--hostile N] [--idle N] [--oversized N]
                       [--badcert N] [--upgrades N] [--noloss N] [--restart N] [--rate N] [--takeover-every MS] [--seed S] [--parallel N] [--redis URL]
  --transport T   MQTT over TLS (tcp), over WebSockets (wss), or both (default): every run's connections
                  alternate between the two, the noloss owner's takeovers too
  --race N        rounds of four identities connecting with one session name at once (default ${DEFAULTS.race})
  --hostile N     malformed or protocol-violating packets, from a seeded generator (default ${DEFAULTS.hostile})
  --idle N        silent TCP, idle TLS and byte-a-time CONNECT connections (default ${DEFAULTS.idle})
  --oversized N   certificate-less connections announcing a 268 MB CONNECT (default ${DEFAULTS.oversized})
  --badcert N     rounds over the crafted certificate set, bad and good (default ${DEFAULTS.badcert})
  --upgrades N    rounds of every bad WebSocket upgrade, a certificate-less WebSocket, an oversized frame and
                  an oversized packet (default ${DEFAULTS.upgrades}; over wss only)
  --noloss N      QoS 1 messages to a session taken over and contested (default ${DEFAULTS.noloss})
  --restart N     times the broker is killed (SIGKILL) under QoS 1 traffic to 8 sessions and started again
                  on its ports: every client back, its messages delivered; with --redis, every session kept (default ${DEFAULTS.restart})
  --rate N        messages a second the noloss run publishes (default 1000)
  --takeover-every MS  the noloss run's owner takes its session over this often (default 100)
  --seed S        seed of the hostile generator (default: random, printed); replays a failure
  --parallel N    connections opened at once (default 8)
  --only RUNS     comma-separated runs to do (default all); 0 as a count also skips a run
  --timeouts MS   the broker's TLS handshake and CONNECT timeouts (default 2000)
  --pki DIR       PKI set (default ${DEFAULT_PKI_DIR}/)
  --redis URL     two broker instances of a namespace kept in this Redis (a database of its own) instead
                  of one broker in memory: the racers, and the noloss owner's takeovers, alternate between them`;

function whole(flag: string, text: string | undefined, fallback: number, max = 10_000_000): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > max) throw new UserError(`--${flag} must be a whole number from 0 to ${max}, not "${text}"`);
  return value;
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      ...Object.fromEntries(RUNS.map((run) => [run, { type: 'string' as const }])),
      rate: { type: 'string' },
      'takeover-every': { type: 'string' },
      seed: { type: 'string' },
      transport: { type: 'string', default: 'both' },
      parallel: { type: 'string' },
      only: { type: 'string' },
      timeouts: { type: 'string' },
      pki: { type: 'string', default: DEFAULT_PKI_DIR },
      redis: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return console.log(USAGE);
  const only = values.only ? values.only.split(',').map((run) => run.trim()) : [...RUNS];
  const unknown = only.filter((run) => !(RUNS as readonly string[]).includes(run));
  if (unknown.length) throw new UserError(`--only: no run called ${unknown.join(', ')} (runs: ${RUNS.join(', ')})`);
  const counts = Object.fromEntries(RUNS.map((run) => [run, whole(run, (values as Record<string, unknown>)[run] as string | undefined, DEFAULTS[run])])) as Record<RunName, number>;
  const seed = whole('seed', values.seed as string | undefined, Math.floor(Math.random() * 2 ** 31), 2 ** 32 - 1);
  const transport = values.transport as string;
  if (transport !== 'both' && !(TRANSPORTS as readonly string[]).includes(transport)) throw new UserError(`--transport must be tcp, wss or both, not "${transport}"`);
  const transports: Transport[] = transport === 'both' ? [...TRANSPORTS] : [transport as Transport];
  const timeouts = whole('timeouts', values.timeouts as string | undefined, 2000, 600_000);

  await ensurePki({ outDir: values.pki as string, log: () => {} });
  console.log(`stress: node ${process.version}, seed ${seed}, broker timeouts ${timeouts} ms, over ${transports.join(' and ')}`);
  const rate = Math.max(1, whole('rate', values.rate as string | undefined, 1000, 100_000));
  const takeoverEveryMs = Math.max(10, whole('takeover-every', values['takeover-every'] as string | undefined, 100, 600_000));
  const figures = await runStress({
    pkiDir: values.pki as string,
    runs: only as RunName[],
    counts,
    rate,
    takeoverEveryMs,
    seed,
    transports,
    parallel: Math.max(1, whole('parallel', values.parallel as string | undefined, 8, 256)),
    handshakeTimeoutMs: timeouts,
    connectTimeoutMs: timeouts,
    ...(values.redis ? { redisUrl: values.redis as string } : {}),
    log: (line) => console.log(line),
  });
  const violations = figures.reduce((sum, figure) => sum + figure.violations, 0);
  if (violations) {
    const failed = figures.filter((figure) => figure.violations).map((figure) => figure.run);
    console.log(`FAILED: ${violations} violation(s). Replay: npm run stress -- --only ${failed.join(',')} ${failed.map((run) => `--${run} ${counts[run as RunName]}`).join(' ')}${failed.includes('noloss') ? ` --rate ${rate} --takeover-every ${takeoverEveryMs}` : ''} --transport ${transport} --seed ${seed}`);
    process.exitCode = 1;
  } else {
    console.log('stress: no violations');
  }
}

export const command: Command = { usage: USAGE, main };

if (isEntryPoint(import.meta.url)) await runCommand(command, process.argv.slice(2));
