// One TLS context per identity and CA, made once for all the connections that use it: parsing the
// key and certificates anew for every connection costs more than the handshake's own signature.
import { createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import type { LoadedIdentity } from '../certs/manifest.ts';

const contexts = new WeakMap<LoadedIdentity, Map<string, SecureContext>>();

/** The context that trusts `ca` and presents the identity's certificate, or none when `withoutCertificate`. */
export function secureContextFor(identity: LoadedIdentity, ca: string, withoutCertificate = false): SecureContext {
  const byCa = contexts.get(identity) ?? new Map<string, SecureContext>();
  contexts.set(identity, byCa);
  const key = `${withoutCertificate ? 'no-cert' : 'cert'}\n${ca}`;
  let context = byCa.get(key);
  if (!context) {
    context = createSecureContext({ ca, ...(withoutCertificate ? {} : { cert: identity.certificatePem, key: identity.keyPem }) });
    byCa.set(key, context);
  }
  return context;
}

/**
 * TLS sessions to resume, by client context and server: a client that reconnects skips the
 * certificate exchange and both signatures, as devices do, and the server still knows the
 * certificate it was shown (about 5 ms of CPU per connection less, both ends together).
 */
export class TlsSessions {
  private readonly byContext = new WeakMap<SecureContext, Map<string, Buffer>>();

  /** The session to offer `server`, if this context has one. */
  offer(context: SecureContext, server: string): Buffer | undefined {
    return this.byContext.get(context)?.get(server);
  }

  /** Keeps the sessions the server hands `socket`, for the next connection of this context. */
  keep(socket: TLSSocket, context: SecureContext, server: string): void {
    socket.on('session', (session: Buffer) => {
      const byServer = this.byContext.get(context) ?? new Map<string, Buffer>();
      this.byContext.set(context, byServer);
      byServer.set(server, session);
    });
  }
}
