// Provisioning from the identity manifest changes only what it adds: the scripts pass shellcheck and,
// run against a stand-in az that keeps a namespace (testkit/fake-az.mjs), add the manifest's resources,
// set only the settings that differ and only the name sources asked for; --unregister takes back
// exactly that; --dry-run prints the changes and makes none. The ARM template refers to the namespace
// as existing and round-trips into the same namespace.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { loadPki, readManifest } from '../certs/manifest.ts';
import { namespaceFromPki } from '../certs/namespace.ts';
import { readNamespaceFile } from '../eventgrid/namespace-file.ts';
import { runScript, temporaryDir } from '../common/test-support.ts';
import { armToNamespace, childResources, namespaceToArm } from '../eventgrid/arm-template.ts';
import { fakeAz, type FakeAz, type FakeNamespace } from '../testkit/fake-azure-cli.ts';

const pki = () => loadPki(inject('pkiDir'));

async function provision(format: string, ...more: string[]) {
  const out = temporaryDir();
  const run = await runScript('provision/cli.ts', ['--namespace', 'conf-ns', '--resource-group', 'conf-rg', '--identities', pki().dir, '--format', format, '--out', out, ...more]);
  expect(run.exitCode, run.stderr).toBe(0);
  const outDir = more.includes('--out') ? more[more.indexOf('--out') + 1]! : out;
  return { out: outDir, stdout: run.stdout, script: join(outDir, 'conf-ns.az.sh'), template: join(outDir, 'conf-ns.template.json') };
}

const hasShellcheck = spawnSync('shellcheck', ['--version']).status === 0;

/** A namespace as a user has it before provisioning: its own sku and location, a name source, a client and a group of its own. */
function existingNamespace(settings: Record<string, unknown> = {}): FakeNamespace {
  return {
    resourceGroup: 'conf-rg',
    namespace: {
      name: 'conf-ns',
      location: 'westeurope',
      sku: { name: 'Standard', capacity: 4 },
      properties: {
        topicSpacesConfiguration: {
          state: 'Enabled',
          hostname: 'conf-ns.westeurope-1.ts.eventgrid.azure.net',
          maximumSessionExpiryInHours: 1,
          maximumClientSessionsPerAuthenticationName: 1,
          clientAuthentication: { alternativeAuthenticationNameSources: ['ClientCertificateSubject'] },
          routeTopicResourceId: '/subscriptions/s/resourceGroups/conf-rg/providers/Microsoft.EventGrid/namespaces/conf-ns/topics/telemetry',
          ...settings,
        },
      },
    },
    children: {
      clients: { 'their-device': { authenticationName: 'their-device', state: 'Enabled', clientCertificateAuthentication: { validationScheme: 'SubjectMatchesAuthenticationName' }, attributes: { type: 'sensor' } } },
      clientGroups: { 'their-sensors': { query: "attributes.type = 'sensor'" } },
    },
  };
}

/** Runs a generated script against the fake az; its output. */
function runAgainst(az: FakeAz, script: string): string {
  return execFileSync('bash', [script], { env: az.env, encoding: 'utf8' });
}

/** The children the fake namespace has, by kind, as the expected namespace would add them. */
const expectedChildren = (namespace: ReturnType<typeof namespaceFromPki>) => {
  const kinds: Record<string, string> = { caCertificates: 'caCertificates', clients: 'clients', clientGroups: 'clientGroups', topicSpaces: 'topicSpaces', permissionBindings: 'permissionBindings' };
  return Object.fromEntries(
    Object.keys(kinds).map((kind) => [kind, childResources(namespace).filter((child) => child.type.endsWith(`/${kind}`)).map((child) => child.name)]),
  );
};

const writes = (calls: string[][]) => calls.filter((call) => call.includes('update') || call.includes('create') || call.includes('delete'));

