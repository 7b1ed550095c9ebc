// startReferenceBroker: an aedes broker behind a mutual-TLS listener on loopback, that answers as an
// Event Grid namespace does for sessions and client authentication. The composition root: it puts the
// policy (policy/) together with one adapter per port (ports/): the session store (in memory, or in
// Redis beside other instances of the namespace), the certificate authenticator, the TLS listener, the
// life cycle events, and the aedes glue.
import { Aedes } from 'aedes';
import type { ServerTls } from '../certs/manifest.ts';
import { changedClient, NamespaceConfigError, type ClientChange, type ClientResource, type NamespaceConfig } from '../eventgrid/namespace.ts';
import { GONE_CLIENTS_TOPIC, leaveSessionExpiryToTheStore, NEW_CLIENTS_TOPIC, packetTooLargeDisconnect, explainDisconnects } from './adapters/aedes/aedes-internals.ts';
import { DurableAcks } from './adapters/aedes/durable-acks.ts';
import { LimitEnforcement } from './adapters/aedes/limit-enforcement.ts';
import { TokenLifetimes } from './adapters/aedes/token-lifetimes.ts';
import { AedesNamespaceAdapter } from './adapters/aedes/namespace-adapter.ts';
import { shownName } from './adapters/bounded-text.ts';
import { AuthenticationMethods } from './adapters/authentication-methods.ts';
import { CertificateAuthenticator } from './adapters/certificate/authenticator.ts';
import { LifecycleEvents } from './adapters/lifecycle-events.ts';
import { MemorySessionStore } from './adapters/memory-session-store.ts';
import { startTlsListener } from './adapters/tls-listener.ts';
import { startWsListener, WEBSOCKET_PATH } from './adapters/ws-listener.ts';
import { TokenAuthenticator } from './adapters/token/authenticator.ts';
import { WebhookAuthenticator } from './adapters/webhook/authenticator.ts';
import type { Behaviour } from './policy/behaviour.ts';
import { ConnectPolicy } from './policy/connect.ts';
import { entraExpectations, roleGrantsOf } from './policy/entra.ts';
import { EVENT_GRID } from './policy/event-grid.ts';
import { customJwtExpectations } from './policy/token.ts';
import type { Clock } from './ports/clock.ts';
import type { Connection, Listener } from './ports/listener.ts';
import type { SessionStore } from './ports/session-store.ts';

export interface ReferenceBrokerOptions {
  namespace: NamespaceConfig;
  tls: ServerTls;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** MQTT over WebSockets (wss, path /mqtt) on this port, 0 a free one (the default); null: none. */
  wsPort?: number | null;
  /**
   * 'none': the wss listener asks for no client certificate, so that a browser can connect (headless
   * Chromium cancels a handshake that asks for one); its clients authenticate by token or webhook.
   * Default 'request', as on the TLS port.
   */
  wsClientCertificates?: 'request' | 'none';
  /** Also append life cycle events to this NDJSON file. */
  lifecycleFile?: string;
  /** A connection that has not finished its TLS handshake this long after it opened is closed; default 5000 ms. */
  handshakeTimeoutMs?: number;
  /** A connection that has not sent its CONNECT this long after its handshake is closed; default 5000 ms. */
  connectTimeoutMs?: number;
  /** The rules as the broker applies them. Default EVENT_GRID; tests pass mutants (policy/mutants.ts). */
  behaviour?: Behaviour;
  /** Milliseconds since the epoch, for session expiry, life cycle events and certificate validity. Default Date.now. */
  clock?: Clock;
  /**
   * Join the namespace kept in this Redis (redis://HOST:PORT[/DB]) beside its other instances: sessions,
   * subscriptions, queued and retained messages live there, and messages fan out between instances.
   * Default: everything in this process's memory, forgotten when it stops.
   */
  redis?: { url: string; leaseMs?: number };
  log?: (line: string) => void;
}

