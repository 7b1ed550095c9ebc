// Clients given a TlsSessions resume their TLS session on their next connection, per identity, and
// clients given none never do: both kinds of client, against a TLS server that answers every CONNECT.
import { once } from 'node:events';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadPki, type LoadedPki } from '../certs/manifest.ts';
import { RawConnection } from './raw-client.ts';
import { SessionClient } from './session-client.ts';
import { TlsSessions } from './tls-context.ts';

let pki: LoadedPki;
let server: Server;
let url: string;
/** Each connection's subject and whether it resumed a session, in order. */
const seen: Array<{ subject: string | undefined; resumed: boolean }> = [];

beforeAll(async () => {
  pki = loadPki(inject('pkiDir'));
  server = createServer(
    { cert: pki.read(pki.manifest.server.chain!), key: pki.read(pki.manifest.server.key), ca: pki.rootCaPem, requestCert: true, rejectUnauthorized: false },
    (socket: TLSSocket) => {
      seen.push({ subject: socket.getPeerCertificate().subject?.CN as string | undefined, resumed: socket.isSessionReused() });
      socket.on('error', () => {});
      socket.once('data', () => socket.write(mqttPacket.generate({ cmd: 'connack', returnCode: 0, sessionPresent: false })));
    },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `mqtts://localhost:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function viaSessionClient(identityId: string, tlsSessions?: TlsSessions) {
  const outcome = await SessionClient.connect({ url, ca: pki.rootCaPem, identity: pki.identities.get(identityId)!, sessionName: 's', version: '3.1.1', timeoutMs: 2000, ...(tlsSessions ? { tlsSessions } : {}) });
  if (!outcome.accepted) throw new Error(`not accepted: ${outcome.message}`);
  // The server hands its session tickets just after the handshake: let them arrive before closing.
  await new Promise((resolve) => setTimeout(resolve, 50));
  outcome.client.close();
}

async function viaRawConnection(identityId: string, tlsSessions?: TlsSessions) {
  const outcome = await RawConnection.connect({ url, ca: pki.rootCaPem, identity: pki.identities.get(identityId)!, version: '3.1.1', clientId: Buffer.from('s'), timeoutMs: 2000, ...(tlsSessions ? { tlsSessions } : {}) });
  if (!outcome.accepted) throw new Error(`not accepted: ${outcome.message}`);
  await new Promise((resolve) => setTimeout(resolve, 50));
  outcome.connection.close();
}

describe.each([
  ['SessionClient', viaSessionClient],
  ['RawConnection', viaRawConnection],
])('%s', (_name, connect) => {
  it('resumes its identity\'s session from the TlsSessions it is given, and another identity does not take it', async () => {
    const sessions = new TlsSessions();
    seen.length = 0;
    await connect('alpha', sessions);
    await connect('alpha', sessions);
    await connect('beta', sessions);
    await connect('alpha', sessions);
    expect(seen).toEqual([
      { subject: 'alpha', resumed: false },
      { subject: 'alpha', resumed: true },
      { subject: 'beta', resumed: false },
      { subject: 'alpha', resumed: true },
    ]);
  });

  it('makes a full handshake every time without one', async () => {
    seen.length = 0;
    await connect('alpha');
    await connect('alpha');
    expect(seen).toEqual([
      { subject: 'alpha', resumed: false },
      { subject: 'alpha', resumed: false },
    ]);
  });
});
