// Once per test run: one PKI set in a temporary folder for every test that needs certificates
// (the tests of certs/ make their own, since generation is what they test).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensurePki } from './certs/pki.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pkiDir: string;
  }
}

export default async function setup(project: TestProject) {
  const root = mkdtempSync(join(tmpdir(), 'mmc-run-'));
  const { dir } = await ensurePki({ outDir: join(root, 'pki') });
  project.provide('pkiDir', dir);
  return () => rmSync(root, { recursive: true, force: true });
}
