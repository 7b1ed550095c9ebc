// The namespace that registers a PKI set, and the PKI's CA in the forms Event Grid takes.
import { X509Certificate } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { loadPki } from './manifest.ts';
import { parseNamespace } from '../eventgrid/namespace.ts';
import { namespaceFromPki } from './namespace.ts';

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

describe('CA certificates', () => {
  it('accept the one-line PEM Event Grid takes, and store it as Node reads it', () => {
    const pki = loadPki(inject('pkiDir'));
    const oneLine = pki.rootCaPem.replace(/\r?\n/g, '');
    const [ca] = parseNamespace({ caCertificates: [{ name: 'ca', encodedCertificate: oneLine }] }).caCertificates;
    expect(new X509Certificate(ca!.encodedCertificate).fingerprint256).toBe(new X509Certificate(pki.rootCaPem).fingerprint256);
  });
});
