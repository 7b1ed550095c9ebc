// The certificate a TLS client presented, as the CONNECT decision needs it.
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { certificateFacts, chainVerdict, type CertificateFacts } from './certificate-facts.ts';
import type { PresentedCertificate } from '../../policy/presented.ts';

/** The certificates a TLS client presented, leaf first, as Node's X509Certificate objects. */
export function peerCertificateChain(socket: TLSSocket): X509Certificate[] {
  const chain: X509Certificate[] = [];
  const seen = new Set<string>();
  let current: X509Certificate | undefined = socket.getPeerX509Certificate();
  // A self-signed certificate is its own issuer: stop at the first one seen again.
  while (current && !seen.has(current.fingerprint256)) {
    seen.add(current.fingerprint256);
    chain.push(current);
    current = current.issuerCertificate;
  }
  return chain;
}

/** Node types authorizationError as an Error, but gives OpenSSL's code as a string. */
function errorCode(error: Error | string | undefined): string | undefined {
  return error === undefined || error === null ? undefined : typeof error === 'string' ? error : ((error as NodeJS.ErrnoException).code ?? error.message);
}

/** How many distinct certificates a reader remembers what they say. */
const REMEMBERED_CERTIFICATES = 1024;

/**
 * Reads the certificate of each connection, and what a certificate says of itself once per distinct
 * certificate: copying the peer's chain into X509Certificate objects and reading its key took about
 * 0.4 ms of every CONNECT, more than the rest of the decision. A connection whose chain TLS accepted
 * needs nothing more; only one it refused has its chain read, to say why.
 */
export class PeerCertificateReader {
  /** By SHA-256 fingerprint, least recently presented first. */
  private readonly facts = new Map<string, CertificateFacts>();

  constructor(private readonly registeredCas: X509Certificate[]) {}

  /** Undefined when the client presented no certificate. */
  read(socket: TLSSocket, now: Date): PresentedCertificate | undefined {
    // The legacy object, not getPeerX509Certificate: it reads the certificate in place, where the
    // X509Certificate is a copy of the whole chain.
    const peer = socket.getPeerCertificate();
    if (!peer?.raw) return undefined;
    const facts = this.factsOf(peer.fingerprint256, peer.raw);
    const verdict = { authorized: socket.authorized, error: errorCode(socket.authorizationError) };
    if (verdict.authorized) return { ...facts, chainsToRegisteredCa: true };
    const [leaf, ...rest] = peerCertificateChain(socket);
    return { ...facts, ...chainVerdict(leaf!, rest, this.registeredCas, verdict, now) };
  }

  private factsOf(fingerprint: string, der: Buffer): CertificateFacts {
    let facts = this.facts.get(fingerprint);
    if (facts) this.facts.delete(fingerprint);
    else facts = certificateFacts(new X509Certificate(der));
    this.facts.set(fingerprint, facts);
    if (this.facts.size > REMEMBERED_CERTIFICATES) this.facts.delete(this.facts.keys().next().value!);
    return facts;
  }
}
