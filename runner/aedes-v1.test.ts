// The suite against aedes 1.x as anyone would start it (the devDependency aedes-v1, aedes 1.2 under
// another name beside the reference's pinned 2.0.0-beta.1): plain, behind mutual TLS, no Event Grid
// policy at all, and MQTT 3.1.1 only (it answers an MQTT 5 CONNECT with return code 1, "unacceptable
// protocol version"). A run with no flag that tells it about the target finds MQTT 3.1.1 alone, says so
// in one line, reports every rule aedes 1.x breaks as failed and none of them passed, and gives a
// reason for every skip. --no-pace only spares the one-attempt-per-second pacing a remote namespace
// is owed (about 80 s); the whole run is then under a minute (46 s measured), one scenario at a time.
import { once } from 'node:events';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import { Aedes } from 'aedes-v1';
import { describe, expect, inject, it } from 'vitest';
import { loadPki } from '../certs/manifest.ts';
import { temporaryDir } from '../common/test-support.ts';
import { runConformance } from '../testkit/conformance-run.ts';

describe('the suite against plain aedes 1.x', () => {
  it('runs MQTT 3.1.1 only, saying so, fails every rule aedes 1.x breaks and skips nothing without a reason', async () => {
    const pki = loadPki(inject('pkiDir'));
    const broker = await Aedes.createBroker();
    const server = createServer({ cert: pki.read(pki.manifest.server.chain!), key: pki.read(pki.manifest.server.key), requestCert: true, rejectUnauthorized: false }, (socket) => {
      socket.on('error', () => {});
      broker.handle(socket);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const run = await runConformance(temporaryDir(), [
        '--target', `mqtts://127.0.0.1:${(server.address() as { port: number }).port}`,
        '--ca', join(pki.dir, pki.manifest.ca.root.certificate),
        '--identities', pki.dir,
        '--no-pace',
      ]);
      expect(run.rules, run.stderr).toBeDefined();
      expect(run.exitCode).toBe(1);
      expect(run.stdout.match(/^ {2}versions .*$/gm)).toEqual([expect.stringMatching(/^ {2}versions {2}MQTT 3\.1\.1, not MQTT 5 \(it answered 0x01 .*\): the run covers MQTT 3\.1\.1 only$/)]);
      const ids = (status: string, version: string) =>
        [...new Set(run.rules!.filter((verdict) => verdict.status === status && verdict.version === version && verdict.method === 'certificate').map((verdict) => verdict.id))];
      // aedes 1.x checks no certificate and reads no Username (S1, S3, A1-A4, A6, L6), owns no session
      // name and caps no sessions (S5-S7, S9), assigns empty ClientIDs (S4), caps nothing else (L5, L7-L11,
      // L15, L18's retained size), takes a 3.1.1 client's $share/ subscription (M6) and authorizes nothing
      // (P2-P4).
      expect(ids('failed', '3.1.1')).toEqual(['S1', 'S3', 'S4', 'S5', 'S6', 'S7', 'S9', 'L5', 'L6', 'L7', 'L8', 'L9', 'L10', 'L11', 'L15', 'L18', 'M6', 'A1', 'A2', 'A3', 'A4', 'A6', 'P2', 'P3', 'P4']);
      // What it does keep: several sessions on one certificate (S2), a takeover (S8, its alternative-names
      // scenarios skipped), persistent sessions and Clean Start (L2, L3), retained messages (L12), the
      // Keep Alive (L14), and a client's own topics open to it (P1).
      expect(ids('passed', '3.1.1')).toEqual(['S2', 'S8', 'L2', 'L3', 'L12', 'L14', 'P1']);
      // Over MQTT 5 nothing runs: a rule that ran over 3.1.1 is skipped over 5 saying the target does not
      // speak it; every skip, there and over 3.1.1, names why (a second namespace, the suite's webhook, a
      // token issuer, --include-slow for the hour-long expiry).
      expect(run.rules!.filter((verdict) => verdict.version === '5' && verdict.status !== 'not run' && verdict.status !== 'skipped')).toEqual([]);
      const ranOver311 = new Set([...ids('failed', '3.1.1'), ...ids('passed', '3.1.1')]);
      for (const verdict of run.rules!.filter((v) => v.version === '5' && v.method === 'certificate' && ranOver311.has(v.id))) {
        expect(verdict.message, verdict.id).toMatch(/the target does not speak MQTT 5/);
      }
      const unexplained = run.scenarios!.filter((scenario) => scenario.status === 'skipped' && !scenario.message);
      expect(unexplained.map((scenario) => `${scenario.version} ${scenario.name}`)).toEqual([]);
      expect(run.rules!.filter((verdict) => verdict.status === 'skipped' && !verdict.message).map((verdict) => `${verdict.id} ${verdict.version}`)).toEqual([]);
    } finally {
      server.close();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    }
  }, 240_000);
});
