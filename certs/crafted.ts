// Certificates crafted for tests and the stress harness, including the ones a PKI set never holds: EC
// keys, RSA-1024 keys, SHA-1 signatures, CA certificates used as client certificates, sub-CAs past an
// expiry or a path length. node-forge lays out the certificate (with a stand-in RSA key, as forge knows
// no EC keys); the real key's SubjectPublicKeyInfo is put in its place and Node's crypto signs.
import { createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

export type CraftedKeyType = 'rsa-2048' | 'rsa-1024' | 'ec-p256';

export interface CraftedKey {
  type: CraftedKeyType;
  privateKey: KeyObject;
  publicKey: KeyObject;
  privateKeyPem: string;
}

export interface CraftedCertificate {
  commonName: string;
  key: CraftedKey;
  der: Buffer;
  pem: string;
}

export interface CraftRequest {
  commonName: string;
  key: CraftedKey;
  /** Omitted: self-signed. */
  issuer?: CraftedCertificate;
  /** Default SHA-256. */
  hash?: 'sha256' | 'sha1';
  /** basicConstraints CA:TRUE, with an optional pathLenConstraint. */
  ca?: { pathLength?: number };
  notBefore?: Date;
  notAfter?: Date;
  /** Default clientAuth for a leaf, none for a CA. */
  extendedKeyUsage?: ('clientAuth' | 'serverAuth')[];
}

const DAY = 86_400_000;
const stand_in = forge.pki.rsa.setPublicKey(new forge.jsbn.BigInteger('00c3', 16), new forge.jsbn.BigInteger('10001', 16));

export function craftKey(type: CraftedKeyType): CraftedKey {
  const { privateKey, publicKey } =
    type === 'ec-p256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('rsa', { modulusLength: type === 'rsa-1024' ? 1024 : 2048 });
  return { type, privateKey, publicKey, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

const SIGNATURE_OID: Record<string, Record<'sha256' | 'sha1', string>> = {
  rsa: { sha256: '1.2.840.113549.1.1.11', sha1: '1.2.840.113549.1.1.5' },
  ec: { sha256: '1.2.840.10045.4.3.2', sha1: '1.2.840.10045.4.1' },
};

let serial = 0;

export function craftCertificate(request: CraftRequest): CraftedCertificate {
  const now = Date.now();
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = stand_in;
  serial += 1;
  certificate.serialNumber = `7${forge.util.bytesToHex(forge.random.getBytesSync(8)).slice(1)}${serial.toString(16).padStart(6, '0')}`;
  certificate.validity.notBefore = request.notBefore ?? new Date(now - DAY);
  certificate.validity.notAfter = request.notAfter ?? new Date(now + 30 * DAY);
  const subject = [{ name: 'commonName', value: request.commonName }];
  certificate.setSubject(subject);
  certificate.setIssuer(request.issuer ? [{ name: 'commonName', value: request.issuer.commonName }] : subject);
  const usages = request.extendedKeyUsage ?? (request.ca ? [] : ['clientAuth']);
  certificate.setExtensions([
    request.ca
      ? { name: 'basicConstraints', cA: true, critical: true, ...(request.ca.pathLength === undefined ? {} : { pathLenConstraint: request.ca.pathLength }) }
      : { name: 'basicConstraints', cA: false },
    request.ca
      ? { name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true, digitalSignature: true }
      : { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: request.key.type !== 'ec-p256' },
    ...(usages.length ? [{ name: 'extKeyUsage', ...Object.fromEntries(usages.map((usage) => [usage, true])) }] : []),
  ]);

  const signer = request.issuer?.key ?? request.key;
  const hash = request.hash ?? 'sha256';
  const algorithm = SIGNATURE_OID[signer.type === 'ec-p256' ? 'ec' : 'rsa']![hash];
  (certificate.siginfo as { algorithmOid?: string }).algorithmOid = algorithm;
  const tbs = (forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate(certificate);
  const fields = tbs.value as forge.asn1.Asn1[];
  const spki = request.key.publicKey.export({ type: 'spki', format: 'der' });
  // TBSCertificate: version, serial, signature, issuer, validity, subject, subjectPublicKeyInfo, extensions.
  fields[6] = forge.asn1.fromDer(forge.util.createBuffer(spki.toString('binary')));
  const algorithmIdentifier = () =>
    forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.SEQUENCE, true, [
      forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.OID, false, forge.asn1.oidToDer(algorithm).getBytes()),
      // RSA signature algorithms carry a NULL parameter; ECDSA ones carry none.
      ...(signer.type === 'ec-p256' ? [] : [forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.NULL, false, '')]),
    ]);
  fields[2] = algorithmIdentifier();
  const tbsDer = Buffer.from(forge.asn1.toDer(tbs).getBytes(), 'binary');
  const signature = sign(hash, tbsDer, signer.privateKey);
  const whole = forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.SEQUENCE, true, [
    tbs,
    algorithmIdentifier(),
    forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.BITSTRING, false, `\u0000${signature.toString('binary')}`),
  ]);
  const der = Buffer.from(forge.asn1.toDer(whole).getBytes(), 'binary');
  const pem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
  return { commonName: request.commonName, key: request.key, der, pem };
}