export interface ReferenceBroker {
  /** MQTT over TLS: mqtts://HOST:PORT. */
  url: string;
  host: string;
  port: number;
  /** MQTT over WebSockets: wss://HOST:PORT/mqtt, unless the broker was started without. */
  wsUrl?: string;
  wsPort?: number;
  namespace: NamespaceConfig;
  events: LifecycleEvents;
  sessions: SessionStore;
  /** This instance's id among those sharing the namespace (with `redis`). */
  instance?: string;
  /**
   * Changes a registered client at run time, as an ARM client update does: disabled, or given other
   * credentials, its live connections end (A7, life cycle ClientAuthenticationError); moved into or out
   * of a client group, too (P5, ClientAuthorizationError). With `redis`, at every instance of the
   * namespace: it answers once each has applied the change, with the connections ended at all of them.
   * A NamespaceConfigError names an unknown client or a change no client may have.
   */
  updateClient(name: string, change: ClientChange): Promise<{ client: ClientResource; endedConnections: number }>;
  /**
   * Stops accepting, sends MQTT 5 clients DISCONNECT 0x8B (server shutting down), closes every
   * connection, and (with `redis`) hands their sessions over as held, kept for a restart.
   */
  stop(): Promise<void>;
}

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

/** Whether the broker listens on every interface rather than on one address. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]' || host === '';
}

/**
 * The URLs (mqtts://, or wss://…/mqtt) a client can use to reach a broker listening on host:port: only names and addresses the
 * server certificate holds pass a client's host name check. For a wildcard host, the certificate's
 * names, and its addresses that this machine has; `unnamed` lists this machine's addresses that the
 * certificate lacks (add them with --server-name).
 */
