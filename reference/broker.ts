// startReferenceBroker: an aedes broker behind a mutual-TLS server on loopback, that answers as an
// Event Grid namespace does for sessions and client authentication.
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { Aedes } from 'aedes';
import type { LoadedPki } from '../certs/manifest.ts';
import type { RuleId } from '../rules/catalogue.ts';
import { AedesNamespaceAdapter } from './aedes-adapter.ts';
import { installSessionPresentOverride } from './connack-session-present.ts';
import { ConnectPolicy } from './connect-decision.ts';
import { LifecycleEvents } from './lifecycle.ts';
import { maximumPacketSize, maximumSessionExpirySeconds, type NamespaceConfig } from '../eventgrid/namespace.ts';
import { SessionRegistry } from './session-registry.ts';
import { shownName } from './bounded-text.ts';
import { createNamespaceTlsServer } from './tls-server.ts';

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
  /** A connection that has not finished its TLS handshake by then is closed; default 5000 ms. */
  handshakeTimeoutMs?: number;
  /** A connection that has not sent its CONNECT by then (after the handshake) is closed; default 5000 ms. */
  connectTimeoutMs?: number;
  /** Test only: rules the broker deliberately fails to enforce, to show that scenarios can fail. */
  brokenRules?: Iterable<RuleId>;
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

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

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
    log,
    clock,
  });

  installSessionPresentOverride();
  const broker = await Aedes.createBroker({
    preConnect: adapter.preConnect,
    // L1: aedes caps the MQTT 5 Session Expiry Interval and reports the value in force in CONNACK.
    sessionExpiryIntervalLimit: broken.has('L1') ? 0 : maximumSessionExpirySeconds(namespace),
    // Checked as each packet's fixed header is read, before authentication: a client that announces
    // more is cut off without the broker buffering what it sends.
    maximumPacketSize: maximumPacketSize(namespace),
    connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
  });
  adapter.attach(broker);
  broker.on('clientError', (client, error) => log(`client "${shownName(client.id ?? '')}": ${error.message}`));
  broker.on('connectionError', (_client, error) => log(`connection error: ${error.message}`));

  // Client certificates are requested and path-validated by OpenSSL against the registered CAs (which
  // are trust anchors even when not self-signed), but the verdict is judged by the namespace's rules
  // (A1-A3), not by the TLS stack: a self-signed ThumbprintMatch client must get as far as CONNECT.
  const sockets = new Set<Socket>();
  const server = createNamespaceTlsServer(
    {
      cert: options.tls.cert,
      key: options.tls.key,
      registeredCas: namespace.caCertificates.map((ca) => ca.encodedCertificate),
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    },
    (socket: TLSSocket) => {
      adapter.track(socket);
      adapter.screen(broker.handle(socket));
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