describe('the az script', () => {
  it('is valid bash', async () => {
    const { script } = await provision('az');
    expect(spawnSync('bash', ['-n', script]).status).toBe(0);
  });

  it.skipIf(!hasShellcheck)('and the settings and unregister scripts pass shellcheck (install the Debian package shellcheck to run this)', async () => {
    const { script, out } = await provision('both', '--name-source', 'ClientCertificateDns', '--custom-jwt', '--webhook', 'https://conf-fn.example.net/api/authenticate');
    await provision('az', '--unregister', '--out', out);
    for (const file of [script, join(out, 'conf-ns.settings.az.sh'), join(out, 'conf-ns.unregister.az.sh')]) {
      const result = spawnSync('shellcheck', [file], { encoding: 'utf8' });
      expect(result.stdout + result.stderr, file).toBe('');
      expect(result.status).toBe(0);
    }
  });

  it('adds the CA, clients and access control, sets only the settings that differ, and leaves everything else as it was', async () => {
    const { script, out } = await provision('az');
    const az = fakeAz(out, existingNamespace());
    const before = az.state();
    const output = runAgainst(az, script);
    const after = az.state();
    const expected = namespaceFromPki(pki(), { name: 'conf-ns', maximumClientSessionsPerAuthenticationName: 2, customJwt: false });

    // Exactly the children the manifest asks for, beside the namespace's own.
    const names = expectedChildren(expected);
    for (const [kind, wanted] of Object.entries(names)) {
      expect(Object.keys(after.children[kind] ?? {}).sort(), kind).toEqual([...wanted, ...Object.keys(before.children[kind] ?? {})].sort());
    }
    expect(after.children.clients!['their-device']).toEqual(before.children.clients!['their-device']);
    expect(after.children.clientGroups!['their-sensors']).toEqual(before.children.clientGroups!['their-sensors']);
    expect(after.children.caCertificates!['conformance-test-ca']!.encodedCertificate).toBe(expected.caCertificates[0]!.encodedCertificate.replace(/\n/g, ''));
    for (const client of expected.clients) {
      expect(after.children.clients![client.name], client.name).toMatchObject({ authenticationName: client.authenticationName, state: client.state, attributes: client.attributes });
    }
    // Templates reach az verbatim, ${client.authenticationName} and all (single quotes, no expansion).
    expect(after.children.topicSpaces!['conformance-own-topics']!.topicTemplates).toEqual(['mmc/${client.authenticationName}/#']);
    expect(after.children.permissionBindings!['conformance-observers-publish']).toEqual({ clientGroupName: 'conformance-observers', topicSpaceName: 'conformance-all-clients', permission: 'Publisher' });

    // The one setting that differed changed; sku, location, name sources and the rest did not.
    const { maximumClientSessionsPerAuthenticationName, ...otherSettings } = after.namespace.properties.topicSpacesConfiguration;
    expect(maximumClientSessionsPerAuthenticationName).toBe(2);
    const { maximumClientSessionsPerAuthenticationName: _was, ...otherSettingsBefore } = before.namespace.properties.topicSpacesConfiguration;
    expect(otherSettings).toEqual(otherSettingsBefore);
    expect({ sku: after.namespace.sku, location: after.namespace.location }).toEqual({ sku: before.namespace.sku, location: before.namespace.location });
    const updates = az.calls().filter((call) => call[0] === 'resource');
    expect(updates.map((call) => call.slice(call.indexOf('--set') + 1))).toEqual([['properties.topicSpacesConfiguration.maximumClientSessionsPerAuthenticationName=2', '--output', 'none']]);
    expect(az.calls().flat().join(' ')).not.toContain('alternativeAuthenticationNameSources=');
    expect(output).toContain('setting maximumClientSessionsPerAuthenticationName: 1 -> 2');
    expect(output).toContain('conf-ns.westeurope-1.ts.eventgrid.azure.net');
  }, 60_000);

  it('adds a name source only when asked, keeping those the namespace has, and only once', async () => {
    // The settings step alone: the same lines as the az script's first part, without the many clients.
    const { out } = await provision('arm', '--name-source', 'ClientCertificateDns', '--name-source', 'ClientCertificateSubject');
    const script = join(out, 'conf-ns.settings.az.sh');
    const az = fakeAz(out, existingNamespace());
    runAgainst(az, script);
    const sources = () => (az.state().namespace.properties.topicSpacesConfiguration.clientAuthentication as { alternativeAuthenticationNameSources: string[] }).alternativeAuthenticationNameSources;
    expect(sources()).toEqual(['ClientCertificateSubject', 'ClientCertificateDns']);
    // A second run finds every setting as asked: no update at all.
    const callsBefore = az.calls().length;
    const again = runAgainst(az, script);
    expect(az.calls().slice(callsBefore).filter((call) => call[0] === 'resource')).toEqual([]);
    expect(sources()).toEqual(['ClientCertificateSubject', 'ClientCertificateDns']);
    expect(again).toContain('unchanged: name source ClientCertificateDns');
  });

  it('refuses a name source Event Grid does not have, with one line', async () => {
    const run = await runScript('provision/cli.ts', ['--namespace', 'conf-ns', '--resource-group', 'rg', '--identities', pki().dir, '--name-source', 'ClientCertificateCn']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/^error: --name-source takes one of ClientCertificateSubject, .*, not "ClientCertificateCn"\n$/);
  });

  it('refuses a bad namespace name with one line', async () => {
    const run = await runScript('provision/cli.ts', ['--namespace', 'no spaces', '--resource-group', 'rg']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/^error: --namespace "no spaces" is not a namespace name/);
  });
});

