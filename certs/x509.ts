// Building and signing X.509 certificates: node-forge assembles and signs them; Node's native crypto
// makes the RSA keys and does the private-key operation of each signature (forge's pure-JS key
// generation is about ten times slower, its RSA signing about twenty times).
import {
  constants,
  createPrivateKey,
  generateKeyPair as generateNodeKeyPair,
  privateEncrypt,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';

const generateRsa = promisify(generateNodeKeyPair);

export interface KeyPair {
  privateKeyPem: string;
  privateKey: KeyObject;
  publicKey: forge.pki.rsa.PublicKey;
}

export async function newKeyPair(): Promise<KeyPair> {
  const { publicKey, privateKey: privateKeyPem } = await generateRsa('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    privateKeyPem,
    privateKey: createPrivateKey(privateKeyPem),
    publicKey: forge.pki.publicKeyFromPem(publicKey) as forge.pki.rsa.PublicKey,
  };
}

// DER prefix of a PKCS#1 v1.5 DigestInfo for SHA-256 (RFC 8017, section 9.2, note 1).
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/** The signing half of a forge private key, done by Node: RSASSA-PKCS1-v1_5 over forge's digest. */
function nodeSigner(privateKey: KeyObject): { sign(md: forge.md.MessageDigest): string } {
  return {
    sign(md) {
      const digestInfo = Buffer.concat([SHA256_DIGEST_INFO, Buffer.from(md.digest().getBytes(), 'binary')]);
      return privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, digestInfo).toString('binary');
    },
  };
}

export interface SubjectAltNames {
  dns?: string[];
  uri?: string[];
  ip?: string[];
  email?: string[];
}

export type ExtendedKeyUsage = 'serverAuth' | 'clientAuth';

export interface Issuer {
  certificate: forge.pki.Certificate;
  keys: KeyPair;
}

export interface CertificateRequest {
  commonName: string;
  /** Further CN attributes after `commonName`, in this order (A3's name in a second CN). */
  moreCommonNames?: readonly string[];
  keys: KeyPair;
  /** Omitted: the certificate is self-signed. */
  issuer?: Issuer;
  notBefore: Date;
  notAfter: Date;
  /** A CA may sign certificates; pathLength limits the CAs below it. */
  ca?: { pathLength?: number };
  altNames?: SubjectAltNames;
  extendedKeyUsage?: ExtendedKeyUsage[];
}

// forge's altNames type codes (RFC 5280 GeneralName tags).
const ALT_NAME_TYPE = { email: 1, dns: 2, uri: 6, ip: 7 } as const;

function altNameEntries(names: SubjectAltNames): object[] {
  return [
    ...(names.dns ?? []).map((value) => ({ type: ALT_NAME_TYPE.dns, value })),
    ...(names.uri ?? []).map((value) => ({ type: ALT_NAME_TYPE.uri, value })),
    ...(names.ip ?? []).map((ip) => ({ type: ALT_NAME_TYPE.ip, ip })),
    ...(names.email ?? []).map((value) => ({ type: ALT_NAME_TYPE.email, value })),
  ];
}

let serialCounter = 0;

/** A positive, unique serial number: random high bytes plus a counter, as hex. */
function nextSerial(): string {
  serialCounter += 1;
  const random = forge.util.bytesToHex(forge.random.getBytesSync(12));
  return `7${random.slice(1)}${serialCounter.toString(16).padStart(6, '0')}`;
}

export function issueCertificate(request: CertificateRequest): forge.pki.Certificate {
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = request.keys.publicKey;
  certificate.serialNumber = nextSerial();
  certificate.validity.notBefore = request.notBefore;
  certificate.validity.notAfter = request.notAfter;
  const subject = [request.commonName, ...(request.moreCommonNames ?? [])].map(commonNameAttribute);
  certificate.setSubject(subject);
  certificate.setIssuer(request.issuer ? request.issuer.certificate.subject.attributes : subject);

  const extensions: object[] = [
    request.ca
      ? { name: 'basicConstraints', cA: true, critical: true, ...pathLength(request.ca.pathLength) }
      : { name: 'basicConstraints', cA: false },
    request.ca
      ? { name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true, digitalSignature: true }
      : { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true },
    { name: 'subjectKeyIdentifier' },
  ];
  if (request.issuer) {
    extensions.push({ name: 'authorityKeyIdentifier', keyIdentifier: authorityKeyId(request.issuer) });
  }
  if (request.extendedKeyUsage?.length) {
    extensions.push({
      name: 'extKeyUsage',
      ...Object.fromEntries(request.extendedKeyUsage.map((usage) => [usage, true])),
    });
  }
  const altNames = altNameEntries(request.altNames ?? {});
  if (altNames.length) extensions.push({ name: 'subjectAltName', altNames });
  certificate.setExtensions(extensions);

  const signingKey = request.issuer ? request.issuer.keys.privateKey : request.keys.privateKey;
  certificate.sign(nodeSigner(signingKey) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return certificate;
}

/** A subject CN attribute; a name beyond ASCII (A3's look-alike and decomposed names) goes in a UTF8String, which forge encodes. */
function commonNameAttribute(value: string): { name: string; value: string; valueTagClass?: number } {
  return /^[\x00-\x7f]*$/.test(value) ? { name: 'commonName', value } : { name: 'commonName', value, valueTagClass: forge.asn1.Type.UTF8 as number };
}

function pathLength(limit: number | undefined): object {
  return limit === undefined ? {} : { pathLenConstraint: limit };
}

function authorityKeyId(issuer: Issuer): string {
  return issuer.certificate.generateSubjectKeyIdentifier().getBytes();
}

export function certificateToPem(certificate: forge.pki.Certificate): string {
  return forge.pki.certificateToPem(certificate);
}

/** SHA-256 thumbprint as uppercase hex without separators, the form Event Grid's ThumbprintMatch takes. */
export function thumbprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256.replaceAll(':', '');
}

/** An issuer read back from the PEM files of a set, to sign more certificates with it. */
export function issuerFromPem(certificatePem: string, privateKeyPem: string): Issuer {
  const certificate = forge.pki.certificateFromPem(certificatePem);
  return {
    certificate,
    keys: { privateKeyPem, privateKey: createPrivateKey(privateKeyPem), publicKey: certificate.publicKey as forge.pki.rsa.PublicKey },
  };
}
