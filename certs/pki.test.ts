// The generated PKI, checked with Node's own X509Certificate and TLS stack rather than with forge,
// so that a certificate forge got wrong cannot pass.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CertificateDefect } from './identities.ts';
import type { IdentityEntry, PkiManifest } from './manifest.ts';
import { ensurePki } from './pki.ts';
import { temporaryDir } from '../common/test-support.ts';
import { mutualTlsHandshake } from './test-support.ts';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

let dir: string;
let manifest: PkiManifest;
const certificate = (file: string) => new X509Certificate(readFileSync(join(dir, file)));

beforeAll(async () => {
  dir = join(temporaryDir(), 'pki');
  ({ manifest } = await ensurePki({ outDir: dir }));
});

/** The SAN entries Node reads from a certificate, as manifest fields. */
function altNames(cert: X509Certificate) {
  const entries = (cert.subjectAltName ?? '').split(', ').filter(Boolean);
  const of = (prefix: string) => entries.filter((e) => e.startsWith(prefix)).map((e) => e.slice(prefix.length));
  return { dns: of('DNS:'), uri: of('URI:'), ip: of('IP Address:'), email: of('email:') };
}

/** Every way in which an identity's certificate departs from a good one, judged by Node alone. */
function observedDefects(entry: IdentityEntry, now = new Date()): CertificateDefect[] {
  const cert = certificate(entry.certificate);
  const intermediate = certificate(manifest.ca.intermediate.certificate);
  const defects: CertificateDefect[] = [];
  if (Date.parse(cert.validTo) < now.getTime()) defects.push('expired');
  if (Date.parse(cert.validFrom) > now.getTime()) defects.push('not-yet-valid');
  if (!cert.keyUsage?.includes(CLIENT_AUTH)) defects.push('no-client-auth');
  if (entry.validationScheme === 'ThumbprintMatch') {
    if (cert.subject !== cert.issuer || !cert.verify(cert.publicKey)) throw new Error(`${entry.id} is not self-signed`);
    if (!entry.allowedThumbprints.includes(entry.thumbprint)) defects.push('thumbprint-not-registered');
  } else {
    if (!(cert.checkIssued(intermediate) && cert.verify(intermediate.publicKey))) defects.push('unregistered-ca');
    // Authentication names compare without regard to case (A4).
    const commonNames = cert.subject.split('\n').filter((line) => line.startsWith('CN=')).map((line) => line.slice(3).toLowerCase());
    const name = entry.authenticationName.toLowerCase();
    if (entry.validationScheme === 'SubjectMatchesAuthenticationName' && cert.subject.toLowerCase() !== `cn=${name}`) {
      defects.push(commonNames.length === 2 && commonNames[0] !== name && commonNames[1] === name ? 'name-in-second-cn' : 'subject-mismatch');
    }
    const sanPrefix = { DnsMatchesAuthenticationName: 'DNS:', UriMatchesAuthenticationName: 'URI:', IpMatchesAuthenticationName: 'IP Address:', EmailMatchesAuthenticationName: 'email:' }[entry.validationScheme as string];
    const sans = (cert.subjectAltName ?? '').split(', ');
    if (sanPrefix && !sans.includes(`${sanPrefix}${entry.authenticationName}`)) defects.push('name-not-in-scheme-field');
  }
  return defects;
}

describe('the certificate authorities', () => {
  it('chain intermediate to root, and the unregistered root stands alone', () => {
    const root = certificate(manifest.ca.root.certificate);
    const intermediate = certificate(manifest.ca.intermediate.certificate);
    const unregistered = certificate(manifest.ca.unregistered.certificate);
    expect(root.ca && intermediate.ca && unregistered.ca).toBe(true);
    expect(root.verify(root.publicKey)).toBe(true);
    expect(intermediate.checkIssued(root) && intermediate.verify(root.publicKey)).toBe(true);
    expect(unregistered.verify(root.publicKey)).toBe(false);
  });

  it('give the server certificate the names and usage of a loopback TLS server', () => {
    const server = certificate(manifest.server.certificate);
    expect(server.verify(certificate(manifest.ca.intermediate.certificate).publicKey)).toBe(true);
    expect(altNames(server).dns).toEqual(['localhost']);
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.checkIP('::1')).toBe('::1');
    expect(server.keyUsage).toContain(SERVER_AUTH);
  });
});

