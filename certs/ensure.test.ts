// ensurePki and `npm run certs`: reuse, regeneration and the errors a user can meet.
import { execFile, spawn } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { MANIFEST_FILE, PkiError, type PkiManifest } from './manifest.ts';
import { ensurePki, markRegistered } from './pki.ts';
import { existsSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { scriptArgs, temporaryDir } from '../common/test-support.ts';

const DAY = 86_400_000;
let dir: string;
let first: PkiManifest;
let template: string;

beforeAll(async () => {
  dir = join(temporaryDir(), 'pki');
  ({ manifest: first } = await ensurePki({ outDir: dir }));
  template = join(temporaryDir(), 'pki');
  cpSync(dir, template, { recursive: true });
}, 180_000);

describe('ensurePki', () => {
  it('reuses an intact set made from the same specs, and says so', async () => {
    const lines: string[] = [];
    const result = await ensurePki({ outDir: dir, log: (line) => lines.push(line) });
    expect(result.action).toBe('reused');
    expect(result.manifest.identities[0]!.thumbprint).toBe(first.identities[0]!.thumbprint);
    expect(lines.join('\n')).toMatch(/reusing/);
  }, 180_000);

  it('makes a new set with force, and when the old one is close to expiring', async () => {
    const forced = await ensurePki({ outDir: dir, force: true });
    expect(forced.action).toBe('generated');
    expect(forced.manifest.identities[0]!.thumbprint).not.toBe(first.identities[0]!.thumbprint);
    // Unmarked, it is a throwaway of the embedded reference: renewed when it nears expiry.
    const later = await ensurePki({ outDir: dir, now: new Date(Date.now() + 360 * DAY) });
    expect(later.action).toBe('generated');
  }, 180_000);

  it('refuses a corrupt set, naming the problem and the way out', async () => {
    const copy = join(temporaryDir(), 'pki');
    await ensurePki({ outDir: copy });
    rmSync(join(copy, 'clients', 'beta.key.pem'));
    await expect(ensurePki({ outDir: copy })).rejects.toThrow(/corrupt.*beta\.key\.pem is missing.*--force/);
    writeFileSync(join(copy, MANIFEST_FILE), '{ not json');
    await expect(ensurePki({ outDir: copy })).rejects.toThrow(/not valid JSON/);
    expect((await ensurePki({ outDir: copy, force: true })).action).toBe('generated');
  }, 180_000);

  it('makes the folders above a new set that are missing', async () => {
    const nested = join(temporaryDir(), 'build', 'certs', 'pki');
    expect((await ensurePki({ outDir: nested })).action).toBe('generated');
    expect(existsSync(join(nested, MANIFEST_FILE))).toBe(true);
  }, 180_000);

  it('will not write into a folder that holds something else, or that cannot be made', async () => {
    const occupied = temporaryDir();
    writeFileSync(join(occupied, 'notes.txt'), 'mine');
    await expect(ensurePki({ outDir: occupied })).rejects.toThrow(PkiError);
    expect(readFileSync(join(occupied, 'notes.txt'), 'utf8')).toBe('mine');
    const blocked = join(occupied, 'notes.txt', 'pki');
    await expect(ensurePki({ outDir: blocked })).rejects.toThrow(/cannot write/);
  }, 180_000);

  it('refuses a corrupt set or a folder holding other files for that reason where no lock can be made beside it', async () => {
    // A name of 250 characters: the lock's names beside it (.NAME.lock-PID-…) are too long to be made.
    const corrupt = join(temporaryDir(), 'p'.repeat(250));
    cpSync(template, corrupt, { recursive: true });
    rmSync(join(corrupt, 'clients', 'beta.key.pem'));
    await expect(ensurePki({ outDir: corrupt })).rejects.toThrow(/corrupt.*beta\.key\.pem is missing.*--force/);
    const occupied = join(temporaryDir(), 'o'.repeat(250));
    mkdirSync(occupied);
    writeFileSync(join(occupied, 'notes.txt'), 'mine');
    await expect(ensurePki({ outDir: occupied })).rejects.toThrow(/is not empty and holds no identities\.json/);
  }, 180_000);
});

/**
 * ensurePki in a child process of its own, started and waiting: `go()` sets it off. It answers with what
 * it returned and the server certificate it then read, as a broker starting on the folder would.
 */
async function startEnsure(outDir: string): Promise<{ go(): void; answer: Promise<{ action: string; root: string; server: string }> }> {
  const script = `
    import { createInterface } from 'node:readline';
    import { X509Certificate } from 'node:crypto';
    import { readFileSync } from 'node:fs';
    import { join } from 'node:path';
    import { ensurePki } from ${JSON.stringify(new URL('./pki.ts', import.meta.url).href)};
    console.log('ready');
    await new Promise((resolve) => createInterface({ input: process.stdin }).once('line', resolve));
    const { action, manifest } = await ensurePki({ outDir: ${JSON.stringify(outDir)} });
    const server = new X509Certificate(readFileSync(join(${JSON.stringify(outDir)}, manifest.server.certificate))).fingerprint256.replaceAll(':', '');
    console.log(JSON.stringify({ action, root: manifest.ca.root.thumbprint, server }));
    process.exit(0);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const exited = once(child, 'exit');
  while (!out.includes('ready\n')) await Promise.race([once(child.stdout, 'data'), exited]);
  return {
    go: () => child.stdin.write('go\n'),
    answer: exited.then(([code]) => {
      if (code !== 0) throw new Error(`ensurePki's process exited ${code}: ${out}`);
      return JSON.parse(out.trim().split('\n').at(-1)!) as { action: string; root: string; server: string };
    }),
  };
}

