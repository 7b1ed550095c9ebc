// Node's TLS server as node-tls-internals.ts relies on it: the context it keeps for its connections
// can be told to trust a registered CA that is not self-signed. Fails when Node's server changes shape.
import { createServer } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { allowPartialTrustChain } from './node-tls-internals.ts';

describe("Node's TLS server as the reference relies on it", () => {
  it('keeps its shared context where allowPartialTrustChain finds it', () => {
    const server = createServer({});
    const context = (server as unknown as { _sharedCreds?: { context?: { setAllowPartialTrustChain?: unknown } } })._sharedCreds?.context;
    expect(typeof context?.setAllowPartialTrustChain).toBe('function');
    expect(() => allowPartialTrustChain(server)).not.toThrow();
  });
});
