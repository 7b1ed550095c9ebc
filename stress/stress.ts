// One stress session: the PKI, a namespace that also registers the crafted certificate set, a broker
// process started as `npm run broker` is, and the chosen runs one after another.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certificateCases } from '../certs/crafted.ts';
import { loadPki } from '../certs/manifest.ts';
import { namespaceFromPki } from '../certs/namespace.ts';
import type { Transport } from '../rules/transports.ts';
import { startBrokerProcess } from './broker-process.ts';
import { restartRun } from './restart-run.ts';
import { upgradesRun } from './upgrades-run.ts';
import { badCertificateRun, formatFigure, hostileRun, idleRun, noLossRun, oversizedRun, raceRun, type Figure, type StressContext } from './runs.ts';

export const RUNS = ['race', 'hostile', 'idle', 'oversized', 'badcert', 'upgrades', 'noloss', 'restart'] as const;
export type RunName = (typeof RUNS)[number];

export interface StressOptions {
  pkiDir: string;
  runs: readonly RunName[];
  counts: Record<RunName, number>;
  /** The noloss run: messages a second, and how often the owner takes its session over (ms). */
  rate: number;
  takeoverEveryMs: number;
  seed: number;
  /** MQTT over TLS, over WebSockets, or both: each run's connections alternate between them. */
  transports: readonly Transport[];
  parallel: number;
  handshakeTimeoutMs: number;
  connectTimeoutMs: number;
  /** Pause after each run before its memory is read; default 1500 ms. */
  settleMs?: number;
  /** Two instances of a namespace kept in this Redis instead of one broker: the racers and the noloss owner alternate between them. */
  redisUrl?: string;
  log: (line: string) => void;
}

export async function runStress(options: StressOptions): Promise<Figure[]> {
  const pki = loadPki(options.pkiDir);
  const certificates = certificateCases('stress-device');
  const base = namespaceFromPki(pki, { maximumClientSessionsPerAuthenticationName: 100 });
  const namespace = {
    ...base,
    caCertificates: [...base.caCertificates, ...certificates.registeredCas.map((pem, index) => ({ name: `stress-crafted-${index}`, encodedCertificate: pem }))],
    clients: [
      ...base.clients,
      {
        name: 'stress-device',
        authenticationName: certificates.commonName,
        state: 'Enabled',
        clientCertificateAuthentication: { validationScheme: 'SubjectMatchesAuthenticationName', allowedThumbprints: [] },
        attributes: {},
      },
    ],
  };
  const dir = mkdtempSync(join(tmpdir(), 'mmc-stress-'));
  const namespaceFile = join(dir, 'namespace.json');
  writeFileSync(namespaceFile, JSON.stringify(namespace));
  const start = (ports?: { port: number; wsPort: number }) =>
    startBrokerProcess({ pkiDir: options.pkiDir, namespaceFile, handshakeTimeoutMs: options.handshakeTimeoutMs, connectTimeoutMs: options.connectTimeoutMs, redisUrl: options.redisUrl, ports });
  const broker = await start();
  const other = options.redisUrl ? await start() : undefined;
  const context: StressContext = {
    broker,
    ...(other ? { instances: [broker, other] } : {}),
    transports: options.transports,
    pki,
    certificates,
    handshakeTimeoutMs: options.handshakeTimeoutMs,
    connectTimeoutMs: options.connectTimeoutMs,
    maximumPacketSize: base.reference.limits.maximumPacketSize,
    parallel: options.parallel,
    settleMs: options.settleMs ?? 1500,
    log: options.log,
  };
  const figures: Figure[] = [];
  try {
    for (const run of options.runs) {
      const count = options.counts[run];
      if (count <= 0) continue;
      // The upgrades run is about the WebSocket endpoint only.
      if (run === 'upgrades' && !options.transports.includes('wss')) {
        options.log('upgrades  skipped: it is about the WebSocket endpoint, and the runs are over tcp only');
        continue;
      }
      const figure = await {
        race: () => raceRun(context, count),
        hostile: () => hostileRun(context, count, options.seed),
        idle: () => idleRun(context, count),
        oversized: () => oversizedRun(context, count),
        badcert: () => badCertificateRun(context, count),
        upgrades: () => upgradesRun(context, count),
        noloss: () => noLossRun(context, { messages: count, rate: options.rate, takeoverEveryMs: options.takeoverEveryMs }),
        restart: () => restartRun(context, count, { startAgain: start, durable: options.redisUrl !== undefined }),
      }[run]();
      figures.push(figure);
      options.log(formatFigure(figure));
      for (const example of figure.examples) options.log(`  violation: ${example}`);
      if (figure.crashes) break;
    }
  } finally {
    // The restart run replaces the broker it kills.
    await context.broker.stop();
    await other?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}
