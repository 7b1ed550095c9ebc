// The one change this project makes to Node's TLS server beyond its public options, fenced here
// (node-tls-internals.test.ts fails when Node's server no longer has the shape it relies on).
import type { Server } from 'node:tls';

/** The SecureContext's own method (Node 20.18+): treat a CA in the trust store as an anchor even when it is not self-signed. */
interface SharedCredentials {
  _sharedCreds?: { context?: { setAllowPartialTrustChain?: () => void } };
}

/**
 * Lets the server's context trust a registered CA that is not self-signed (an intermediate) as an
 * anchor. Node 20's tls.Server does not pass `allowPartialTrustChain` on to the context it makes
 * (createSecureContext does), so it is set on the context the server keeps in `_sharedCreds`.
 */
export function allowPartialTrustChain(server: Server): void {
  const context = (server as unknown as SharedCredentials)._sharedCreds?.context;
  if (typeof context?.setAllowPartialTrustChain !== 'function') {
    throw new Error('this Node.js cannot trust a registered intermediate CA as an anchor (needs SecureContext.setAllowPartialTrustChain, Node 20.18 or later)');
  }
  context.setAllowPartialTrustChain();
}
