// Faulty brokers built for the detection test (runner/detection.test.ts), not mutants of the reference:
// plain aedes behind mutual TLS, with a small Event Grid-like gate in its authenticate hook (the
// Username names a registered client of the PKI, in any case, or on a namespace that reads names from
// certificates, with no Username, its DNS name, else its subject CN does; the certificate's subject CN
// proves it; a session name stays with the client that took it), and at most one fault in that gate.
// The same broker without its fault is the control: what fails only with the fault is what the fault
// broke.
import { once } from 'node:events';
import { createServer, type PeerCertificate, type TLSSocket } from 'node:tls';
import { Aedes, type Client } from 'aedes';
import type { LoadedPki } from '../certs/manifest.ts';

export const FAULTS = {
  'clean-start-skips-ownership': 'takes no account of who owns a session name when the CONNECT has Clean Start 1',
  'prefix-name-match': 'a subject CN proves any name it starts with, or that starts with it',
  'ownership-by-username-as-sent': "owns a session by the Username as sent, so the owner's name in other letter case is another client",
  'no-username-skips-ownership': 'takes no account of who owns a session name when the CONNECT has no Username (its client named by its certificate)',
} as const;

export type Fault = keyof typeof FAULTS;

export interface FaultyBroker {
  url: string;
  stop(): Promise<void>;
}

const refusal = (returnCode: 4 | 5, message: string) => Object.assign(new Error(message), { returnCode });

/** The name a certificate gives a client with no Username, as the suite's second namespace reads it (A5): its DNS name, else its subject's one CN. */
function nameInCertificate(certificate: PeerCertificate): string | undefined {
  const dns = (certificate.subjectaltname ?? '').split(', ').find((entry) => entry.startsWith('DNS:'));
  if (dns) return dns.slice('DNS:'.length);
  return typeof certificate.subject.CN === 'string' ? certificate.subject.CN : undefined;
}

/**
 * Starts the gate on plain aedes, on 127.0.0.1, with `fault` (or none: the control). With
 * `namesFromCertificate`, a CONNECT with no Username is named by its certificate; else it is refused.
 */
export async function startFaultyBroker(pki: LoadedPki, fault: Fault | undefined, namesFromCertificate = false): Promise<FaultyBroker> {
  const registered = new Map([...pki.identities.values()].filter(({ entry }) => entry.role !== 'case-variant').map(({ entry }) => [entry.authenticationName.toLowerCase(), entry]));
  const proves = (commonName: string, name: string) => {
    const [cn, wanted] = [commonName.toLowerCase(), name.toLowerCase()];
    return fault === 'prefix-name-match' ? cn.length > 0 && (cn.startsWith(wanted) || wanted.startsWith(cn)) : cn === wanted;
  };
  /** Session name -> the name of the client that holds it. */
  const owners = new Map<string, string>();
  const broker = await Aedes.createBroker({
    authenticate: (client: Client, username: string | undefined, _password: Buffer | undefined, done: (error: (Error & { returnCode: 4 | 5 }) | null, success: boolean | null) => void) => {
      const socket = client.conn as unknown as TLSSocket;
      const certificate = socket.getPeerCertificate?.();
      if (!certificate?.subject || !socket.authorized) return done(refusal(4, 'no certificate of the registered CA'), null);
      const name = username ?? (namesFromCertificate ? nameInCertificate(certificate) : undefined);
      const entry = name === undefined ? undefined : registered.get(name.toLowerCase());
      if (name === undefined || !entry || entry.state === 'Disabled') return done(refusal(4, 'no such client'), null);
      const commonName = certificate.subject.CN;
      if (entry.validationScheme !== 'SubjectMatchesAuthenticationName' || typeof commonName !== 'string' || !proves(commonName, entry.authenticationName)) {
        return done(refusal(4, 'the certificate does not prove the name'), null);
      }
      const owner = fault === 'ownership-by-username-as-sent' ? name : entry.authenticationName;
      const holder = owners.get(client.id);
      const cleanStart = (client as unknown as { _cleanStart?: boolean })._cleanStart === true;
      const skipsOwnership = (fault === 'clean-start-skips-ownership' && cleanStart) || (fault === 'no-username-skips-ownership' && username === undefined);
      if (holder !== undefined && holder !== owner && !skipsOwnership) return done(refusal(5, 'the session is another client\'s'), null);
      owners.set(client.id, owner);
      return done(null, true);
    },
  });
  const server = createServer(
    { cert: pki.read(pki.manifest.server.chain!), key: pki.read(pki.manifest.server.key), ca: [pki.rootCaPem, pki.read(pki.manifest.ca.intermediate.certificate)], requestCert: true, rejectUnauthorized: false },
    (socket) => broker.handle(socket),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `mqtts://127.0.0.1:${(server.address() as { port: number }).port}`,
    async stop() {
      server.close();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}
