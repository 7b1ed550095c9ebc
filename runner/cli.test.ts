// npm run conformance as CI sees it: exit codes, one clear line for a target it cannot use, and the
// expected and observed of a failing rule.
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadPki, type LoadedPki } from '../certs/manifest.ts';
import { temporaryDir } from '../common/test-support.ts';
import { serverTlsFromPki, startReferenceBroker, type ReferenceBroker } from '../reference/broker.ts';
import { namespaceFromPki } from '../certs/namespace.ts';
import { runConformance } from './conformance-test-support.ts';

let pki: LoadedPki;
let broker: ReferenceBroker;

beforeAll(async () => {
  pki = loadPki(inject('pkiDir'));
  broker = await startReferenceBroker({ namespace: namespaceFromPki(pki), tls: serverTlsFromPki(pki) });
});
afterAll(async () => {
  await broker.stop();
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const remote = (url: string, ca: string) => ['--target', url, '--ca', ca, '--identities', pki.dir];

describe('npm run conformance', () => {
  it('exits 2 with one line for a target that cannot be reached', async () => {
    const run = await runConformance(temporaryDir(), remote(`mqtts://127.0.0.1:${await closedPort()}`, join(pki.dir, pki.manifest.ca.root.certificate)));
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim()).toMatch(/^error: cannot reach 127\.0\.0\.1:\d+: connection refused/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('exits 2 when the server certificate does not verify against --ca', async () => {
    const run = await runConformance(temporaryDir(), remote(broker.url, join(pki.dir, pki.manifest.ca.unregistered.certificate)));
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/does not verify against --ca .*unregistered-root\.pem/);
  });

  it.each([
    [['--mqtt', '4'], /--mqtt takes 3\.1\.1, 5 or both/],
    [['--rules', 'S6,Z9'], /no rule Z9 in the catalogue/],
    [['--target', 'http://x'], /needs --ca FILE and --identities DIR|must use mqtts/],
    [['--rules', 'S10'], /no scenario ran/],
    [['--tags', 'not'], /--tags "not" is not a tag expression/],
    [['--report-dir', 'README.md/reports'], /--report-dir README\.md\/reports cannot be written to: ENOTDIR/],
    [['--target', 'mqtts://127.0.0.1:1', '--ca', 'features'], /--ca features is not a file/],
  ])('exits 2 for %j', async (args, message) => {
    const run = await runConformance(temporaryDir(), ['--identities', pki.dir, ...args]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(message);
  });

  it('exits 1 for a failing rule and says what was expected and observed', async () => {
    const reports = temporaryDir();
    const run = await runConformance(reports, ['--identities', pki.dir, '--break', 'S6', '--rules', 'S6']);
    expect(run.exitCode).toBe(1);
    const s6 = run.rules!.find((verdict) => verdict.id === 'S6' && verdict.version === '5')!;
    expect(s6.status).toBe('failed');
    expect(s6.message).toMatch(/expected CONNACK 0x87 Not authorized \(inferred for S5, S6\), got accepted: 0x00 Success/);
    expect(run.stdout).toMatch(/^rules: \d+ passed, [1-9]\d* failed, 0 skipped$/m);
  });
});