describe('callers in several processes at once', () => {
  it('make one set between them on an empty folder: each gets the set the folder holds, and every certificate verifies against its CA', async () => {
    const shared = temporaryDir();
    const callers = await Promise.all([startEnsure(shared), startEnsure(shared)]);
    for (const caller of callers) caller.go();
    const answers = await Promise.all(callers.map((caller) => caller.answer));
    const onDisk = JSON.parse(readFileSync(join(shared, MANIFEST_FILE), 'utf8')) as PkiManifest;
    for (const answer of answers) expect(answer).toMatchObject({ root: onDisk.ca.root.thumbprint, server: onDisk.server.thumbprint });
    expect(answers.map((answer) => answer.action).sort()).toEqual(['generated', 'reused']);
    const read = (file: string) => new X509Certificate(readFileSync(join(shared, file)));
    const root = read(onDisk.ca.root.certificate);
    const intermediate = read(onDisk.ca.intermediate.certificate);
    expect(intermediate.verify(root.publicKey)).toBe(true);
    for (const entry of [onDisk.server, ...onDisk.identities.filter((identity) => identity.issuer === 'intermediate')]) {
      expect(read(entry.certificate).verify(intermediate.publicKey), entry.certificate).toBe(true);
    }
  }, 180_000);

  it('waits for a process that holds the folder\'s lock, and takes a lock whose process is gone', async () => {
    const parent = temporaryDir();
    const outDir = join(parent, 'pki');
    const lock = join(parent, '.pki.lock');
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    writeFileSync(lock, `${holder.pid}\n`);
    const lines: string[] = [];
    let settled = false;
    const ensured = ensurePki({ outDir, log: (line) => lines.push(line) }).finally(() => (settled = true));
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(settled).toBe(false);
      expect(lines).toEqual([`waiting for process ${holder.pid}, which is writing the PKI set in ${outDir}`]);
    } finally {
      holder.kill('SIGKILL');
      await once(holder, 'exit');
    }
    expect((await ensured).action).toBe('generated');
    expect(existsSync(lock)).toBe(false);
  }, 180_000);
});

describe('a lock whose process id is alive', () => {
  /** ensurePki on a copy of the set that lacks a server name, so that it takes the lock; 'waited' past 10 s. */
  const reissue = (registered: string, lines: string[] = []) =>
    Promise.race([
      ensurePki({ outDir: registered, serverNames: { dns: ['lock.lan'], ip: [] }, log: (line) => lines.push(line) }),
      new Promise<'waited'>((resolve) => setTimeout(resolve, 10_000, 'waited').unref()),
    ]);

  it('is a dead run\'s when it names this process and this process does not hold it (a container\'s PID 1 after a restart): taken at once', async () => {
    const { registered } = copyOfFirst();
    const lock = join(registered, '..', '.pki.lock');
    writeFileSync(lock, `${process.pid}\n`);
    const lines: string[] = [];
    const result = await reissue(registered, lines);
    expect(result).not.toBe('waited');
    expect(lines.join('\n')).not.toMatch(/waiting/);
    expect(existsSync(lock)).toBe(false);
  }, 180_000);

  it('is waited for when this process holds it: callers in one process at once make one server certificate between them', async () => {
    const { registered } = copyOfFirst();
    const [one, other] = await Promise.all([reissue(registered), reissue(registered)]);
    expect(one).not.toBe('waited');
    expect(other).not.toBe('waited');
    const onDisk = JSON.parse(readFileSync(join(registered, MANIFEST_FILE), 'utf8')) as PkiManifest;
    expect([one, other].map((result) => (result as { manifest: PkiManifest }).manifest.server.thumbprint)).toEqual([onDisk.server.thumbprint, onDisk.server.thumbprint]);
  }, 180_000);

  it.runIf(existsSync('/proc/self/stat'))('is stale when that process started at another time than the lock\'s holder (a recycled id)', async () => {
    const { registered } = copyOfFirst();
    const lock = join(registered, '..', '.pki.lock');
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      writeFileSync(lock, `${other.pid} 1\n`);
      const lines: string[] = [];
      expect(await reissue(registered, lines)).not.toBe('waited');
      expect(lines.join('\n')).not.toMatch(/waiting/);
    } finally {
      other.kill('SIGKILL');
      await once(other, 'exit');
    }
  }, 180_000);
});

