// Provisioning from the identity manifest: the az script is valid bash, passes shellcheck and makes
// exactly the calls the manifest asks for; the ARM template round-trips into the same namespace.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { loadPki } from '../certs/manifest.ts';
import { namespaceFromPki } from '../certs/namespace.ts';
import { readNamespaceFile } from '../eventgrid/namespace-file.ts';
import { runScript, temporaryDir } from '../common/test-support.ts';
import { armToNamespace, namespaceToArm } from '../eventgrid/arm-template.ts';

const pki = () => loadPki(inject('pkiDir'));

async function provision(format: string, ...more: string[]) {
  const out = temporaryDir();
  const run = await runScript('provision/cli.ts', ['--namespace', 'conf-ns', '--resource-group', 'conf-rg', '--identities', pki().dir, '--format', format, '--out', out, ...more]);
  expect(run.exitCode, run.stderr).toBe(0);
  return { out, script: join(out, 'conf-ns.az.sh'), template: join(out, 'conf-ns.template.json') };
}

const hasShellcheck = spawnSync('shellcheck', ['--version']).status === 0;

describe('the az script', () => {
  it('is valid bash', async () => {
    const { script } = await provision('az');
    expect(spawnSync('bash', ['-n', script]).status).toBe(0);
  });

  it.skipIf(!hasShellcheck)('passes shellcheck (install the Debian package shellcheck to run this)', async () => {
    const { script } = await provision('az');
    const result = spawnSync('shellcheck', [script], { encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('makes exactly the calls the manifest asks for, with a stub az', async () => {
    const { script, out } = await provision('az');
    const record = join(out, 'az-calls.ndjson');
    const stub = join(out, 'az');
    // The stub keeps each call's arguments, and the text of the file given to --certificate.
    writeFileSync(
      stub,
      `#!/usr/bin/env bash\nexec node -e 'const fs=require("fs"); const args=process.argv.slice(1); const i=args.indexOf("--certificate"); fs.appendFileSync(process.env.AZ_RECORD, JSON.stringify({args, certificate: i < 0 ? undefined : fs.readFileSync(args[i+1], "utf8")}) + "\\n")' -- "$@"\n`,
    );
    chmodSync(stub, 0o755);
    execFileSync('bash', [script], { env: { ...process.env, PATH: `${out}:${process.env.PATH}`, AZ_RECORD: record } });
    const calls = readFileSync(record, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { args: string[]; certificate?: string });
    const arg = (call: { args: string[] }, flag: string) => call.args[call.args.indexOf(flag) + 1];

    const expected = namespaceFromPki(pki(), { name: 'conf-ns', maximumClientSessionsPerAuthenticationName: 2, customJwt: false });
    expect(calls.map((call) => call.args.slice(0, 3).join(' '))).toEqual([
      'eventgrid namespace update',
      'eventgrid namespace ca-certificate',
      ...expected.clients.map(() => 'eventgrid namespace client'),
      ...expected.clientGroups.map(() => 'eventgrid namespace client-group'),
      ...expected.topicSpaces.map(() => 'eventgrid namespace topic-space'),
      ...expected.permissionBindings.map(() => 'eventgrid namespace permission-binding'),
      'eventgrid namespace show',
    ]);
    for (const call of calls.slice(0, -1)) {
      expect(arg(call, '--resource-group')).toBe('conf-rg');
      expect(arg(call, '--name') ?? arg(call, '--namespace-name')).toBeTruthy();
    }
    expect(JSON.parse(arg(calls[0]!, '--topic-spaces-configuration')!)).toMatchObject({ state: 'Enabled', maximumClientSessionsPerAuthenticationName: 2, maximumSessionExpiryInHours: 1 });
    expect(calls[1]!.certificate).toBe(expected.caCertificates[0]!.encodedCertificate.replace(/\n/g, ''));
    const clients = calls.slice(2, 2 + expected.clients.length);
    const access = calls.slice(2 + expected.clients.length, -1);
    const groupCount = expected.clientGroups.length;
    const spaceCount = expected.topicSpaces.length;
    expect(access.slice(0, groupCount).map((call) => ({ name: arg(call, '--name'), query: arg(call, '--group-query') }))).toEqual(
      expected.clientGroups.map((group) => ({ name: group.name, query: group.query })),
    );
    // Templates reach az verbatim, ${client.authenticationName} and all (single quotes, no expansion).
    expect(access.slice(groupCount, groupCount + spaceCount).map((call) => call.args.slice(call.args.indexOf('--topic-templates') + 1).filter((_, i, rest) => !rest.slice(0, i + 1).some((a) => a.startsWith('--'))))).toEqual(
      expected.topicSpaces.map((space) => space.topicTemplates),
    );
    expect(access.slice(0, groupCount + spaceCount).flatMap((call) => call.args).join(' ')).toContain('mmc/${client.authenticationName}/#');
    expect(
      access.slice(groupCount + spaceCount).map((call) => ({
        name: arg(call, '--name'),
        clientGroupName: arg(call, '--client-group-name'),
        topicSpaceName: arg(call, '--topic-space-name'),
        permission: arg(call, '--permission'),
      })),
    ).toEqual(expected.permissionBindings.map(({ name, clientGroupName, topicSpaceName, permission }) => ({ name, clientGroupName, topicSpaceName, permission: permission.toLowerCase() })));
    expect(
      clients.map((call) => ({
        name: arg(call, '--name'),
        authenticationName: arg(call, '--authentication-name'),
        state: arg(call, '--state'),
        authentication: JSON.parse(arg(call, '--client-certificate-authentication')!),
      })),
    ).toEqual(
      expected.clients.map((client) => ({
        name: client.name,
        authenticationName: client.authenticationName,
        state: client.state,
        authentication:
          client.clientCertificateAuthentication.validationScheme === 'ThumbprintMatch'
            ? client.clientCertificateAuthentication
            : { validationScheme: client.clientCertificateAuthentication.validationScheme },
      })),
    );
  });

  it('refuses a bad namespace name with one line', async () => {
    const run = await runScript('provision/cli.ts', ['--namespace', 'no spaces', '--resource-group', 'rg']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/^error: --namespace "no spaces" is not a namespace name/);
  });
});

describe('custom JWT and webhook authentication', () => {
  const WEBHOOK = 'https://conf-fn.example.net/api/authenticate';

  it('the az script registers the local issuer and the webhook at the preview API, after the namespace update', async () => {
    const { script } = await provision('az', '--custom-jwt', '--webhook', WEBHOOK);
    const text = readFileSync(script, 'utf8');
    const updates = text.split('\n').filter((line) => line.startsWith('az resource update'));
    expect(updates).toHaveLength(2);
    for (const line of updates) expect(line).toContain('--api-version 2025-04-01-preview');
    const value = (line: string) => JSON.parse(/=('([^']*)')$/.exec(line)![2]!);
    const issuer = pki().read(pki().manifest.ca.tokenIssuer!.certificate).replace(/\r?\n/g, '');
    expect(value(updates[0]!)).toEqual({ tokenIssuer: 'https://issuer.mqtt-multisession-conformance.test/', encodedIssuerCertificates: [{ kid: 'local-issuer', encodedCertificate: issuer }] });
    expect(value(updates[1]!)).toEqual({ endpointUrl: WEBHOOK });
    expect(text.indexOf('az eventgrid namespace update')).toBeLessThan(text.indexOf('az resource update'));
    expect(spawnSync('bash', ['-n', script]).status).toBe(0);
  });

  it('the ARM template carries them at the preview API and round-trips', async () => {
    const { template } = await provision('arm', '--custom-jwt', '--webhook', WEBHOOK);
    const arm = JSON.parse(readFileSync(template, 'utf8'));
    const namespaceResource = arm.resources.find((resource: { type: string }) => resource.type === 'Microsoft.EventGrid/namespaces');
    expect(namespaceResource.apiVersion).toBe('2025-04-01-preview');
    expect(namespaceResource.properties.topicSpacesConfiguration.clientAuthentication.webhookAuthentication).toEqual({ endpointUrl: WEBHOOK });
    const expected = namespaceFromPki(pki(), { name: 'conf-ns', maximumClientSessionsPerAuthenticationName: 2, webhookAuthentication: { endpointUrl: WEBHOOK } });
    // The Entra ID stand-in is the reference's own (reference.entraId): no template carries it.
    expect(readNamespaceFile(template)).toEqual({ ...expected, reference: { ...expected.reference, entraId: undefined } });
  });

  it('refuses a webhook that is not https, with one line', async () => {
    const run = await runScript('provision/cli.ts', ['--namespace', 'conf-ns', '--resource-group', 'rg', '--identities', pki().dir, '--webhook', 'http://example.net/hook']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/^error: --webhook must use https:\/\//);
  });
});

describe('the ARM template', () => {
  it('declares Event Grid resources and round-trips into the same namespace', async () => {
    const { template } = await provision('arm');
    const arm = JSON.parse(readFileSync(template, 'utf8'));
    expect(arm.$schema).toMatch(/deploymentTemplate\.json#$/);
    expect(new Set(arm.resources.map((resource: { type: string }) => resource.type))).toEqual(
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
});
