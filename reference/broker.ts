// startReferenceBroker: an aedes broker behind a mutual-TLS server on loopback, that answers as an
// Event Grid namespace does for sessions and client authentication.
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { Aedes, type Client } from 'aedes';
import type { ServerTls } from '../certs/manifest.ts';
import { AedesNamespaceAdapter } from './aedes-adapter.ts';
import { EVENT_GRID, type Behaviour } from './behaviour.ts';
import { installSessionPresentOverride } from './connack-session-present.ts';
import { ConnectPolicy } from './connect-decision.ts';
import { LifecycleEvents } from './lifecycle.ts';
import { LimitEnforcement } from './limits.ts';
import type { ClientResource, NamespaceConfig } from '../eventgrid/namespace.ts';
import { SessionRegistry, type Clock } from './session-registry.ts';
import { shownName } from './bounded-text.ts';
import { createNamespaceTlsServer } from './tls-server.ts';

export interface ReferenceBrokerOptions {
  namespace: NamespaceConfig;
  tls: ServerTls;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Also append life cycle events to this NDJSON file. */
  lifecycleFile?: string;
  /** A connection that has not finished its TLS handshake this long after it opened is closed; default 5000 ms. */
  handshakeTimeoutMs?: number;
  /** A connection that has not sent its CONNECT this long after its handshake is closed; default 5000 ms. */
  connectTimeoutMs?: number;
  /** The rules as the broker applies them. Default EVENT_GRID; tests pass mutants (reference/mutants.ts). */
  behaviour?: Behaviour;
  /** Milliseconds since the epoch, for session expiry, life cycle events and certificate validity. Default Date.now. */
  clock?: Clock;
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

/** Whether the broker listens on every interface rather than on one address. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]' || host === '';
}

/**
 * The URLs a client can use to reach a broker listening on host:port: only names and addresses the
 * server certificate holds pass a client's host name check. For a wildcard host, the certificate's
 * names, and its addresses that this machine has; `unnamed` lists this machine's addresses that the
 * certificate lacks (add them with --server-name).
 */
export function clientUrls(
  host: string,
  port: number,
  certificate: { dns: string[]; ip: string[] },
  localAddresses: string[],
): { urls: string[]; unnamed: string[] } {
  const url = (name: string) => `mqtts://${name.includes(':') ? `[${name}]` : name}:${port}`;
  if (!isWildcardHost(host)) return { urls: [url(host)], unnamed: [] };
  const local = new Set(localAddresses);
  const ipv6 = host.includes(':');
  const addresses = certificate.ip.filter((ip) => local.has(ip) && (ipv6 || !ip.includes(':')));
  return {
    urls: [...certificate.dns.filter((name) => !name.startsWith('*')).map(url), ...addresses.map(url)],
    unnamed: localAddresses.filter((address) => !certificate.ip.includes(address) && (ipv6 || !address.includes(':'))),
  };
}

export async function startReferenceBroker(options: ReferenceBrokerOptions): Promise<ReferenceBroker> {
  const { namespace } = options;
  const log = options.log ?? (() => {});
  const clock = options.clock ?? Date.now;
  const behaviour = options.behaviour ?? EVENT_GRID;
  const sessions = new SessionRegistry(clock);
  const events = new LifecycleEvents(namespace.name, options.lifecycleFile, clock);
  const registeredCas = namespace.caCertificates.map((ca) => new X509Certificate(ca.encodedCertificate));
  // Event Grid's limits (L5-L15) on aedes: Keep Alive, CONNACK properties, the packet gate, the queues.
  // The packet gate also runs the access checks (P2, P3): every SUBSCRIBE and PUBLISH passes through it.
  const limits = new LimitEnforcement({
    behaviour,
    namespace,
    limits: namespace.reference.limits,
    registeredClientOf: (client): ClientResource | undefined => adapter.registeredClientOf(client),
    log,
    heldOffline: (name) => {
      const record = sessions.find(name);
      return record !== undefined && record.connectionId === undefined;
    },
    terminateSession: (name, reason) => adapter.terminateHeldSession(name, reason),
  });
  const adapter = new AedesNamespaceAdapter({
    policy: new ConnectPolicy(namespace, sessions, behaviour),
    answerRefusal: behaviour.answerRefusal,
    packetChecks: behaviour.packetChecks,
    sessions,
    events,
    registeredCas,
    limits,
    authenticationNameOf: (clientName) => namespace.clients.find((client) => client.name === clientName)?.authenticationName ?? clientName,
    log,
    clock,
  });

  installSessionPresentOverride();
  const broker = await Aedes.createBroker({
    preConnect: adapter.preConnect,
    // L1: aedes caps the MQTT 5 Session Expiry Interval and reports the value in force in CONNACK.
    sessionExpiryIntervalLimit: behaviour.maximumExpirySeconds(namespace),
    // L15: aedes checks each packet's size as its fixed header is read, before authentication (a client
    // that announces more is cut off without the broker buffering what it sends), and announces the
    // maximum in MQTT 5 CONNACKs. 0: no maximum (the L15 mutant).
    maximumPacketSize: behaviour.maximumPacketSize(namespace.reference.limits) ?? 0,
    connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
  });
  adapter.attach(broker);
  limits.attach(broker);
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
      const client = broker.handle(socket) as unknown as Client;
      limits.track(client);
      // Last, so that protocol validation (M1) sees each packet before the packet gate and aedes.
      adapter.screen(client);
    },
  );
  server.on('connection', (socket: Socket) => {
    // TCP_NODELAY: without it the small writes after a TLS 1.3 handshake (tickets, CONNACK) wait on
    // Nagle's algorithm and the peer's delayed ACK, about 40 ms per CONNECT.
    socket.setNoDelay(true);
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
  // Every interface includes loopback, and localhost is in the reference's server certificate.
  const clientHost = isWildcardHost(host) ? 'localhost' : host;
  const urlHost = clientHost.includes(':') ? `[${clientHost}]` : clientHost;

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
