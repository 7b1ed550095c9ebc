// The certificates a TLS client presented, leaf first, as Node's X509Certificate objects.
import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';

export function peerCertificateChain(socket: TLSSocket): X509Certificate[] {
  const chain: X509Certificate[] = [];
  const seen = new Set<string>();
  // getPeerX509Certificate, not getPeerCertificate(true): the same chain without building a detailed
  // object of every field (about 1 ms per CONNECT).
  let current: X509Certificate | undefined = socket.getPeerX509Certificate();
  // A self-signed certificate is its own issuer: stop at the first one seen again.
  while (current && !seen.has(current.fingerprint256)) {
    seen.add(current.fingerprint256);
    chain.push(current);
    current = current.issuerCertificate;
  }
  return chain;
}
