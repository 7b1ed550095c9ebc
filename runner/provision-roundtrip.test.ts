// The ARM template `npm run provision` writes, loaded into the reference broker, passes the whole suite.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { loadPki, serverTlsFromPki } from '../certs/manifest.ts';
import { runScript, temporaryDir } from '../common/test-support.ts';
import { readNamespaceFile } from '../eventgrid/namespace-file.ts';
import { startReferenceBroker } from '../reference/broker.ts';
import { runConformance } from '../testkit/conformance-run.ts';

const pki = () => loadPki(inject('pkiDir'));

async function provision(format: string, extra: string[] = []) {
  const out = temporaryDir();
  const run = await runScript('provision/cli.ts', ['--namespace', 'conf-ns', '--resource-group', 'conf-rg', '--identities', pki().dir, '--format', format, '--out', out, ...extra]);
  expect(run.exitCode, run.stderr).toBe(0);
  return { out, template: join(out, 'conf-ns.template.json') };
}

describe('the ARM template', () => {
  it('starts a reference broker that passes the suite, under its own topic root', async () => {
    const { template, out } = await provision('arm', ['--topic-root', 'mmc-ci/run1']);
    const broker = await startReferenceBroker({ namespace: readNamespaceFile(template), tls: serverTlsFromPki(pki()) });
    try {
      const targetFile = join(out, 'target.json');
      writeFileSync(targetFile, JSON.stringify({ url: broker.url, ca: join(pki().dir, pki().manifest.ca.root.certificate), identities: pki().dir, pace: false, topicRoot: 'mmc-ci/run1' }));
      const run = await runConformance(join(out, 'reports'), ['--target-file', targetFile]);
      expect(run.exitCode, run.stdout.slice(-3000)).toBe(0);
      const failed = run.rules!.filter((verdict) => verdict.status === 'failed');
      expect(failed).toEqual([]);
      expect(run.rules!.filter((verdict) => verdict.status === 'passed').length).toBeGreaterThan(25);
    } finally {
      await broker.stop();
    }
  }, 300_000);

  it('without its permission bindings stops the run at the probe, in one line', async () => {
    const { template, out } = await provision('arm');
    const arm = JSON.parse(readFileSync(template, 'utf8'));
    arm.resources = Object.fromEntries(Object.entries(arm.resources as Record<string, { type: string }>).filter(([, resource]) => !resource.type.endsWith('/permissionBindings')));
    writeFileSync(template, JSON.stringify(arm));
    const broker = await startReferenceBroker({ namespace: readNamespaceFile(template), tls: serverTlsFromPki(pki()) });
    try {
      const targetFile = join(out, 'target.json');
      writeFileSync(targetFile, JSON.stringify({ url: broker.url, ca: join(pki().dir, pki().manifest.ca.root.certificate), identities: pki().dir, pace: false }));
      const run = await runConformance(join(out, 'reports'), ['--target-file', targetFile]);
      expect(run.exitCode).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/^error: identity alpha may not subscribe to mmc\/alpha\/.*: grant its client group the Subscriber role/);
      expect(run.stdout).not.toMatch(/scenarios? \(/);
    } finally {
      await broker.stop();
    }
  }, 60_000);
});
