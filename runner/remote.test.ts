// The suite and the probe against a reference broker started on its own, as a remote target would
// be: through a target file, with the same verdicts as the embedded run; and the probe's one-line
// answers for what it cannot use.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadPki, type LoadedPki, serverTlsFromPki } from '../certs/manifest.ts';
import { startReferenceBroker, type ReferenceBroker } from '../reference/broker.ts';
import { maximumSessionExpirySeconds, parseNamespace } from '../eventgrid/namespace.ts';
import { SUITE_CLIENT_GROUPS } from '../eventgrid/suite-contract.ts';
import { runScript, temporaryDir } from '../common/test-support.ts';
import { runConformance } from '../testkit/conformance-run.ts';
import { referenceNamespaces } from './embedded-brokers.ts';

let pki: LoadedPki;
let main: ReferenceBroker;
let alternativeNames: ReferenceBroker;
let stranger: ReferenceBroker;
let unbound: ReferenceBroker;
let subscribeOnly: ReferenceBroker;
let noObserver: ReferenceBroker;

beforeAll(async () => {
  pki = loadPki(inject('pkiDir'));
  const namespaces = referenceNamespaces(pki);
  const tls = serverTlsFromPki(pki);
  main = await startReferenceBroker({ namespace: namespaces.main, tls });
  alternativeNames = await startReferenceBroker({ namespace: namespaces.alternativeNames, tls });
  // A namespace that knows the CA but registers none of the identities.
  stranger = await startReferenceBroker({ namespace: parseNamespace({ ...namespaces.main, clients: [] }), tls });
  // The suite's namespace with its permission bindings removed, or only the Subscriber ones kept.
  unbound = await startReferenceBroker({ namespace: parseNamespace({ ...namespaces.main, permissionBindings: [] }), tls });
  const subscriberBindings = namespaces.main.permissionBindings.filter((binding) => binding.permission === 'Subscriber');
  subscribeOnly = await startReferenceBroker({ namespace: parseNamespace({ ...namespaces.main, permissionBindings: subscriberBindings }), tls });
  const clientBindings = namespaces.main.permissionBindings.filter((binding) => binding.clientGroupName === SUITE_CLIENT_GROUPS.clients);
  noObserver = await startReferenceBroker({ namespace: parseNamespace({ ...namespaces.main, permissionBindings: clientBindings }), tls });
});
afterAll(async () => {
  await Promise.all([main.stop(), alternativeNames.stop(), stranger.stop(), unbound.stop(), subscribeOnly.stop(), noObserver.stop()]);
});

const rootCa = () => join(pki.dir, pki.manifest.ca.root.certificate);

