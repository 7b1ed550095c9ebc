// Helpers for tests that need a TLS handshake with the PKI's certificates; test code only.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import type { PkiManifest } from './manifest.ts';

/**
 * Runs one mutual-TLS handshake on 127.0.0.1 against a server that trusts the PKI's root, presenting
 * the named identity's certificate (none when undefined). Returns 'authorized', or the code of the
 * reason the server refused the client, as the server saw it (under TLS 1.3 the client is not told).
 */
export async function mutualTlsHandshake(dir: string, manifest: PkiManifest, identityId?: string): Promise<string> {
  const read = (file: string) => readFileSync(join(dir, file));
  const server = createServer({
    cert: read(manifest.server.chain!),
    key: read(manifest.server.key),
    ca: read(manifest.ca.root.certificate),
    requestCert: true,
    rejectUnauthorized: true,
  });
  const outcome = new Promise<string>((resolve) => {
    server.once('secureConnection', (socket: TLSSocket) => {
      resolve(socket.authorized ? 'authorized' : String(socket.authorizationError));
      socket.end();
    });
    // Node sets the verification failure on the socket before it ends the handshake.
    server.once('tlsClientError', (error: NodeJS.ErrnoException, socket: TLSSocket) =>
      resolve(String(socket.authorizationError ?? error.code ?? error.message)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const identity = manifest.identities.find((entry) => entry.id === identityId);
  const client = connect({
    host: '127.0.0.1',
    port: (server.address() as { port: number }).port,
    servername: 'localhost',
    ca: read(manifest.ca.root.certificate),
    ...(identity ? { cert: read(identity.chain ?? identity.certificate), key: read(identity.key) } : {}),
  });
  client.on('error', () => {});
  try {
    return await outcome;
  } finally {
    client.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}
