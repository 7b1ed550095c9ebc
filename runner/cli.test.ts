// npm run conformance as CI sees it: exit codes, one clear line for a target it cannot use, and the
// expected and observed of a failing rule.
import { writeFileSync } from 'node:fs';
import { createServer as createTlsServer } from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadPki, type LoadedPki, serverTlsFromPki } from '../certs/manifest.ts';
import { closedPort, temporaryDir } from '../common/test-support.ts';
import { startReferenceBroker, type ReferenceBroker } from '../reference/broker.ts';
import { namespaceFromPki } from '../certs/namespace.ts';
import { runConformance } from '../testkit/conformance-run.ts';

let pki: LoadedPki;
let broker: ReferenceBroker;

beforeAll(async () => {
  pki = loadPki(inject('pkiDir'));
  broker = await startReferenceBroker({ namespace: namespaceFromPki(pki), tls: serverTlsFromPki(pki) });
});
afterAll(async () => {
  await broker.stop();
});

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
    [['--rules', 'S10'], /^error: --rules: S10 cannot be observed from a client \(a pacing limit on the client; .*\): no scenario tests it\n$/],
    [['--tags', 'not'], /--tags "not" is not a tag expression/],
    [['--report-dir', 'README.md/reports'], /--report-dir README\.md\/reports cannot be written to: ENOTDIR/],
    [['--target', 'mqtts://127.0.0.1:1', '--ca', 'features'], /--ca features is not a file/],
    [['--transport', 'ws'], /--transport must be tcp, wss or both, not "ws"/],
    [['--target', 'wss://127.0.0.1:1', '--ca', 'README.md'], /give the WebSocket path too, as in wss:\/\/HOST:443\/mqtt/],
    [['--target', 'mqtts://127.0.0.1:1', '--ca', 'README.md', '--transport', 'wss'], /--transport applies to the embedded reference broker only/],
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
    // The code is inferred: the documented outcome (a refusal) is asserted, the code only recorded.
    expect(s6.message).toMatch(/expected a refusal \(the code is recorded: the project infers 0x87 Not authorized \(inferred for S5, S6\)\), got accepted: 0x00 Success/);
    expect(run.stdout).toMatch(/^rules: \d+ passed, [1-9]\d* failed, 0 skipped$/m);
  });

  it('passes an inferred code that differs on the lenient reading, marked so, and fails it with --strict-codes', async () => {
    // The A6 mutant refuses authentication failures by closing the connection, with no CONNACK code.
    const lenient = await runConformance(temporaryDir(), ['--identities', pki.dir, '--break', 'A6', '--rules', 'A2', '--mqtt', '5']);
    const a2 = lenient.rules!.find((verdict) => verdict.id === 'A2' && verdict.version === '5')!;
    expect(a2.status).toBe('passed');
    expect(a2.lenientCodes.join('\n')).toContain('no CONNACK (connection closed), where the project infers 0x86 Bad User Name or Password');
    expect(lenient.stdout).toMatch(/^A2 +X\.509 +(tcp|wss) +- +PASS~ /m);
    const strict = await runConformance(temporaryDir(), ['--identities', pki.dir, '--break', 'A6', '--rules', 'A2', '--mqtt', '5', '--strict-codes']);
    expect(strict.exitCode).toBe(1);
    const a2Strict = strict.rules!.find((verdict) => verdict.id === 'A2' && verdict.version === '5')!;
    expect(a2Strict.message).toContain('binding with --strict-codes, got refused: no CONNACK');
    // Two runs, each a child process: more than the default timeout on a loaded machine.
  }, 60_000);
});

// Without MMC_* variables, whatever the shell running the tests has set.
const cleanEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('MMC_'))),
  ...extra,
});

describe('npm run conformance cannot go green against the wrong broker', () => {
  it('exits 2 with one line when MMC_TARGET is set but empty (a missing CI secret)', async () => {
    const run = await runConformance(temporaryDir(), ['--rules', 'S6'], cleanEnv({ MMC_TARGET: '' }));
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim()).toMatch(/^error: MMC_TARGET is set but empty/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stdout).not.toMatch(/embedded reference/);
  });

  it('exits 2 with one line when MMC_TARGET is an undefined Azure Pipelines variable', async () => {
    const run = await runConformance(temporaryDir(), ['--rules', 'S6'], cleanEnv({ MMC_TARGET: '$(MMC_TARGET)' }));
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim()).toMatch(/^error: MMC_TARGET is the literal text \$\(MMC_TARGET\): the pipeline variable is not defined/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it.each([
    [['--target', '']],
    [['--target-file', '']],
  ])('exits 2 with one line for an empty %j', async (args) => {
    const run = await runConformance(temporaryDir(), args, cleanEnv());
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim()).toMatch(/^error: --target(-file)? is empty/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it.each([
    ['--session-limit', '0'],
    ['--max-session-expiry', '60'],
    ['--ca', 'README.md'],
    ['--alternative-names-target', 'mqtts://127.0.0.1:1'],
    ['--include-slow'],
    ['--no-pace'],
  ])('exits 2 with one line for the remote-only %s without a target', async (...args) => {
    const run = await runConformance(temporaryDir(), args, cleanEnv());
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim()).toMatch(new RegExp(`^error: ${args[0]} describes a remote target, but no target was given`));
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('exits 2 when MMC_CA or MMC_IDENTITIES is set without MMC_TARGET', async () => {
    const run = await runConformance(temporaryDir(), [], cleanEnv({ MMC_CA: '/etc/ssl/certs/ca-certificates.crt', MMC_IDENTITIES: 'pki' }));
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim()).toMatch(/^error: MMC_CA and MMC_IDENTITIES are set but MMC_TARGET is not/);
  });
});

describe('npm run conformance names the real cause', () => {
  it('says when --ca holds no certificate', async () => {
    const run = await runConformance(temporaryDir(), remote(broker.url, 'package.json'), cleanEnv());
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim()).toMatch(/^error: --ca package\.json holds no PEM certificate/);
  });

  it("reports a target file's CA as the target file's, not as --ca", async () => {
    const dir = temporaryDir();
    const file = join(dir, 'target.json');
    writeFileSync(file, JSON.stringify({ url: broker.url, ca: join(pki.dir, pki.manifest.ca.unregistered.certificate), identities: pki.dir }));
    const run = await runConformance(join(dir, 'reports'), ['--target-file', file], cleanEnv());
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/does not verify against the "ca" of target file .*target\.json .*unregistered-root\.pem/);
    expect(run.stderr).not.toMatch(/--ca/);
  });

  it.each([
    ['never answers CONNECT', undefined, /completed TLS but sent no CONNACK within 5 s: is an MQTT broker listening/],
    ['answers CONNECT with something else', 'HTTP/1.1 400 Bad Request\r\n\r\n', /completed TLS but did not answer CONNECT as an MQTT broker|closed the connection after CONNECT with no CONNACK/],
  ])('does not blame registration for a TLS server that %s', async (_what, answer, message) => {
    const server = createTlsServer({ cert: pki.read(pki.manifest.server.chain!), key: pki.read(pki.manifest.server.key), requestCert: true, rejectUnauthorized: false }, (socket) => {
      socket.on('error', () => {});
      if (answer) socket.once('data', () => socket.end(answer));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const run = await runConformance(temporaryDir(), remote(`mqtts://127.0.0.1:${port}`, join(pki.dir, pki.manifest.ca.root.certificate)), cleanEnv());
      expect(run.exitCode).toBe(2);
      expect(run.stderr.trim()).toMatch(message);
      expect(run.stderr).not.toMatch(/registered/);
    } finally {
      server.close();
    }
  });
});
