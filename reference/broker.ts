// startReferenceBroker: an aedes broker behind a mutual-TLS server on loopback, that answers as an
// Event Grid namespace does for sessions and client authentication.
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';
import { Aedes } from 'aedes';
import type { LoadedPki } from '../certs/manifest.ts';
import type { RuleId } from '../rules/catalogue.ts';
import { AedesNamespaceAdapter } from './aedes-adapter.ts';
import { accessControlBreaking, Authorizer, type AccessControl } from './authorization.ts';
import { installSessionPresentOverride } from './connack-session-present.ts';
import { ConnectPolicy } from './connect-decision.ts';
import { LifecycleEvents } from './lifecycle.ts';
import { maximumSessionExpirySeconds, type NamespaceConfig } from '../eventgrid/namespace.ts';
import { SessionRegistry } from './session-registry.ts';

export interface ServerTls {
  /** PEM: the server certificate, then the CAs that signed it. */
  cert: string;
  key: string;
}

export interface ReferenceBrokerOptions {
  namespace: NamespaceConfig;
  tls: ServerTls;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Also append life cycle events to this NDJSON file. */
  lifecycleFile?: string;
  /** Test only: rules the broker deliberately fails to enforce, to show that scenarios can fail. */
  brokenRules?: Iterable<RuleId>;
  /** Who may publish and subscribe where; default Event Grid's, with the mutants of brokenRules applied. */
  accessControl?: AccessControl;
  log?: (line: string) => void;
}

export interface ReferenceBroker {
  url: string;
  host: string;
  port: number;
  namespace: NamespaceConfig;
  events: LifecycleEvents;
  sessions: SessionRegistry;
  stop(): Promise<void>;
}

export function serverTlsFromPki(pki: LoadedPki): ServerTls {
  const { server } = pki.manifest;
  return { cert: pki.read(server.chain ?? server.certificate), key: pki.read(server.key) };
}

export async function startReferenceBroker(options: ReferenceBrokerOptions): Promise<ReferenceBroker> {
  const { namespace } = options;
  const log = options.log ?? (() => {});
  const clock = Date.now;
  const broken = new Set(options.brokenRules ?? []);
  const sessions = new SessionRegistry(clock);
  const events = new LifecycleEvents(namespace.name, options.lifecycleFile, clock);
  const registeredCas = namespace.caCertificates.map((ca) => new X509Certificate(ca.encodedCertificate));
  const adapter = new AedesNamespaceAdapter({
    policy: new ConnectPolicy(namespace, sessions, broken),
    sessions,
    events,
    registeredCas,
    broken,
    authorizer: new Authorizer(namespace, options.accessControl ?? accessControlBreaking(broken)),
    log,
    clock,
  });

  installSessionPresentOverride();
  const broker = await Aedes.createBroker({
    preConnect: adapter.preConnect,
    authorizeSubscribe: adapter.authorizeSubscribe,
    authorizePublish: adapter.authorizePublish,
    // L1: aedes caps the MQTT 5 Session Expiry Interval and reports the value in force in CONNACK.
    sessionExpiryIntervalLimit: broken.has('L1') ? 0 : maximumSessionExpirySeconds(namespace),
  });
  adapter.attach(broker);
  broker.on('clientError', (client, error) => log(`client "${client.id}": ${error.message}`));
  broker.on('connectionError', (_client, error) => log(`connection error: ${error.message}`));

  // Client certificates are requested but judged by the namespace's rules (A1-A3), not by the TLS
  // stack: a self-signed ThumbprintMatch client must get as far as CONNECT.
  const sockets = new Set<Socket>();
  const server = createServer(
    { cert: options.tls.cert, key: options.tls.key, requestCert: true, rejectUnauthorized: false, ca: namespace.caCertificates.map((ca) => ca.encodedCertificate) },
    (socket: TLSSocket) => {
      adapter.track(socket);
      broker.handle(socket);
    },
  );
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', (error) => log(`TLS handshake failed: ${error.message}`));

  const host = options.host ?? '127.0.0.1';
  server.listen(options.port ?? 0, host);
  try {
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]);
  } catch (error) {
    // aedes' own timers would keep the process alive after a port that could not be had.
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `mqtts://${urlHost}:${port}`,
    host,
    port,
    namespace,
    events,
    sessions,
    async stop() {
      adapter.beginStop();
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await closed;
    },
  };
}