/** A registered-to-be copy of the set made once in beforeAll: generation is slow on a loaded machine. */
function copyOfFirst(): { registered: string; manifest: PkiManifest } {
  const registered = join(temporaryDir(), 'pki');
  cpSync(template, registered, { recursive: true });
  return { registered, manifest: JSON.parse(readFileSync(join(registered, MANIFEST_FILE), 'utf8')) as PkiManifest };
}

describe('a set registered on a namespace', () => {
  it('is never replaced by a run with the clock past the renewal point or past expiry, which says what to do', async () => {
    const { registered, manifest } = copyOfFirst();
    markRegistered(registered, 'conf-ns');
    for (const days of [340, 360, 400]) {
      const lines: string[] = [];
      const run = await ensurePki({ outDir: registered, now: new Date(Date.now() + days * DAY), log: (line) => lines.push(line) });
      expect(run.action).toBe('reused');
      expect(run.manifest.ca.intermediate.thumbprint).toBe(manifest.ca.intermediate.thumbprint);
      expect(run.manifest.identities.map((i) => i.thumbprint)).toEqual(manifest.identities.map((i) => i.thumbprint));
      expect(run.warnings).toHaveLength(1);
      expect(run.warnings[0]).toMatch(days > 365 ? /have expired: .* expired on/ : /expire soon: .* \(in \d+ days\)/);
      expect(run.warnings[0]).toMatch(/registered on namespace conf-ns/);
      expect(run.warnings[0]).toMatch(/`npm run certs -- --renew --out .*pki`/);
      expect(run.warnings[0]).toMatch(/register the CA ca\/intermediate\.pem and the thumbprints of the ThumbprintMatch clients \S+/);
      expect(lines).toContain(run.warnings[0]);
    }
    // Far from expiry: no warning.
    expect((await ensurePki({ outDir: registered })).warnings).toEqual([]);
  }, 180_000);

  it('is kept beside the new set on --renew, and only then', async () => {
    const { registered, manifest } = copyOfFirst();
    markRegistered(registered, 'conf-ns');
    const lines: string[] = [];
    const renewed = await ensurePki({ outDir: registered, renew: true, log: (line) => lines.push(line) });
    expect(renewed.action).toBe('generated');
    expect(renewed.manifest.ca.intermediate.thumbprint).not.toBe(manifest.ca.intermediate.thumbprint);
    expect(renewed.manifest.registered).toBeUndefined();
    expect(renewed.keptAt).toMatch(/pki\.replaced-/);
    const kept = JSON.parse(readFileSync(join(renewed.keptAt!, MANIFEST_FILE), 'utf8')) as PkiManifest;
    expect(kept.ca.intermediate.thumbprint).toBe(manifest.ca.intermediate.thumbprint);
    expect(existsSync(join(renewed.keptAt!, manifest.identities[0]!.key))).toBe(true);
    expect(lines.join('\n')).toMatch(/kept in .*replaced-.*register the CA/);
  }, 180_000);

  it('gets a new server certificate, from its own CA, for server names it lacks; its client certificates stay', async () => {
    const { registered, manifest } = copyOfFirst();
    markRegistered(registered, 'conf-ns');
    const named = await ensurePki({ outDir: registered, serverNames: { dns: ['broker.lan'], ip: ['10.0.0.5'] } });
    expect(named.manifest.server.dns).toEqual(['localhost', 'broker.lan']);
    expect(named.manifest.server.ip).toEqual(['127.0.0.1', '::1', '10.0.0.5']);
    const server = new X509Certificate(readFileSync(join(registered, named.manifest.server.certificate)));
    expect(server.subjectAltName).toMatch(/DNS:broker\.lan/);
    expect(server.subjectAltName).toMatch(/IP Address:10\.0\.0\.5/);
    const intermediate = new X509Certificate(readFileSync(join(registered, manifest.ca.intermediate.certificate)));
    expect(server.verify(intermediate.publicKey)).toBe(true);
    expect(named.manifest.identities.map((i) => i.thumbprint)).toEqual(manifest.identities.map((i) => i.thumbprint));
    expect(named.manifest.registered?.[0]?.namespace).toBe('conf-ns');
    // Asked again for names it has: nothing changes.
    const again = await ensurePki({ outDir: registered, serverNames: { dns: ['broker.lan'], ip: [] } });
    expect(again.manifest.server.thumbprint).toBe(named.manifest.server.thumbprint);
  }, 180_000);
});

describe('npm run certs', () => {
  const run = (...args: string[]) =>
    promisify(execFile)(process.execPath, [...scriptArgs('certs/cli.ts'), ...args]).then(
      (out) => ({ code: 0, ...out }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );

  it('answers a user mistake with one line and exit code 2', async () => {
    const bad = temporaryDir();
    mkdirSync(join(bad, 'pki'));
    writeFileSync(join(bad, 'pki', MANIFEST_FILE), '[]');
    const result = await run('--out', join(bad, 'pki'));
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^error: .*not a PKI manifest/);
    const unknown = await run('--colour');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown option '--colour'[\s\S]*usage: mqtt-multisession-conformance certs/);
  }, 180_000);
});
