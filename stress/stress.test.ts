// Short versions of `npm run stress` (seconds): every run against a broker child process, with no
// violation, and the hostile generator replays from its seed.
import { describe, expect, inject, it } from 'vitest';
import { RUNS, runStress } from './stress.ts';
import { hostilePacket, seeded } from './runs.ts';

describe('npm run stress, short', () => {
  it('every run holds over TLS and WebSockets: no hijack, no crash, no socket left open, silent connections and bad upgrades closed, oversized cut off, bad certificates refused, no QoS 1 message lost, every client back after a kill', async () => {
    const lines: string[] = [];
    const figures = await runStress({
      pkiDir: inject('pkiDir'),
      runs: RUNS,
      counts: { race: 12, hostile: 600, idle: 18, oversized: 2, badcert: 1, upgrades: 3, noloss: 1500, restart: 1 },
      // 1.5 s of QoS 1 at 1,000 msg/s, the owner taking its session over every 100 ms.
      rate: 1000,
      takeoverEveryMs: 100,
      seed: 12345,
      transports: ['tcp', 'wss'],
      parallel: 6,
      handshakeTimeoutMs: 600,
      connectTimeoutMs: 600,
      settleMs: 100,
      log: (line) => lines.push(line),
    });
    expect(figures.map((figure) => figure.run)).toEqual([...RUNS]);
    expect(figures.filter((figure) => figure.violations || figure.crashes), lines.join('\n')).toEqual([]);
    expect(figures.find((figure) => figure.run === 'badcert')?.extra).toMatchObject({ acceptedBad: 0, refusedGood: 0 });
    expect(figures.find((figure) => figure.run === 'noloss')?.extra).toMatchObject({ lost: 0, duplicatesWithoutDup: 0, closedByBroker: 0, sessionsLost: 0, theftsAccepted: 0 });
    // Killed and started again, the broker in memory forgot the 8 sessions; each client came back over its transport.
    expect(figures.find((figure) => figure.run === 'restart')?.extra).toMatchObject({ reconnected: 8, sessionsLost: 8, lost: 0 });
    expect(lines.every((line) => /rounds=\d+ violations=0 packets=\d+ crashes=0 memory=\d+->\d+ MiB/.test(line))).toBe(true);
  }, 120_000);

  it('the hostile generator sends the same bytes for the same seed, and other bytes for another', () => {
    const bytes = (seed: number) => Buffer.concat(Array.from({ length: 50 }, (_, index) => hostilePacket(seeded(seed ^ index), `h-${index}`))).toString('hex');
    expect(bytes(7)).toBe(bytes(7));
    expect(bytes(7)).not.toBe(bytes(8));
  });
});