describe('a run through a target file', () => {
  // Over WebSockets, as a namespace's wss://…:443/mqtt endpoint is reached (the provisioned ARM
  // template's run, runner/provision-roundtrip.test.ts, goes over TLS).
  it('gives the same verdicts as the embedded run, over wss', async () => {
    const dir = temporaryDir();
    const targetFile = join(dir, 'target.json');
    writeFileSync(
      targetFile,
      JSON.stringify({ url: main.wsUrl, ca: rootCa(), identities: pki.dir, alternativeNamesUrl: alternativeNames.wsUrl, pace: false, includeSlow: true }),
    );
    const [remote, embedded] = await Promise.all([
      // The reference keeps sessions for seconds, outside Event Grid's range: so it is declared.
      runConformance(join(dir, 'remote'), ['--target-file', targetFile, '--max-session-expiry', String(maximumSessionExpirySeconds(referenceNamespaces(pki).main))]),
      runConformance(join(dir, 'embedded'), ['--identities', pki.dir, '--transport', 'wss']),
    ]);
    expect(remote.stdout).toMatch(/sessions {2}2 per authentication name/);
    const maximum = maximumSessionExpirySeconds(referenceNamespaces(pki).main);
    expect(remote.stdout).toContain(`maximum session expiry ${maximum} s`);
    // The webhook and Entra ID scenarios need the embedded run's own test webhook and Entra ID stand-in,
    // A7's and P5's its management API (a client changed while connected).
    const embeddedOnly = new Set(['webhook', 'OAUTH2-JWT']);
    const embeddedOnlyRules = new Set(['A7', 'P5']);
    const onlyEmbedded = (verdict: NonNullable<typeof remote.rules>[number]) => embeddedOnly.has(verdict.method) || embeddedOnlyRules.has(verdict.id);
    const verdicts = (run: typeof remote) =>
      run.rules?.filter((verdict) => !onlyEmbedded(verdict)).map((verdict) => `${verdict.id} ${verdict.method} ${verdict.version} ${verdict.transport} ${verdict.status}`);
    expect(verdicts(remote), remote.stderr).toEqual(verdicts(embedded));
    expect(remote.stdout).toMatch(/methods {3}X\.509 certificate: accepted; CUSTOM-JWT \(a token of the set's local issuer\): accepted/);
    // Skipped, saying why; a rule that cannot be observed under the method is n/a in both runs.
    expect(new Set(remote.rules?.filter((verdict) => onlyEmbedded(verdict) && !verdict.notApplicable).map((verdict) => verdict.status))).toEqual(new Set(['skipped']));
    expect(remote.exitCode).toBe(0);
  }, 300_000);

  it('names the field a bad target file gets wrong', async () => {
    const file = join(temporaryDir(), 'target.json');
    writeFileSync(file, JSON.stringify({ url: 'http://example.test', ca: 'ca.pem', identities: 'pki', skip: [{ rule: 'S99', reason: 'x' }] }));
    const run = await runConformance(temporaryDir(), ['--target-file', file]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/url: must be an mqtts:\/\/ or wss:\/\/ URL; skip\.0\.rule: is not a rule of the catalogue/);
  });
});

describe('npm run probe', () => {
  const probe = (url: string, ca = rootCa(), ...more: string[]) => runScript('runner/probe-cli.ts', [url, '--ca', ca, '--identities', pki.dir, ...more]);

  it('reports what it found and what a run will skip', async () => {
    const run = await probe(main.url);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/identity {2}alpha connected over MQTT 5/);
    expect(run.stdout).toMatch(/methods {3}X\.509 certificate: accepted; CUSTOM-JWT \(a token of the set's local issuer\): accepted/);
    expect(run.stdout).toMatch(/access {4}alpha may subscribe and publish under mmc\/alpha\//);
    expect(run.stdout).toMatch(/access {4}observer may publish to alpha's topics/);
    expect(run.stdout).toMatch(/sessions {2}2 per authentication name \(session 3 was refused: 0x97 Quota exceeded/);
    expect(run.stdout).toMatch(/a conformance run will skip:\n/);
    expect(run.stdout).toMatch(/^ {2}A5 \(MQTT 3\.1\.1\), A5 \(MQTT 5\)(, [SA]\d \(MQTT [\d.]+\))*: needs a second namespace/m);
  });

  it.each([
    ['an unreachable port', async () => probe('mqtts://127.0.0.1:1'), /^error: cannot reach 127\.0\.0\.1:1: connection refused/],
    ['a wrong CA', async () => probe(main.url, join(pki.dir, pki.manifest.ca.unregistered.certificate)), /^error: the server certificate of .* does not verify against --ca/],
    ['an unregistered identity', async () => probe(stranger.url), /^error: identity "alpha" \(authentication name "alpha"\) was refused over MQTT 5: 0x86 Bad User Name or Password .*is it registered/],
    [
      'a namespace without permission bindings',
      async () => probe(unbound.url),
      /^error: identity alpha may not subscribe to mmc\/alpha\/\S+\/inbox \(SUBACK 0x87 Not authorized\): grant its client group the Subscriber role on a topic space with the template "mmc\/\$\{client\.authenticationName\}\/#" \(see docs\/access-control\.md/,
    ],
    [
      'a namespace without permission bindings, over MQTT 3.1.1',
      async () => probe(unbound.url, rootCa(), '--mqtt', '3.1.1'),
      /^error: identity alpha may not subscribe to mmc\/alpha\/\S+\/inbox \(SUBACK 0x80 \(Failure\)\): grant its client group the Subscriber role/,
    ],
    ['a namespace where the observer may not publish', async () => probe(noObserver.url), /^error: identity observer may not publish to mmc\/alpha\/\S+ \(PUBACK 0x87 Not authorized\): grant its client group the Publisher role on a topic space with the template "mmc\/\+\/#"/],
    ['a namespace without Publisher bindings', async () => probe(subscribeOnly.url), /^error: identity alpha may not publish to mmc\/alpha\/\S+ \(PUBACK 0x87 Not authorized\): grant its client group the Publisher role/],
  ])('answers %s with one line and exit code 2', async (_case, run, message) => {
    const result = await run();
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(message);
  });
});
