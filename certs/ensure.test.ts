// ensurePki and `npm run certs`: reuse, regeneration and the errors a user can meet.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { MANIFEST_FILE, PkiError, type PkiManifest } from './manifest.ts';
import { ensurePki } from './pki.ts';
import { temporaryDir } from '../common/test-support.ts';

const DAY = 86_400_000;
let dir: string;
let first: PkiManifest;

beforeAll(async () => {
  dir = join(temporaryDir(), 'pki');
  ({ manifest: first } = await ensurePki({ outDir: dir }));
});

describe('ensurePki', () => {
  it('reuses an intact set made from the same specs, and says so', async () => {
    const lines: string[] = [];
    const result = await ensurePki({ outDir: dir, log: (line) => lines.push(line) });
    expect(result.action).toBe('reused');
    expect(result.manifest.identities[0]!.thumbprint).toBe(first.identities[0]!.thumbprint);
    expect(lines.join('\n')).toMatch(/reusing/);
  });

  it('makes a new set with force, and when the old one is close to expiring', async () => {
    const forced = await ensurePki({ outDir: dir, force: true });
    expect(forced.action).toBe('generated');
    expect(forced.manifest.identities[0]!.thumbprint).not.toBe(first.identities[0]!.thumbprint);
    const later = await ensurePki({ outDir: dir, now: new Date(Date.now() + 100 * DAY) });
    expect(later.action).toBe('generated');
  });

  it('refuses a corrupt set, naming the problem and the way out', async () => {
    const copy = join(temporaryDir(), 'pki');
    await ensurePki({ outDir: copy });
    rmSync(join(copy, 'clients', 'beta.key.pem'));
    await expect(ensurePki({ outDir: copy })).rejects.toThrow(/corrupt.*beta\.key\.pem is missing.*--force/);
    writeFileSync(join(copy, MANIFEST_FILE), '{ not json');
    await expect(ensurePki({ outDir: copy })).rejects.toThrow(/not valid JSON/);
    expect((await ensurePki({ outDir: copy, force: true })).action).toBe('generated');
  });

  it('will not write into a folder that holds something else, or that cannot be made', async () => {
    const occupied = temporaryDir();
    writeFileSync(join(occupied, 'notes.txt'), 'mine');
    await expect(ensurePki({ outDir: occupied })).rejects.toThrow(PkiError);
    expect(readFileSync(join(occupied, 'notes.txt'), 'utf8')).toBe('mine');
    const blocked = join(occupied, 'notes.txt', 'pki');
    await expect(ensurePki({ outDir: blocked })).rejects.toThrow(/cannot write/);
  });
});

describe('npm run certs', () => {
  const run = (...args: string[]) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', 'certs/cli.ts', ...args]).then(
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
  });
});
