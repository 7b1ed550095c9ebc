// Namespace configuration: defaults, the PKI-derived namespace, and errors that name field and reason.
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { loadPki } from '../certs/manifest.ts';
import { temporaryDir } from '../certs/test-support.ts';
import { maximumSessionExpirySeconds, namespaceFromPki, NamespaceConfigError, parseNamespace } from './namespace.ts';
import { readNamespaceFile } from './namespace-file.ts';

describe('parseNamespace', () => {
  it("fills in Event Grid's defaults", () => {
    const namespace = parseNamespace({ clients: [{ name: 'a', authenticationName: 'a' }] });
    expect(namespace.topicSpacesConfiguration).toEqual({
      maximumSessionExpiryInHours: 1,
      maximumClientSessionsPerAuthenticationName: 1,
      clientAuthentication: { alternativeAuthenticationNameSources: [] },
    });
    expect(namespace.clients[0]).toMatchObject({ state: 'Enabled', clientCertificateAuthentication: { validationScheme: 'SubjectMatchesAuthenticationName' } });
    expect(maximumSessionExpirySeconds(namespace)).toBe(3600);
  });

  it.each([
    [{ topicSpacesConfiguration: { maximumClientSessionsPerAuthenticationName: 101 } }, /maximumClientSessionsPerAuthenticationName: Too big/],
    [{ topicSpacesConfiguration: { maximumSessionExpiryInHours: 0 } }, /maximumSessionExpiryInHours: Too small/],
    [{ clients: [{ name: 'a', authenticationName: 'x'.repeat(129) }] }, /clients\.0\.authenticationName: Too big/],
    [{ clients: [{ name: 'a', authenticationName: 'a', clientCertificateAuthentication: { validationScheme: 'Telepathy' } }] }, /clients\.0\.clientCertificateAuthentication\.validationScheme: Invalid option/],
    [{ clients: [{ name: 'a', authenticationName: 'a', clientCertificateAuthentication: { allowedThumbprints: ['abc'] } }] }, /allowedThumbprints\.0: must be a SHA-256 thumbprint/],
    [{ caCertificates: [{ name: 'ca', encodedCertificate: 'hello' }] }, /caCertificates\.0\.encodedCertificate: must be a PEM certificate/],
    [{ clients: [{ name: 'a', authenticationName: 'Dev' }, { name: 'b', authenticationName: 'dev' }] }, /clients\.1\.authenticationName: "dev" is already/],
    [{ topicSpacesConfiguration: { maximumSessionsPerName: 2 } }, /topicSpacesConfiguration: Unrecognized key/],
  ])('rejects %j naming the field', (input, message) => {
    expect(() => parseNamespace(input)).toThrow(NamespaceConfigError);
    expect(() => parseNamespace(input)).toThrow(message);
  });
});

describe('CA certificates', () => {
  it('accept the one-line PEM Event Grid takes, and store it as Node reads it', () => {
    const pki = loadPki(inject('pkiDir'));
    const oneLine = pki.rootCaPem.replace(/\r?\n/g, '');
    const [ca] = parseNamespace({ caCertificates: [{ name: 'ca', encodedCertificate: oneLine }] }).caCertificates;
    expect(new X509Certificate(ca!.encodedCertificate).fingerprint256).toBe(new X509Certificate(pki.rootCaPem).fingerprint256);
  });
});

describe('readNamespaceFile', () => {
  it('says which file is missing or not JSON', () => {
    const dir = temporaryDir();
    expect(() => readNamespaceFile(join(dir, 'none.json'))).toThrow(/cannot read namespace file .*none\.json: ENOENT/);
    writeFileSync(join(dir, 'bad.json'), '{');
    expect(() => readNamespaceFile(join(dir, 'bad.json'))).toThrow(/bad\.json is not valid JSON/);
  });
});

describe('namespaceFromPki', () => {
  it('registers the CA that signs the clients and every identity but the case variants, negatives included', () => {
    const pki = loadPki(inject('pkiDir'));
    const namespace = namespaceFromPki(pki);
    const signer = new X509Certificate(pki.read(pki.manifest.ca.intermediate.certificate));
    expect(namespace.caCertificates.map((ca) => new X509Certificate(ca.encodedCertificate).fingerprint256)).toEqual([signer.fingerprint256]);
    const registered = pki.manifest.identities.filter((identity) => identity.role !== 'case-variant');
    expect(namespace.clients.map((client) => client.authenticationName)).toEqual(registered.map((identity) => identity.authenticationName));
    expect(namespace.clients.find((client) => client.name === 'thumb-client')?.clientCertificateAuthentication.allowedThumbprints).toEqual([
      pki.identities.get('thumb-client')!.entry.thumbprint,
    ]);
  });
});
