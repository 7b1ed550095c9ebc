// What the broker knows of the certificate a TLS peer presented, read with Node's X509Certificate.
// Chain trust is OpenSSL's path validation against the namespace's registered CAs (the TLS server
// requests a certificate without insisting on one, so that self-signed ThumbprintMatch clients still
// reach CONNECT, and hands its verdict here); the leaf's own validity is left to the rules and their
// injectable clock; a leaf no CA-issued client certificate may be (a CA certificate, a weak key or
// signature) is marked unacceptable whatever its scheme.
import { X509Certificate } from 'node:crypto';
import type { PresentedCertificate } from '../../policy/presented.ts';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const MAX_CHAIN_DEPTH = 5;

/** What the TLS stack's path validation said: `socket.authorized` and `socket.authorizationError`. */
export interface TlsVerdict {
  authorized: boolean;
  error?: string;
}

/** OpenSSL codes that may be about the leaf's own validity period, which the rules judge by their clock. */
const VALIDITY_ERRORS = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

// Signature algorithms no client certificate may use (DER of the OID's value).
const WEAK_SIGNATURES: Record<string, string> = {
  '2a864886f70d010105': 'SHA-1 with RSA',
  '2a864886f70d010104': 'MD5 with RSA',
  '2a864886f70d010102': 'MD2 with RSA',
  '2a8648ce3d0401': 'ECDSA with SHA-1',
  '2a8648ce380403': 'DSA with SHA-1',
};
const STRONG_CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1']);
const MINIMUM_RSA_BITS = 2048;

/** The signature algorithm OID of a DER certificate, as hex: Certificate ::= SEQUENCE { tbs, algorithm, signature }. */
function signatureAlgorithmOid(der: Buffer): string | undefined {
  let at = 0;
  const header = (): { length: number } | undefined => {
    at += 1; // tag
    const first = der[at++];
    if (first === undefined) return undefined;
    if (first < 0x80) return { length: first };
    let length = 0;
    for (let count = first & 0x7f; count > 0; count -= 1) length = length * 256 + (der[at++] ?? 0);
    return { length };
  };
  if (!header()) return undefined; // Certificate
  const tbs = header(); // tbsCertificate
  if (!tbs) return undefined;
  at += tbs.length;
  if (!header()) return undefined; // AlgorithmIdentifier
  if (der[at] !== 0x06) return undefined;
  const oid = header();
  return oid ? der.subarray(at, at + oid.length).toString('hex') : undefined;
}

function unacceptable(leaf: X509Certificate): string | undefined {
  if (leaf.ca) return 'a CA certificate (basic constraints CA:TRUE) cannot be a client certificate';
  const weakSignature = WEAK_SIGNATURES[signatureAlgorithmOid(leaf.raw) ?? ''];
  if (weakSignature) return `the client certificate is signed with ${weakSignature}, which is too weak`;
  const { asymmetricKeyType: type, asymmetricKeyDetails: details } = leaf.publicKey;
  if ((type === 'rsa' || type === 'rsa-pss') && (details?.modulusLength ?? 0) < MINIMUM_RSA_BITS) {
    return `the client certificate's RSA key has ${details?.modulusLength} bits (${MINIMUM_RSA_BITS} at least)`;
  }
  if (type === 'ec' && !STRONG_CURVES.has(details?.namedCurve ?? '')) return `the client certificate's EC curve ${details?.namedCurve} is not accepted`;
  if (type === 'dsa') return 'DSA client certificates are not accepted';
  return undefined;
}

function altNames(certificate: X509Certificate) {
  const entries = (certificate.subjectAltName ?? '').split(', ').filter(Boolean);
  const of = (prefix: string) =>
    entries.filter((entry) => entry.startsWith(prefix)).map((entry) => entry.slice(prefix.length));
  return { dns: of('DNS:'), uri: of('URI:'), ip: of('IP Address:'), email: of('email:') };
}

/** Every CN attribute of the subject, in order: Node gives one attribute a line. */
function commonNamesOf(certificate: X509Certificate): string[] {
  return certificate.subject
    .split('\n')
    .filter((line) => line.startsWith('CN='))
    .map((line) => line.slice(3));
}

function issued(child: X509Certificate, issuer: X509Certificate): boolean {
  return child.issuer === issuer.subject && child.verify(issuer.publicKey);
}

/** Walks from the leaf through the certificates the peer sent until a registered CA signed one. */
function chainsTo(leaf: X509Certificate, presented: X509Certificate[], registered: X509Certificate[]): boolean {
  let current = leaf;
  for (let depth = 0; depth < MAX_CHAIN_DEPTH; depth += 1) {
    if (registered.some((ca) => issued(current, ca))) return true;
    const next = presented.find((candidate) => candidate !== current && candidate.ca && issued(current, candidate));
    if (!next) return false;
    current = next;
  }
  return false;
}

/**
 * Whether the chain leads to a registered CA, by the TLS stack's verdict. A validity error is the
 * leaf's own (judged by the rules' clock, not here) only when every CA the peer sent is valid now; the
 * rest of the chain is then checked by signatures and names.
 * @param rest the certificates the peer sent after its leaf, as TLS delivered them
 * @param verdict the TLS stack's path validation against the registered CAs
 * @param now the rules' clock, for telling a lapsed CA from the leaf's own validity
 */
export function chainVerdict(
  leaf: X509Certificate,
  rest: X509Certificate[],
  registeredCas: X509Certificate[],
  verdict: TlsVerdict,
  now: Date,
): Pick<PresentedCertificate, 'chainsToRegisteredCa' | 'chainProblem'> {
  if (verdict.authorized) return { chainsToRegisteredCa: true };
  const error = verdict.error ?? 'UNSPECIFIED';
  const validNow = (certificate: X509Certificate) => new Date(certificate.validFrom) <= now && now <= new Date(certificate.validTo);
  if (VALIDITY_ERRORS.has(error)) {
    const lapsed = rest.find((certificate) => certificate.ca && !validNow(certificate));
    if (lapsed) return { chainsToRegisteredCa: false, chainProblem: `${error}: CA certificate "${commonNamesOf(lapsed)[0] ?? lapsed.subject}" is not valid now` };
    if (chainsTo(leaf, rest, registeredCas)) return { chainsToRegisteredCa: true };
  }
  return { chainsToRegisteredCa: false, chainProblem: error };
}

/** What a certificate says of itself: the same for every connection that presents it. */
export type CertificateFacts = Omit<PresentedCertificate, 'chainsToRegisteredCa' | 'chainProblem'>;

export function certificateFacts(leaf: X509Certificate): CertificateFacts {
  const usages = leaf.keyUsage;
  const problem = unacceptable(leaf);
  return {
    commonNames: commonNamesOf(leaf),
    ...altNames(leaf),
    thumbprint: leaf.fingerprint256.replaceAll(':', ''),
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
    clientAuthAllowed: usages === undefined || usages.includes(CLIENT_AUTH),
    ...(problem ? { unacceptable: problem } : {}),
  };
}
