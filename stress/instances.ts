// npm run stress:instances [-- --rounds N]: two `npm run broker -- --redis` processes on one
// redis-server are one namespace under racing takeovers. Each round: an owner (alpha, gamma or observer,
// one per lane, so that none passes its limit of 2 sessions) holds a session at one instance; then, at
// the same moment, the owner takes it over at the other instance while beta presents the same name at
// both. beta accepted anywhere while alpha holds the session is a hijack; alpha's older
// connection still open once the takeover is acknowledged is a takeover not carried out. One figure
// line; exit 1 on any violation. Needs Debian's redis-server.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import mqttPacket from 'mqtt-packet';
import { runCli } from '../common/cli.ts';
import { UserError } from '../common/errors.ts';
import { loadPki, type LoadedPki } from '../certs/manifest.ts';
import { DEFAULT_PKI_DIR, ensurePki } from '../certs/pki.ts';
import { openRawSession, type RawSession } from '../testkit/raw-session.ts';
import { REDIS_AVAILABLE, startRedis } from '../testkit/redis-server.ts';

const USAGE = `usage: npm run stress:instances [-- options]
  --rounds N      racing takeovers (default 10000)
  --identities DIR  the PKI (default pki/)`;

/** The lanes' owners; beta is the intruder. */
const OWNERS = ['alpha', 'gamma', 'observer'];

async function instance(pki: LoadedPki, redisUrl: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'reference/cli.ts', '--port', '0', '--ws-port', 'off', '--pki', pki.dir, '--redis', redisUrl], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', () => {
      const found = /listening on mqtts:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1];
      if (found && output.includes('press Ctrl-C')) resolve(Number(found));
    });
    child.once('exit', (code) => reject(new Error(`a broker exited with ${code}`)));
  });
  // Only the start is read; the rest would fill memory.
  child.stdout!.removeAllListeners('data');
  child.stdout!.resume();
  return { child, port };
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      rounds: { type: 'string', default: '10000' },
      identities: { type: 'string', default: DEFAULT_PKI_DIR },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return console.log(USAGE);
  if (!REDIS_AVAILABLE) throw new UserError('redis-server is not installed (Debian: apt-get install redis-server)');
  const rounds = Number(values.rounds);
  await ensurePki({ outDir: values.identities, log: () => {} });
  const pki = loadPki(values.identities);
  const server = await startRedis();
  const instances = [await instance(pki, server.url), await instance(pki, server.url)];
  const started = Date.now();
  const open = async (id: string, port: number): Promise<RawSession> => {
    const identity = pki.identities.get(id)!;
    return openRawSession({ port, ca: pki.rootCaPem, cert: identity.certificatePem, key: identity.keyPem });
  };
  // Sessions that end with their connection: a lane's next round starts while the last one's ends.
  const connect = async (session: RawSession, name: string, username: string): Promise<number | undefined> => {
    session.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: name, clean: false, keepalive: 30, username, properties: { sessionExpiryInterval: 0 } } as mqttPacket.IConnectPacket);
    const reply = (await session.next(10_000)) as { cmd?: string; reasonCode?: number } | undefined;
    return reply?.cmd === 'connack' ? reply.reasonCode : undefined;
  };
  let hijacks = 0;
  let takeovers = 0;
  let notTakenOver = 0;
  let failed = 0;
  const examples: string[] = [];
  let next = 0;
  const stamp = Date.now().toString(36);
  // A run takes minutes: where it is, every 10 s, on stderr (stdout keeps the result line alone).
  const progress = setInterval(() => {
    const seconds = Math.round((Date.now() - started) / 1000);
    process.stderr.write(`instances: ${Math.min(next, rounds)} of ${rounds} rounds started, ${takeovers} taken over, ${hijacks} hijacks (${seconds} s)\n`);
  }, 10_000);
  await Promise.all(
    OWNERS.map(async (owner) => {
      while (next < rounds) {
        const round = next++;
        const name = `race-${stamp}-${round}`;
        const [first, second] = round % 2 ? [instances[0]!, instances[1]!] : [instances[1]!, instances[0]!];
        const sessions: RawSession[] = [];
        try {
          const holder = await open(owner, first.port);
          sessions.push(holder);
          if ((await connect(holder, name, owner)) !== 0) {
            failed += 1;
            continue;
          }
          const [taker, intruderA, intruderB] = await Promise.all([open(owner, second.port), open('beta', first.port), open('beta', second.port)]);
          sessions.push(taker, intruderA, intruderB);
          const [taken, ...intruded] = await Promise.all([connect(taker, name, owner), connect(intruderA, name, 'beta'), connect(intruderB, name, 'beta')]);
          for (const code of intruded) {
            if (code === 0) {
              hijacks += 1;
              if (examples.length < 5) examples.push(`round ${round}: beta was accepted for "${name}"`);
            }
          }
          if (taken !== 0) {
            failed += 1;
            continue;
          }
          takeovers += 1;
          if (!(await holder.closedWithin(5000))) {
            notTakenOver += 1;
            if (examples.length < 5) examples.push(`round ${round}: ${owner}'s first connection to "${name}" still open after the takeover`);
          }
        } catch {
          failed += 1;
        } finally {
          for (const session of sessions) session.end();
        }
      }
    }),
  );
  clearInterval(progress);
  const seconds = (Date.now() - started) / 1000;
  for (const { child } of instances) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  await server.stop();
  console.log(
    `instances: ${rounds} racing takeovers over 2 instances in ${seconds.toFixed(1)} s: ${takeovers} taken over, ${hijacks} hijacks, ${notTakenOver} not taken over, ${failed} rounds that failed to connect`,
  );
  for (const example of examples) console.log(`  ${example}`);
  if (hijacks || notTakenOver) process.exitCode = 1;
}

await runCli(USAGE, () => main(process.argv.slice(2)));
