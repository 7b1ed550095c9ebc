// PeerCertificateReader remembers what each certificate says, and still reads every connection as the
// uncached path (what the leaf says, then the verdict on the whole chain, read anew) does: certificates TLS accepted,
// refused, presented again after others, and none at all.
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Server, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { craftCertificate, craftKey } from '../../../certs/crafted.ts';
import { loadPki, type LoadedPki } from '../../../certs/manifest.ts';
import type { PresentedCertificate } from '../../policy/presented.ts';
import { certificateFacts, chainVerdict } from './certificate-facts.ts';
import { peerCertificateChain, PeerCertificateReader } from './peer-certificate.ts';
import { createNamespaceTlsServer } from '../tls-listener.ts';

let pki: LoadedPki;
let server: Server;
let registeredCas: X509Certificate[];
const now = new Date();
const selfSigned = craftCertificate({ commonName: 'thumb-1', key: craftKey('ec-p256') });

beforeAll(async () => {
  pki = loadPki(inject('pkiDir'));
  const intermediate = pki.read(pki.manifest.ca.intermediate.certificate);
  registeredCas = [new X509Certificate(intermediate)];
  // The broker's own listener: an intermediate CA registered as a trust anchor.
  server = createNamespaceTlsServer(
    { cert: pki.read(pki.manifest.server.chain!), key: pki.read(pki.manifest.server.key), registeredCas: [intermediate], handshakeTimeoutMs: 5000 },
    () => {},
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/**
 * What the reader and the uncached path make of one connection that presents `credentials`, resuming
 * `session` when given; with the session the server handed the client, if any.
 */
async function readBoth(reader: PeerCertificateReader, credentials: { cert: string; key: string } | undefined, session?: Buffer) {
  const accepted = once(server, 'secureConnection') as Promise<[TLSSocket]>;
  const client = connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port, servername: 'localhost', ca: pki.rootCaPem, ...credentials, ...(session ? { session } : {}) });
  client.on('error', () => {});
  const handed = new Promise<Buffer>((resolve) => client.once('session', resolve));
  const [socket] = await accepted;
  const resumed = socket.isSessionReused();
  const chain = peerCertificateChain(socket);
  const verdict = { authorized: socket.authorized, error: socket.authorizationError as unknown as string | undefined };
  const [leaf, ...rest] = chain;
  const uncached: PresentedCertificate | undefined = leaf ? { ...certificateFacts(leaf), ...chainVerdict(leaf, rest, registeredCas, verdict, now) } : undefined;
  const read = reader.read(socket, now);
  const next = session ? undefined : await Promise.race([handed, new Promise<undefined>((resolve) => setTimeout(resolve, 1000))]);
  socket.destroy();
  client.destroy();
  return { read, uncached, resumed, session: next };
}

const identity = (id: string) => {
  const loaded = pki.identities.get(id)!;
  return { cert: loaded.certificatePem, key: loaded.keyPem };
};

describe('PeerCertificateReader', () => {
  it('reads each connection as the whole chain reads, however often and in whatever order certificates come', async () => {
    const reader = new PeerCertificateReader(registeredCas);
    const order = ['alpha', 'beta', 'alpha', 'self-signed', 'beta', 'self-signed', 'alpha'];
    for (const who of order) {
      const credentials = who === 'self-signed' ? { cert: selfSigned.pem, key: selfSigned.key.privateKeyPem } : identity(who);
      const { read, uncached } = await readBoth(reader, credentials);
      expect(read, who).toEqual(uncached);
    }
  });

  it('names each certificate by its own subject, and sees a chain TLS refused as not leading to a registered CA', async () => {
    const reader = new PeerCertificateReader(registeredCas);
    expect((await readBoth(reader, identity('alpha'))).read).toMatchObject({ commonNames: ['alpha'], chainsToRegisteredCa: true });
    expect((await readBoth(reader, identity('beta'))).read).toMatchObject({ commonNames: ['beta'], chainsToRegisteredCa: true });
    const refused = (await readBoth(reader, { cert: selfSigned.pem, key: selfSigned.key.privateKeyPem })).read;
    expect(refused).toMatchObject({ commonNames: ['thumb-1'], chainsToRegisteredCa: false, chainProblem: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
  });

  // A resumed session carries the client's certificate but not the CAs it sent: what the reader makes
  // of it must not change (the suite's clients resume their sessions on the embedded reference).
  it.each(['alpha', 'neg-expired', 'neg-unregistered-ca', 'neg-thumbprint-unregistered'])('reads a resumed session of %s as its full handshake', async (id) => {
    const reader = new PeerCertificateReader(registeredCas);
    const full = await readBoth(reader, identity(id));
    expect(full.resumed).toBe(false);
    expect(full.session).toBeDefined();
    const again = await readBoth(new PeerCertificateReader(registeredCas), identity(id), full.session);
    expect(again.resumed).toBe(true);
    expect(again.read).toEqual(full.read);
    expect(again.read?.commonNames).toEqual(full.read?.commonNames);
  });

  it('reads no certificate when the client presented none', async () => {
    expect((await readBoth(new PeerCertificateReader(registeredCas), undefined)).read).toBeUndefined();
  });
});