/** The public key a crafted certificate carries, for a quick check that it was put in place. */
export function publicKeyOf(certificate: CraftedCertificate): KeyObject {
  return createPublicKey(certificate.pem);
}

export interface CertificateCase {
  name: string;
  /** What a namespace that registers `registeredCas` must do with it. */
  expect: 'accepted' | 'refused';
  /** PEM to present: the leaf, then any sub-CA. */
  chainPem: string;
  keyPem: string;
}

export interface CertificateCaseSet {
  /** PEM of the CAs the namespace registers. */
  registeredCas: string[];
  /** Every leaf carries this Subject CN (a SubjectMatchesAuthenticationName client of that name). */
  commonName: string;
  cases: CertificateCase[];
}

/**
 * The bad-certificate set and, beside each bad one, an otherwise identical good one: two registered
 * CAs (one with no path length limit, one with pathLenConstraint 0) and leaves under them.
 */
export function certificateCases(commonName = 'device-1'): CertificateCaseSet {
  const now = Date.now();
  const ca = craftCertificate({ commonName: 'crafted open CA', key: craftKey('rsa-2048'), ca: {} });
  const strictCa = craftCertificate({ commonName: 'crafted pathlen-0 CA', key: craftKey('rsa-2048'), ca: { pathLength: 0 } });
  const subCa = (issuer: CraftedCertificate, name: string, notAfter?: Date) =>
    craftCertificate({ commonName: name, key: craftKey('rsa-2048'), issuer, ca: {}, notBefore: notAfter ? new Date(notAfter.getTime() - 30 * DAY) : undefined, notAfter });
  const leaf = (issuer: CraftedCertificate, options: Partial<CraftRequest> = {}, keyType: CraftedKeyType = 'rsa-2048') =>
    craftCertificate({ commonName, key: craftKey(keyType), issuer, ...options });
  const one = (name: string, expect: CertificateCase['expect'], certificate: CraftedCertificate, ...chain: CraftedCertificate[]): CertificateCase => ({
    name,
    expect,
    chainPem: [certificate, ...chain].map((c) => c.pem).join(''),
    keyPem: certificate.key.privateKeyPem,
  });
  const validSub = subCa(ca, 'crafted sub-CA');
  const expiredSub = subCa(ca, 'crafted expired sub-CA', new Date(now - DAY));
  const subUnderStrict = subCa(strictCa, 'crafted sub-CA under pathlen 0');
  return {
    registeredCas: [ca.pem, strictCa.pem],
    commonName,
    cases: [
      one('RSA-2048 SHA-256 leaf under the registered CA', 'accepted', leaf(ca)),
      one('EC P-256 leaf under the registered CA', 'accepted', leaf(ca, {}, 'ec-p256')),
      one('leaf under a valid sub-CA', 'accepted', leaf(validSub), validSub),
      one('leaf under an expired sub-CA', 'refused', leaf(expiredSub), expiredSub),
      one("leaf under a sub-CA that breaks the registered CA's path length 0", 'refused', leaf(subUnderStrict), subUnderStrict),
      one('leaf directly under the path length 0 CA', 'accepted', leaf(strictCa)),
      one('CA certificate (CA:TRUE) as the client certificate', 'refused', leaf(ca, { ca: {}, extendedKeyUsage: ['clientAuth'] })),
      one('leaf signed with SHA-1', 'refused', leaf(ca, { hash: 'sha1' })),
      one('leaf with an RSA-1024 key', 'refused', leaf(ca, {}, 'rsa-1024')),
    ],
  };
}
