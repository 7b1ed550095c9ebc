// The ARM template `npm run provision` writes, loaded into the reference broker, passes the whole suite.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { loadPki } from '../certs/manifest.ts';
import { runScript, temporaryDir } from '../common/test-support.ts';
import { readNamespaceFile } from '../eventgrid/namespace-file.ts';
import { serverTlsFromPki, startReferenceBroker } from '../reference/broker.ts';
import { runConformance } from './conformance-test-support.ts';

const pki = () => loadPki(inject('pkiDir'));

async function provision(format: string) {
  const out = temporaryDir();
  const run = await runScript('provision/cli.ts', ['--namespace', 'conf-ns', '--resource-group', 'conf-rg', '--identities', pki().dir, '--format', format, '--out', out]);
  expect(run.exitCode, run.stderr).toBe(0);
  return { out, template: join(out, 'conf-ns.template.json') };
}

describe('the ARM template', () => {
  it('starts a reference broker that passes the suite', async () => {
    const { template, out } = await provision('arm');
    const broker = await startReferenceBroker({ namespace: readNamespaceFile(template), tls: serverTlsFromPki(pki()) });
    try {
      const targetFile = join(out, 'target.json');
      writeFileSync(targetFile, JSON.stringify({ url: broker.url, ca: join(pki().dir, pki().manifest.ca.root.certificate), identities: pki().dir, pace: false }));
      const run = await runConformance(join(out, 'reports'), ['--target-file', targetFile]);
      expect(run.exitCode, run.stdout.slice(-3000)).toBe(0);
      const failed = run.rules!.filter((verdict) => verdict.status === 'failed');
      expect(failed).toEqual([]);
      expect(run.rules!.filter((verdict) => verdict.status === 'passed').length).toBeGreaterThan(25);
    } finally {
      await broker.stop();
    }
  }, 120_000);
});
