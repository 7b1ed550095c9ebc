// The probe and the run find which MQTT versions a target speaks and run those, saying so in one
// line: against a broker that speaks only MQTT 3.1.1 and never answers an MQTT 5 CONNECT (as mosca
// 2.8 does), a run without --mqtt covers MQTT 3.1.1, skips MQTT 5 saying why, and exits on its verdicts.
import { once } from 'node:events';
import { join } from 'node:path';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { Aedes } from 'aedes';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadPki, type LoadedPki } from '../certs/manifest.ts';
import { temporaryDir } from '../common/test-support.ts';
import { runConformance } from '../testkit/conformance-run.ts';

/** The protocol level of the CONNECT at the start of `head`: after the fixed header's remaining length, "\0\4MQTT". */
function protocolLevel(head: Buffer): number | undefined {
  let lastLengthByte = 1;
  while (lastLengthByte < head.length && (head[lastLengthByte]! & 0x80) !== 0) lastLengthByte += 1;
  return head[lastLengthByte + 1 + 6];
}

let pki: LoadedPki;
let broker: Aedes;
let server: Server;
let url: string;

/** Plain aedes, behind a TLS server that leaves an MQTT 5 CONNECT unanswered and hands aedes the others. */
beforeAll(async () => {
  pki = loadPki(inject('pkiDir'));
  broker = await Aedes.createBroker();
  server = createServer({ cert: pki.read(pki.manifest.server.chain!), key: pki.read(pki.manifest.server.key), requestCert: true, rejectUnauthorized: false }, (socket: TLSSocket) => {
    socket.on('error', () => {});
    socket.once('data', (head: Buffer) => {
      if (protocolLevel(head) === 5) return;
      socket.unshift(head);
      broker.handle(socket);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `mqtts://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server?.close();
  await new Promise<void>((resolve) => (broker ? broker.close(() => resolve()) : resolve()));
});

describe('a target that speaks only MQTT 3.1.1', () => {
  it('is run over MQTT 3.1.1, with MQTT 5 skipped and said so in one line', async () => {
    const run = await runConformance(temporaryDir(), ['--target', url, '--ca', join(pki.dir, pki.manifest.ca.root.certificate), '--identities', pki.dir, '--no-pace', '--session-limit', '2', '--rules', 'S2,L3']);
    expect(run.rules, run.stderr).toBeDefined();
    // The probe says which versions it found, in one line; the run then covers those.
    expect(run.stdout.match(/^ {2}versions .*$/gm)).toEqual([expect.stringMatching(/^ {2}versions {2}MQTT 3\.1\.1, not MQTT 5 \(an MQTT 5 CONNECT got no CONNACK within 5 s\): the run covers MQTT 3\.1\.1 only$/)]);
    const status = (id: string, version: string) => run.rules!.find((verdict) => verdict.id === id && verdict.version === version)?.status;
    expect([status('S2', '3.1.1'), status('L3', '3.1.1')]).toEqual(['passed', 'passed']);
    expect([status('S2', '5'), status('L3', '5')]).toEqual(['skipped', 'skipped']);
    expect(run.exitCode).toBe(0);
  }, 120_000);
});
