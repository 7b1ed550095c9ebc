// One TLS context per identity and CA, made once for all the connections that use it: parsing the
// key and certificates anew for every connection costs more than the handshake's own signature.
import { createSecureContext, type SecureContext } from 'node:tls';
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