describe('custom JWT and webhook authentication', () => {
  const WEBHOOK = 'https://conf-fn.example.net/api/authenticate';

  it('the az script sets the local issuer and the webhook at the preview API, each as one setting, after the session settings', async () => {
    const { out } = await provision('both', '--custom-jwt', '--webhook', WEBHOOK);
    // The settings step and the az script's first part are the same lines.
    const script = join(out, 'conf-ns.settings.az.sh');
    expect(readFileSync(join(out, 'conf-ns.az.sh'), 'utf8')).toContain(readFileSync(script, 'utf8').split('\nshow_setting')[1]!.split('\necho "namespace')[0]);
    const az = fakeAz(out, existingNamespace());
    runAgainst(az, script);
    const updates = az.calls().filter((call) => call[0] === 'resource');
    const authentication = updates.filter((call) => call.some((arg) => arg.includes('clientAuthentication.')));
    expect(authentication).toHaveLength(2);
    for (const call of authentication) expect(call[call.indexOf('--api-version') + 1]).toBe('2025-04-01-preview');
    expect(updates.indexOf(authentication[0]!)).toBeGreaterThan(0);
    const clientAuthentication = az.state().namespace.properties.topicSpacesConfiguration.clientAuthentication;
    const issuer = pki().read(pki().manifest.ca.tokenIssuer!.certificate).replace(/\r?\n/g, '');
    expect(clientAuthentication).toEqual({
      alternativeAuthenticationNameSources: ['ClientCertificateSubject'],
      customJwtAuthentication: { tokenIssuer: 'https://issuer.mqtt-multisession-conformance.test/', encodedIssuerCertificates: [{ kid: 'local-issuer', encodedCertificate: issuer }] },
      webhookAuthentication: { endpointUrl: WEBHOOK },
    });
  });

  it('the ARM template carries them as the namespace settings it expects, and round-trips', async () => {
    const { template, out } = await provision('arm', '--custom-jwt', '--webhook', WEBHOOK);
    const arm = JSON.parse(readFileSync(template, 'utf8'));
    expect(arm.metadata.namespaceSettings.clientAuthentication.webhookAuthentication).toEqual({ endpointUrl: WEBHOOK });
    const expected = namespaceFromPki(pki(), { name: 'conf-ns', maximumClientSessionsPerAuthenticationName: 2, webhookAuthentication: { endpointUrl: WEBHOOK } });
    // The Entra ID stand-in is the reference's own (reference.entraId): no template carries it.
    expect(readNamespaceFile(template)).toEqual({ ...expected, reference: { ...expected.reference, entraId: undefined } });
    // The settings step beside it is the one that sets them.
    expect(readFileSync(join(out, 'conf-ns.settings.az.sh'), 'utf8')).toContain(`set_object_setting clientAuthentication.webhookAuthentication '{"endpointUrl":"${WEBHOOK}"}' 2025-04-01-preview`);
  });

  it('refuses a webhook that is not https, with one line', async () => {
    const run = await runScript('provision/cli.ts', ['--namespace', 'conf-ns', '--resource-group', 'rg', '--identities', pki().dir, '--webhook', 'http://example.net/hook']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/^error: --webhook must use https:\/\//);
  });
});

describe('the ARM template', () => {
  const resources = (arm: { resources: Record<string, { type: string; existing?: boolean; sku?: unknown; location?: unknown; properties?: unknown }> }) => Object.values(arm.resources);

  it('refers to the namespace as existing, with no sku, location or properties: it adds child resources only', async () => {
    const { template } = await provision('arm');
    const arm = JSON.parse(readFileSync(template, 'utf8'));
    expect(arm.languageVersion).toBe('2.0');
    const namespaces = resources(arm).filter((resource) => resource.type === 'Microsoft.EventGrid/namespaces');
    expect(namespaces).toHaveLength(1);
    expect(namespaces[0]).toEqual({ type: 'Microsoft.EventGrid/namespaces', apiVersion: '2025-02-15', name: "[parameters('namespaceName')]", existing: true });
    expect(JSON.stringify(arm.parameters)).not.toMatch(/location|sku/i);
    for (const resource of resources(arm).filter((resource) => !resource.existing)) {
      expect(resource.type).toMatch(/^Microsoft\.EventGrid\/namespaces\/(caCertificates|clients|clientGroups|topicSpaces|permissionBindings)$/);
      expect(resource).not.toHaveProperty('sku');
      expect(resource).not.toHaveProperty('location');
    }
  });

  it('names only symbols it declares in dependsOn', async () => {
    const { template } = await provision('arm');
    const arm = JSON.parse(readFileSync(template, 'utf8'));
    const symbols = new Set(Object.keys(arm.resources));
    const dependencies = Object.values(arm.resources as Record<string, { dependsOn?: string[] }>).flatMap((resource) => resource.dependsOn ?? []);
    expect(dependencies.length).toBeGreaterThan(0);
    for (const dependency of dependencies) expect(symbols.has(dependency), dependency).toBe(true);
  });

  it('declares Event Grid resources and round-trips into the same namespace', async () => {
    const { template } = await provision('arm');
    const arm = JSON.parse(readFileSync(template, 'utf8'));
    expect(arm.$schema).toMatch(/deploymentTemplate\.json#$/);
    expect(new Set(resources(arm).map((resource) => resource.type))).toEqual(
      new Set([
        'Microsoft.EventGrid/namespaces',
        'Microsoft.EventGrid/namespaces/caCertificates',
        'Microsoft.EventGrid/namespaces/clients',
        'Microsoft.EventGrid/namespaces/clientGroups',
        'Microsoft.EventGrid/namespaces/topicSpaces',
        'Microsoft.EventGrid/namespaces/permissionBindings',
      ]),
    );
    const namespace = namespaceFromPki(pki(), { name: 'conf-ns', maximumClientSessionsPerAuthenticationName: 2, customJwt: false });
    expect(readNamespaceFile(template)).toEqual(namespace);
    expect(armToNamespace(namespaceToArm(namespace))).toEqual(namespace);
  });

  it('comes with the settings step, which sets only the namespace settings that differ', async () => {
    const { out } = await provision('arm');
    const az = fakeAz(out, existingNamespace({ maximumClientSessionsPerAuthenticationName: 2 }));
    const before = az.state();
    const output = runAgainst(az, join(out, 'conf-ns.settings.az.sh'));
    expect(az.state()).toEqual(before);
    expect(writes(az.calls())).toEqual([]);
    expect(output).toContain('unchanged: maximumClientSessionsPerAuthenticationName = 2');
  });
});

describe('unregister', () => {
  // A namespace name of its own, so that marking and unmarking the shared PKI set touches no other test's mark.
  const NAMESPACE = 'conf-unreg';
  const run = async (out: string, more: string[] = [], env?: NodeJS.ProcessEnv) => {
    const result = await runScript('provision/cli.ts', ['--namespace', NAMESPACE, '--resource-group', 'conf-rg', '--identities', pki().dir, '--format', 'az', '--out', out, ...more], env);
    expect(result.exitCode, result.stderr).toBe(0);
    return result.stdout;
  };
  const marks = () => (readManifest(pki().dir).registered ?? []).map((entry) => entry.namespace);
  const existing = () => {
    const namespace = existingNamespace();
    return { ...namespace, namespace: { ...namespace.namespace, name: NAMESPACE } };
  };

  it('removes exactly what provisioning added, puts back the settings it changed, and unmarks the set; a dry run says so first', async () => {
    const out = temporaryDir();
    const asked = ['--name-source', 'ClientCertificateDns'];
    await run(out, asked);
    expect(marks()).toContain(NAMESPACE);
    const az = fakeAz(out, existing());
    const before = az.state();
    runAgainst(az, join(out, `${NAMESPACE}.az.sh`));
    const provisioned = az.state();
    const settings = (state: FakeNamespace) => state.namespace.properties.topicSpacesConfiguration;
    expect(settings(provisioned)).toMatchObject({ maximumClientSessionsPerAuthenticationName: 2, clientAuthentication: { alternativeAuthenticationNameSources: ['ClientCertificateSubject', 'ClientCertificateDns'] } });

    // Dry runs: nothing left to provision; what unregistering would undo, dependants first. They write nothing.
    const callsBefore = az.calls().length;
    expect((await run(out, ['--dry-run', ...asked], az.env)).trim().split('\n').slice(1)).toEqual(['no changes: the namespace already has all of it']);
    const undo = (await run(out, ['--dry-run', '--unregister', ...asked], az.env)).trim().split('\n').slice(1);
    const expected = namespaceFromPki(pki(), { name: NAMESPACE, customJwt: false });
    expect(undo[0]).toBe('- permission binding conformance-clients-publish');
    expect(undo).toContain('- CA certificate conformance-test-ca');
    expect(undo).toContain('~ setting maximumClientSessionsPerAuthenticationName (2 -> 1)');
    expect(undo).toContain('- name source ClientCertificateDns');
    expect(undo.at(-1)).toBe(`0 to add, 1 to change, ${childResources(expected).length + 1} to remove`);
    expect(writes(az.calls().slice(callsBefore))).toEqual([]);
    expect(az.state()).toEqual(provisioned);
    expect(marks()).toContain(NAMESPACE);

    const stdout = await run(out, ['--unregister', ...asked]);
    expect(stdout).toContain(`unmarked ${pki().dir} as registered on namespace ${NAMESPACE}`);
    expect(marks()).not.toContain(NAMESPACE);
    const output = runAgainst(az, join(out, `${NAMESPACE}.unregister.az.sh`));
    expect(az.state()).toEqual(before);
    expect(output).toContain('removed client alpha');
    expect(output).toContain('put back maximumClientSessionsPerAuthenticationName: 1');
    expect(output).toContain('removed name source ClientCertificateDns');
    // Run again, it finds nothing left to remove or put back, and changes nothing.
    const callsAfter = az.calls().length;
    expect(runAgainst(az, join(out, `${NAMESPACE}.unregister.az.sh`))).toContain('absent: client alpha');
    expect(writes(az.calls().slice(callsAfter))).toEqual([]);
    expect(az.state()).toEqual(before);
  }, 120_000);

  it('puts back custom JWT and webhook settings the namespace did not have', async () => {
    const out = temporaryDir();
    const asked = ['--format', 'arm', '--custom-jwt', '--webhook', 'https://conf-fn.example.net/api/authenticate'];
    await run(out, asked);
    const az = fakeAz(out, existing());
    const before = az.state();
    runAgainst(az, join(out, `${NAMESPACE}.settings.az.sh`));
    expect(Object.keys(az.state().namespace.properties.topicSpacesConfiguration.clientAuthentication as object).sort()).toEqual(['alternativeAuthenticationNameSources', 'customJwtAuthentication', 'webhookAuthentication']);
    await run(out, ['--unregister', ...asked]);
    // Its children were never added here: the script finds them absent and removes only what the settings step changed.
    runAgainst(az, join(out, `${NAMESPACE}.unregister.az.sh`));
    expect(az.state()).toEqual(before);
  }, 60_000);

  it('may mark the set again by provisioning anew', async () => {
    const out = temporaryDir();
    await run(out, ['--unregister']);
    expect(marks()).not.toContain(NAMESPACE);
    await run(out);
    expect(marks()).toContain(NAMESPACE);
    await run(out, ['--unregister']);
    expect(marks()).not.toContain(NAMESPACE);
  });
});

describe('--dry-run', () => {
  it('prints what provisioning would add and change, and changes, writes and marks nothing', async () => {
    const out = temporaryDir();
    const start = existingNamespace();
    // A client of the suite's name that the namespace already has, with another authentication name.
    start.children.clients!.alpha = { authenticationName: 'someone-else', state: 'Enabled', clientCertificateAuthentication: { validationScheme: 'SubjectMatchesAuthenticationName' }, attributes: { role: 'client' } };
    const az = fakeAz(out, start);
    const manifest = readFileSync(join(pki().dir, 'identities.json'), 'utf8');
    const run = await runScript('provision/cli.ts', ['--namespace', 'conf-ns', '--resource-group', 'conf-rg', '--identities', pki().dir, '--out', join(out, 'provisioning'), '--dry-run'], az.env);
    expect(run.exitCode, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toContain('~ setting maximumClientSessionsPerAuthenticationName (1 -> 2)');
    expect(lines).toContain('~ client alpha (authenticationName)');
    expect(lines).toContain('+ CA certificate conformance-test-ca');
    expect(lines).toContain('+ permission binding conformance-observers-publish');
    expect(lines.some((line) => /their-device|their-sensors|name source/.test(line))).toBe(false);
    const expected = namespaceFromPki(pki(), { name: 'conf-ns', customJwt: false });
    const adds = lines.filter((line) => line.startsWith('+ ')).length;
    expect(adds).toBe(childResources(expected).length - 1);
    expect(lines.at(-1)).toBe(`${adds} to add, 2 to change, 0 to remove`);
    expect(az.state()).toEqual(start);
    expect(writes(az.calls())).toEqual([]);
    expect(existsSync(join(out, 'provisioning'))).toBe(false);
    expect(readFileSync(join(pki().dir, 'identities.json'), 'utf8')).toBe(manifest);
  });

  it('says in one line that it needs az', async () => {
    const run = await runScript('provision/cli.ts', ['--namespace', 'conf-ns', '--resource-group', 'conf-rg', '--identities', pki().dir, '--dry-run'], { ...process.env, PATH: temporaryDir() });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/^error: --dry-run reads the namespace with the Azure CLI, and az is not on PATH/);
  });
});
