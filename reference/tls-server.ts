// The broker's TLS listener: mutual TLS that requests a client certificate without insisting on one,
// path-validates it with OpenSSL against the namespace's registered CAs (whose verdict the rules
// judge), and closes a connection that has not finished its handshake in time.
import { createServer, type Server, type TlsOptions, type TLSSocket } from 'node:tls';

export interface NamespaceTlsOptions {
  cert: string;
  key: string;
  /** PEM of the namespace's registered CAs: trust anchors, whether or not they are self-signed. */
  registeredCas: string[];
  /** A connection that has not completed its TLS handshake by then is closed, ms. */
  handshakeTimeoutMs: number;
}

/** The SecureContext's own method (Node 20.18+): treat a CA in the trust store as an anchor even when it is not self-signed. */
interface PartialChainContext {
  context?: { setAllowPartialTrustChain?: () => void };
}

export function createNamespaceTlsServer(options: NamespaceTlsOptions, onSecure: (socket: TLSSocket) => void): Server {
  const tlsOptions: TlsOptions = {
    cert: options.cert,
    key: options.key,
    requestCert: true,
    rejectUnauthorized: false,
    ca: options.registeredCas,
    handshakeTimeout: options.handshakeTimeoutMs,
  };
  const server = createServer(tlsOptions, onSecure);
  // Event Grid registers intermediate CAs; OpenSSL trusts a non-self-signed CA only with the partial
  // chain flag. Node 20's tls.Server does not pass `allowPartialTrustChain` on to the context it makes
  // (createSecureContext does), so it is set on that context here.
  const shared = (server as unknown as { _sharedCreds?: PartialChainContext })._sharedCreds;
  if (typeof shared?.context?.setAllowPartialTrustChain !== 'function') {
    throw new Error('this Node.js cannot trust a registered intermediate CA as an anchor (needs SecureContext.setAllowPartialTrustChain, Node 20.18 or later)');
  }
  shared.context.setAllowPartialTrustChain();
  return server;
}
