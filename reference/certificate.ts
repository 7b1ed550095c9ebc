// What the broker knows of the certificate a TLS peer presented, read with Node's X509Certificate and
// judged against the namespace's registered CAs with an injectable clock. Chain trust is checked here
// rather than by the TLS stack, because the TLS server must also let self-signed ThumbprintMatch
// clients through.
import { X509Certificate } from 'node:crypto';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const MAX_CHAIN_DEPTH = 5;

export interface PresentedCertificate {
  commonName?: string;
  dns: string[];
  uri: string[];
  ip: string[];
  email: string[];
  /** SHA-256, uppercase hex without separators. */
  thumbprint: string;
  notBefore: Date;
  notAfter: Date;
  /** False when an extended key usage extension is present without clientAuth. */
  clientAuthAllowed: boolean;
  /** Whether the presented chain leads to one of the namespace's registered CAs. */
  chainsToRegisteredCa: boolean;
}

function altNames(certificate: X509Certificate) {
  const entries = (certificate.subjectAltName ?? '').split(', ').filter(Boolean);
  const of = (prefix: string) =>
    entries.filter((entry) => entry.startsWith(prefix)).map((entry) => entry.slice(prefix.length));
  return { dns: of('DNS:'), uri: of('URI:'), ip: of('IP Address:'), email: of('email:') };
}

function commonNameOf(certificate: X509Certificate): string | undefined {
  return certificate.subject
    .split('\n')
    .find((line) => line.startsWith('CN='))
    ?.slice(3);
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
 * @param chain the peer's certificates, leaf first, as TLS delivered them
 * @param registeredCas the namespace's CA certificates
 */
export function readPresentedCertificate(chain: X509Certificate[], registeredCas: X509Certificate[]): PresentedCertificate {
  const [leaf, ...rest] = chain;
  if (!leaf) throw new Error('readPresentedCertificate needs at least the leaf certificate');
  const usages = leaf.keyUsage;
  return {
    commonName: commonNameOf(leaf),
    ...altNames(leaf),
    thumbprint: leaf.fingerprint256.replaceAll(':', ''),
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
    clientAuthAllowed: usages === undefined || usages.includes(CLIENT_AUTH),
    chainsToRegisteredCa: chainsTo(leaf, rest, registeredCas),
  };
}