export function clientUrls(
  host: string,
  port: number,
  certificate: { dns: string[]; ip: string[] },
  localAddresses: string[],
  scheme: 'mqtts' | 'wss' = 'mqtts',
): { urls: string[]; unnamed: string[] } {
  const path = scheme === 'wss' ? WEBSOCKET_PATH : '';
  const url = (name: string) => `${scheme}://${name.includes(':') ? `[${name}]` : name}:${port}${path}`;
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
  // A copy of its own: a client changed at run time (updateClient) is this namespace's change, not that
  // of every broker started from the same configuration (the embedded run starts one per transport).
  const namespace: NamespaceConfig = { ...options.namespace };
  const log = options.log ?? (() => {});
  const clock = options.clock ?? Date.now;
  const behaviour = options.behaviour ?? EVENT_GRID;
  // Only a shared namespace loads the Redis client.
  const shared = options.redis
    ? await (await import('./adapters/redis/shared-namespace.ts')).joinSharedNamespace({
        url: options.redis.url,
        namespace: namespace.name,
        clock,
        ...(options.redis.leaseMs ? { leaseMs: options.redis.leaseMs } : {}),
        log,
        onLeaseLost: () => {
          log("this instance's lease in the session store had run out: its connections no longer hold their sessions, and are closed");
          adapter.dropLocalSessions();
        },
      })
    : undefined;
  const sessions: SessionStore = shared?.sessions ?? new MemorySessionStore(clock);
  const events = new LifecycleEvents(namespace.name, options.lifecycleFile, clock);
  // Event Grid's limits (L5-L15) on aedes: Keep Alive, CONNACK properties, the packet gate, the queues.
  // The packet gate also runs the access checks (P2, P3): every SUBSCRIBE and PUBLISH passes through it.
  const limits = new LimitEnforcement({
    behaviour,
    namespace,
    limits: namespace.reference.limits,
    registeredClientOf: (client): ClientResource | undefined => adapter.registeredClientOf(client),
    log,
    // With Redis, the shared counts ask the store whether a connection at another instance holds it.
    heldOffline: (name): boolean => (shared ? !adapter.connectedHere(name) : adapter.heldOffline(name)),
    terminateSession: (name, reason): Promise<void> => adapter.terminateHeldSession(name, reason),
    ...(shared ? { queueCounts: shared.tallies, groupDirectory: shared.tallies } : {}),
  });
  const { customJwtAuthentication, webhookAuthentication } = namespace.topicSpacesConfiguration.clientAuthentication;
  const { entraId } = namespace.reference;
  const authenticator = new AuthenticationMethods({
    certificate: new CertificateAuthenticator(namespace, behaviour),
    token: new TokenAuthenticator(
      customJwtAuthentication && customJwtExpectations(customJwtAuthentication.tokenIssuer, namespace.reference.customJwtAudience),
      customJwtAuthentication?.encodedIssuerCertificates.map((certificate) => certificate.encodedCertificate) ?? [],
      behaviour,
    ),
    ...(entraId
      ? {
          entra: new TokenAuthenticator(
            entraExpectations(entraId),
            entraId.signingCertificates.map((certificate) => certificate.encodedCertificate),
            behaviour,
            (principal) => roleGrantsOf(namespace, entraId, principal),
          ),
        }
      : {}),
    ...(webhookAuthentication ? { webhook: new WebhookAuthenticator(webhookAuthentication, namespace.reference.webhookTimeoutMs, behaviour) } : {}),
  });
  const adapter = new AedesNamespaceAdapter({
    policy: new ConnectPolicy(namespace, behaviour),
    authenticator,
    tokens: new TokenLifetimes({ authenticator, pieces: behaviour, clock, log }),
    answerRefusal: behaviour.answerRefusal,
    packetChecks: behaviour.packetChecks,
    sessions,
    events,
    limits,
    authenticationNameOf: (clientName) => namespace.clients.find((client) => client.name === clientName)?.authenticationName ?? clientName,
    log,
    clock,
    sessionLimit: () => behaviour.sessionLimit(namespace),
    ...(shared ? { instance: shared.instance, takeovers: shared.takeovers, sharedStateWipe: shared.wipeState } : {}),
  });

  // With Redis, a QoS 1 PUBLISH's PUBACK waits until its message is stored there (a kill -9 loses nothing acknowledged).
  const durableAcks = shared ? new DurableAcks(() => shared.written()) : undefined;
  const broker = new Aedes({
    ...(shared ? { id: shared.instance, persistence: shared.persistence, mq: shared.mq, published: durableAcks!.published } : {}),
    preConnect: adapter.preConnect,
    // A queued QoS 1 message acknowledged while aedes resends the queue is not sent again.
    authorizeForward: adapter.authorizeForward,
    // L1: aedes caps the MQTT 5 Session Expiry Interval and reports the value in force in CONNACK.
    sessionExpiryIntervalLimit: behaviour.maximumExpirySeconds(namespace),
    // L15: aedes checks each packet's size as its fixed header is read, before authentication (a client
    // that announces more is cut off without the broker buffering what it sends), and announces the
    // maximum in MQTT 5 CONNACKs. 0: no maximum (the L15 mutant).
    maximumPacketSize: behaviour.maximumPacketSize(namespace.reference.limits) ?? 0,
    // L17: aedes announces it in MQTT 5 CONNACKs and ends a connection whose PUBLISH uses an alias above it (0x94).
    topicAliasMaximum: behaviour.topicAliasMaximum,
    connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
  });
  if (shared) {
    // Before the broker listens, so before aedes' own listener, which closes the client without a DISCONNECT.
    shared.mq.on(NEW_CLIENTS_TOPIC, (packet, done) => {
      adapter.remoteTakeover(packet.topic.split('/')[1]!, String(packet.payload));
      done();
    });
    shared.mq.on(GONE_CLIENTS_TOPIC, (packet, done) => {
      adapter.remoteEnd(packet.topic.split('/')[1]!, String(packet.payload));
      done();
    });
    leaveSessionExpiryToTheStore(broker);
    await shared.takeovers.serve({
      takeOver: (sessionName, connectionId, from) => adapter.endForTakeover(sessionName, connectionId, from),
      stillHolds: (sessionName, connectionId) => adapter.stillHolds(sessionName, connectionId),
    });
  }
  /** Puts a changed client in force here and ends the connections here that the change ends: answers how many. */
  const applyClient = (after: ClientResource): number => {
    const before = namespace.clients.find((client) => client.name === after.name)!;
    // A new list, as a namespace file would give: a CONNECT reads every client as it was, or as it is.
    namespace.clients = namespace.clients.map((client) => (client === before ? after : client));
    const ending = behaviour.connectionEndsOnChange(namespace, before, after);
    const endedConnections = ending ? adapter.endConnectionsOf(after.name, ending) : 0;
    log(`client "${after.name}" updated${ending ? `: ${ending.refusal.reason}; ${endedConnections} live connection(s) ended here [${ending.refusal.rule}]` : ''}`);
    return endedConnections;
  };
  // With Redis, a change made at any instance is the namespace's: stored there, applied at each (redis-client-registry.ts).
  const clientRegistry = await shared
    ?.clientRegistry({ configured: options.namespace.clients, current: (name) => namespace.clients.find((client) => client.name === name), apply: applyClient })
    .catch(async (error: unknown) => {
      await shared.close();
      throw error;
    });
  await broker.listen();
  adapter.attach(broker);
  durableAcks?.attach(broker);
  limits.attach(broker);
  broker.on('clientError', (client, error) => log(`client "${shownName(client.id ?? '')}": ${error.message}`));
  broker.on('connectionError', (_client, error) => log(`connection error: ${error.message}`));
  // aedes reports a store's failure outside any connection (a will's removal after it is published, its
  // periodic sweep of wills) as its own 'error' event: with none listening, a Redis lost at that moment
  // ended the process.
  (broker as unknown as NodeJS.EventEmitter).on('error', (error: Error) => log(`the store failed: ${error.message}`));

  const host = options.host ?? '127.0.0.1';
  const tlsOptions = {
    cert: options.tls.cert,
    key: options.tls.key,
    registeredCas: namespace.caCertificates.map((ca) => ca.encodedCertificate),
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    host,
    log,
  };
  // One namespace behind both transports: a session held over one is the same session over the other.
  const accept = (connection: Connection) => {
    adapter.track(connection);
    const client = broker.handle(connection.stream);
    explainDisconnects(client);
    adapter.trackClient(client);
    // L15 over WebSockets: a packet in a message past the listener's bound is refused as aedes refuses one it reads.
    connection.onMessageTooLarge?.(() => packetTooLargeDisconnect(client));
    // Before the packet gate: a PUBLISH the gate answers itself is not held.
    durableAcks?.track(client);
    limits.track(client);
    // Last, so that protocol validation (M1) sees each packet before the packet gate and aedes.
    adapter.screen(client);
  };
  const listeners: Listener[] = [];
  try {
    listeners.push(await startTlsListener({ ...tlsOptions, port: options.port ?? 0 }, accept));
    const wsPort = options.wsPort === undefined ? 0 : options.wsPort;
    if (wsPort !== null) {
      // A packet over the limit is L15's, as over TLS: aedes reads its header and answers DISCONNECT 0x95.
      // ws only bounds what it buffers, past any packet aedes would read: twice the limit.
      const maxMessageBytes = 2 * (behaviour.maximumPacketSize(namespace.reference.limits) ?? 0);
      const upgradeTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
      const requestClientCertificate = options.wsClientCertificates !== 'none';
      listeners.push(await startWsListener({ ...tlsOptions, port: wsPort, maxMessageBytes, upgradeTimeoutMs, requestClientCertificate }, accept));
    }
  } catch (error) {
    await Promise.all(listeners.map((listener) => listener.close()));
    // aedes' own timers would keep the process alive after a port that could not be had.
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await shared?.close();
    throw error;
  }
  const [listener, wsListener] = listeners as [Listener, Listener | undefined];
  const { port } = listener;
  // Every interface includes loopback, and localhost is in the reference's server certificate.
  const clientHost = isWildcardHost(host) ? 'localhost' : host;
  const urlHost = clientHost.includes(':') ? `[${clientHost}]` : clientHost;

  return {
    url: `mqtts://${urlHost}:${port}`,
    host,
    port,
    ...(wsListener ? { wsUrl: `wss://${urlHost}:${wsListener.port}${WEBSOCKET_PATH}`, wsPort: wsListener.port } : {}),
    namespace,
    events,
    sessions,
    ...(shared ? { instance: shared.instance } : {}),
    async updateClient(name, change) {
      const before = namespace.clients.find((client) => client.name === name);
      if (!before) throw new NamespaceConfigError(`the namespace has no client "${name}"`);
      if (clientRegistry) return clientRegistry.change(name, change);
      const after = changedClient(before, change);
      return { client: after, endedConnections: applyClient(after) };
    },
    async stop() {
      adapter.beginStop();
      for (const each of listeners) each.stopAccepting();
      // aedes sends MQTT 5 clients DISCONNECT 0x8B as it closes them; the listeners then end what is left (handshakes, no CONNECT yet).
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await Promise.all(listeners.map((each) => each.close()));
      await adapter.settled();
      await shared?.close();
    },
  };
}
