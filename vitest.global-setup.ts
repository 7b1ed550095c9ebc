// Once per test run: one PKI set in a temporary folder for every test that needs certificates
// (the tests of certs/ make their own, since generation is what they test), and dist/ built from the
// sources as they are, so that the tests' child processes start compiled (common/test-support.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { spawnSync } from 'node:child_process';
import { ensurePki } from './certs/pki.ts';
import { COMPILED_ENV } from './common/test-support.ts';
import { buildIsCurrent } from './runner/launch.mjs';

/** Builds dist/ unless it is current; false when the build fails (the children then run through tsx). */
function ensureBuilt(root: string): boolean {
  if (buildIsCurrent(root)) return true;
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status === 0) return true;
  console.error('npm run build failed: the tests start the TypeScript sources through tsx instead');
  return false;
}

declare module 'vitest' {
  export interface ProvidedContext {
    pkiDir: string;
  }
}

export default async function setup(project: TestProject) {
  // Test workers and the children they start inherit it.
  if (ensureBuilt(process.cwd())) process.env[COMPILED_ENV] = '1';
  const root = mkdtempSync(join(tmpdir(), 'mmc-run-'));
  const { dir } = await ensurePki({ outDir: join(root, 'pki') });
  project.provide('pkiDir', dir);
  return () => rmSync(root, { recursive: true, force: true });
}
