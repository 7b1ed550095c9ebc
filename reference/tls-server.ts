// The broker's TLS listener: mutual TLS that requests a client certificate without insisting on one,
// path-validates it with OpenSSL against the namespace's registered CAs (whose verdict the rules
// judge), and closes a connection that has not finished its handshake in time.
import type { Socket } from 'node:net';
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
  closeUnfinishedHandshakes(server, options.handshakeTimeoutMs);
  return server;
}

/**
 * Node's `handshakeTimeout` starts with the ClientHello: a TCP connection that never sends one stays
 * open for ever. Every connection gets a deadline from its first moment, cleared when its handshake
 * completes (the TLS socket is matched to its TCP connection by the peer's address and port).
 */
function closeUnfinishedHandshakes(server: Server, timeoutMs: number): void {
  const pending = new Map<string, NodeJS.Timeout>();
  const key = (socket: Socket) => `${socket.remoteAddress}|${socket.remotePort}`;
  server.on('connection', (socket: Socket) => {
    const id = key(socket);
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    timer.unref();
    pending.set(id, timer);
    socket.once('close', () => {
      clearTimeout(timer);
      if (pending.get(id) === timer) pending.delete(id);
    });
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    const id = key(socket);
    clearTimeout(pending.get(id));
    pending.delete(id);
  });
}