describe('the good client identities', () => {
  const good = () => manifest.identities.filter((entry) => entry.role !== 'negative');

  it('cover every validation scheme, three subject identities, a case variant and a disabled one', () => {
    const schemes = new Set(good().map((entry) => entry.validationScheme));
    expect(schemes.size).toBe(6);
    const subjectClients = good().filter(
      (e) => e.role === 'client' && e.validationScheme === 'SubjectMatchesAuthenticationName',
    );
    expect(subjectClients.length).toBeGreaterThanOrEqual(3);
    const variant = good().find((e) => e.role === 'case-variant')!;
    const original = manifest.identities.find((e) => e.id === variant.variantOf)!;
    expect(variant.fields.commonName).not.toBe(original.fields.commonName);
    expect(variant.fields.commonName.toLowerCase()).toBe(original.authenticationName.toLowerCase());
    expect(good().find((e) => e.role === 'disabled')?.state).toBe('Disabled');
  });

  it('have certificates with no defect, their thumbprint as Node computes it', () => {
    for (const entry of good()) {
      expect({ id: entry.id, defects: observedDefects(entry) }).toEqual({ id: entry.id, defects: [] });
      expect(entry.thumbprint).toBe(certificate(entry.certificate).fingerprint256.replaceAll(':', ''));
    }
  });

  it('carry the certificate fields their manifest entry says, matching their validation scheme', () => {
    const fieldOf = {
      SubjectMatchesAuthenticationName: (e: IdentityEntry) => [e.fields.commonName],
      DnsMatchesAuthenticationName: (e: IdentityEntry) => e.fields.dns,
      UriMatchesAuthenticationName: (e: IdentityEntry) => e.fields.uri,
      IpMatchesAuthenticationName: (e: IdentityEntry) => e.fields.ip,
      EmailMatchesAuthenticationName: (e: IdentityEntry) => e.fields.email,
      ThumbprintMatch: () => [],
    };
    for (const entry of good()) {
      const cert = certificate(entry.certificate);
      const { dns, uri, ip, email } = entry.fields;
      expect(altNames(cert)).toEqual({ dns, uri, ip, email });
      expect(cert.subject).toBe(entry.fields.subject);
      const names = fieldOf[entry.validationScheme](entry).map((name) => name.toLowerCase());
      if (entry.validationScheme !== 'ThumbprintMatch') expect(names).toContain(entry.authenticationName.toLowerCase());
    }
  });

  it('chain through the intermediate to the root', () => {
    const root = certificate(manifest.ca.root.certificate);
    for (const entry of good().filter((e) => e.chain)) {
      const [leaf, issuer] = readFileSync(join(dir, entry.chain!), 'utf8')
        .split(/(?<=-----END CERTIFICATE-----\r?\n)/)
        .map((pem) => new X509Certificate(pem));
      expect(leaf!.fingerprint256).toBe(certificate(entry.certificate).fingerprint256);
      expect(issuer!.verify(root.publicKey) && leaf!.verify(issuer!.publicKey)).toBe(true);
    }
  });
});

describe('the negative certificates', () => {
  it('are each wrong in exactly the one way they claim', () => {
    const negatives = manifest.identities.filter((entry) => entry.role === 'negative');
    expect(new Set(negatives.map((e) => e.defect?.kind)).size).toBe(8);
    for (const entry of negatives) {
      expect({ id: entry.id, defects: observedDefects(entry) }).toEqual({ id: entry.id, defects: [entry.defect!.kind] });
    }
  });
});

describe('a mutual-TLS handshake on 127.0.0.1 trusting the root', () => {
  it('succeeds with a good client certificate', async () => {
    expect(await mutualTlsHandshake(dir, manifest, 'alpha')).toBe('authorized');
  });

  it.each([
    ['neg-unregistered-ca', /^(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/],
    ['neg-expired', /^CERT_HAS_EXPIRED$/],
    [undefined, /^ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE$/],
  ])('fails for %s', async (identity, reason) => {
    expect(await mutualTlsHandshake(dir, manifest, identity)).toMatch(reason);
  });
});
