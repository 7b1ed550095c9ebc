// The embedded reference brokers of a run, in a worker thread of their own: the scenarios' clients
// (TLS, mqtt.js, cucumber) keep this thread busy, and the brokers' half of every handshake and
// packet then runs on another core. The same module is the thread's entry: see the end.
import { once } from 'node:events';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { threadEntry } from '../common/thread-entry.ts';
import { loadPki, serverTlsFromPki, type LoadedPki } from '../certs/manifest.ts';
import { namespaceFromPki, SUITE_SESSION_LIMIT } from '../certs/namespace.ts';
import type { AuthenticationNameSource } from '../eventgrid/authentication.ts';
import type { NamespaceConfig } from '../eventgrid/namespace.ts';
import type { Transport } from '../rules/transports.ts';

/**
 * The embedded namespaces keep sessions for at most 4 s: long enough for a scenario to resume one on a
 * busy machine (L8 queues a hundred messages first), short enough that nothing waits long.
 */
export const REFERENCE_MAX_EXPIRY_SECONDS = 4;
/**
 * The scenarios that wait for an expiry run on a namespace that keeps sessions 2 s (MQTT 3.1.1's end
 * at the namespace's maximum), and their MQTT 5 sessions ask for 2 s.
 */
export const REFERENCE_SHORT_EXPIRY_SECONDS = 2;
/**
 * With the namespaces in Redis and served by several instances, a CONNECT costs Redis round trips and
 * each instance shares the two cores: the scenarios that act just before an expiry, or resume a
 * session after an intruder's tries, need more (S5, S7 failed on a loaded machine with 2 s): every
 * session asks for this, and the namespaces allow it.
 */
export const SHARED_REFERENCE_MAX_EXPIRY_SECONDS = 5;
/** What the A5 scenarios expect of the second namespace: DNS names first, then the subject. */
export const ALTERNATIVE_NAME_SOURCES: AuthenticationNameSource[] = ['ClientCertificateDns', 'ClientCertificateSubject'];

/**
 * The session limit of the embedded main namespaces when `concurrency` scenarios run at once: two
 * sessions of an identity for each (a scenario holds at most a session and a refusal's control at
 * once: steps/scheduling.ts), one more for the one scenario that holds three (M3's shared group),
 * and never less than the suite needs. S9 fills the limit namespace's.
 */
export function embeddedSessionLimit(concurrency: number): number {
  return Math.max(SUITE_SESSION_LIMIT, 2 * concurrency + 1);
}

/**
 * The namespaces of an embedded run. S3 and A5 need two that differ: with no Username, one takes the
 * ClientID as the name, the other reads it from certificate fields. The third is the main one with
 * the suite's least session limit, for the scenarios that fill it (S9): filling the main namespace's
 * limit of two per lane took 123 of a run's 540 connections. The fourth is the main one with a short
 * maximum expiry, for the scenarios that wait for one, and the fifth the second's twin with it (the
 * MQTT 3.1.1 sessions of the second's expiry scenarios last its maximum: 4 s, the run's longest).
 */
export function referenceNamespaces(
  pki: LoadedPki,
  sessionLimit = SUITE_SESSION_LIMIT,
  expiry: { maximum: number; short: number } = { maximum: REFERENCE_MAX_EXPIRY_SECONDS, short: REFERENCE_SHORT_EXPIRY_SECONDS },
): { main: NamespaceConfig; alternativeNames: NamespaceConfig; limit: NamespaceConfig; shortExpiry: NamespaceConfig; alternativeNamesShortExpiry: NamespaceConfig } {
  const namespace = (alternativeAuthenticationNameSources: AuthenticationNameSource[], limit = sessionLimit, maximumSessionExpiryInSeconds = expiry.maximum) =>
    namespaceFromPki(pki, {
      maximumClientSessionsPerAuthenticationName: limit,
      alternativeAuthenticationNameSources,
      reference: { maximumSessionExpiryInSeconds },
    });
  return {
    main: namespace([]),
    alternativeNames: namespace(ALTERNATIVE_NAME_SOURCES),
    limit: namespace([], SUITE_SESSION_LIMIT),
    shortExpiry: namespace([], sessionLimit, expiry.short),
    alternativeNamesShortExpiry: namespace(ALTERNATIVE_NAME_SOURCES, sessionLimit, expiry.short),
  };
}

export interface EmbeddedBrokerOptions {
  pkiDir: string;
  sessionLimit: number;
  /** Mutant ids (reference/policy/mutants.ts) the brokers break on purpose. */
  brokenRules: string[];
  /**
   * Each namespace kept in this Redis (redis://HOST:PORT[/DB]) and served by `instances` instances, each
   * in a thread of its own: the seven namespaces of each run take the next seven databases from DB
   * on (aedes-persistence-redis names its keys without a prefix, so a namespace is a database:
   * docs/scaling.md). Default: one instance of each, in memory.
   */
  redis?: { url: string; instances: number };
  /**
   * The transport of each run of the scenarios, which the brokers serve at once: each run gets
   * namespaces of its own (see EmbeddedBrokers.urls), and a transport may have several.
   */
  runs: Transport[];
}

/** What one thread serves: the options, and the Redis database each namespace is kept in when shared. */
interface ThreadOptions extends EmbeddedBrokerOptions {
  redisUrls?: string[];
}

export interface BrokerUrls {
  url: string;
  /** The namespace with ALTERNATIVE_NAME_SOURCES, for the A5 scenarios. */
  alternativeNamesUrl: string;
  /** The namespace whose session limit is SUITE_SESSION_LIMIT, for the S9 scenarios. */
  limitUrl: string;
  /** The main namespace authenticating by the suite's test webhook, for the @webhook scenarios. */
  webhookUrl: string;
  /** The main namespace keeping sessions REFERENCE_SHORT_EXPIRY_SECONDS, for the scenarios that wait for an expiry. */
  shortExpiryUrl: string;
  /** The short-expiry namespace authenticating by the test webhook, for the webhook's scenarios that wait for an expiry. */
  webhookShortExpiryUrl: string;
  /** The limit namespace authenticating by the test webhook, for the webhook's S9 scenarios. */
  webhookLimitUrl: string;
  /** The alternative-names namespace keeping sessions REFERENCE_SHORT_EXPIRY_SECONDS; none with Redis, whose namespaces all keep them alike. */
  alternativeNamesShortExpiryUrl?: string;
  /** The main namespace's management API for its clients (reference/management-api.ts), for the A7 and P5 scenarios. */
  clientsUrl: string;
}

/**
 * How long the webhook namespace waits for the test webhook: a W3 scenario waits this long. Under a
 * loaded machine's run (hundreds of CONNECTs at once, the webhook in the same process) an answer took
 * over a second, and a CONNECT the webhook allowed was refused as if it had not answered.
 */
const WEBHOOK_TIMEOUT_MS = 3000;

export interface EmbeddedBrokers {
  /**
   * The URLs of each run's brokers, over its transport. Every broker serves MQTT over TLS and over
   * WebSockets, but each run's scenarios go to namespaces of their own: the runs overlap, and two runs
   * of one scenario would otherwise meet on its bare session names (S3) and identities' limits (S9),
   * and two parts of one transport's scenarios on the limit S9 fills and the clients A7 changes.
   */
  urls: BrokerUrls[];
  /** With `redis`: every instance's URLs, the first being `urls`. */
  instances: BrokerUrls[][];
  stop(): Promise<void>;
}

/** The namespaces of each run kept in Redis, each in a database of its own, in the order serve() starts them (in memory, an eighth follows them). */
const NAMESPACE_COUNT = 7;

/** redis://HOST:PORT[/DB] with the database moved on by `offset`. */
export function redisDatabaseUrl(url: string, offset: number): string {
  const parsed = new URL(url);
  const base = Number(parsed.pathname.slice(1) || '0');
  parsed.pathname = `/${base + offset}`;
  return parsed.href;
}

type FromThread = { started: BrokerUrls[] } | { stopped: true };
const THREAD_KIND = 'mmc-embedded-brokers';

/** One thread of brokers: one instance of each namespace. */
async function startThread(options: ThreadOptions): Promise<{ urls: BrokerUrls[]; stop(): Promise<void> }> {
  const thread = new Worker(threadEntry('./embedded-brokers', import.meta.url), { workerData: { kind: THREAD_KIND, options } });
  const [message] = (await Promise.race([once(thread, 'message'), once(thread, 'error').then(([error]) => Promise.reject(error as Error))])) as [FromThread];
  if (!('started' in message)) throw new Error('the embedded brokers thread answered before it started');
  // A broker that fails mid-run fails the scenarios that follow; the run still ends with its reports.
  thread.on('error', (error) => console.error(`error: the embedded reference broker stopped: ${error.message}`));
  return {
    urls: message.started,
    async stop() {
      thread.postMessage('stop');
      await Promise.race([once(thread, 'message'), once(thread, 'exit')]);
      // Whatever the brokers left pending, the thread ends here.
      await thread.terminate();
    },
  };
}

export async function startEmbeddedBrokers(options: EmbeddedBrokerOptions): Promise<EmbeddedBrokers> {
  const { redis } = options;
  const redisUrls = redis ? Array.from({ length: NAMESPACE_COUNT * options.runs.length }, (_, index) => redisDatabaseUrl(redis.url, index)) : undefined;
  // Instances of one namespace are threads of their own, as separate as processes but for the memory
  // they cannot share anyway: each has its aedes, its session store client and its fan-out.
  const started = await Promise.allSettled(Array.from({ length: redis?.instances ?? 1 }, () => startThread({ ...options, ...(redisUrls ? { redisUrls } : {}) })));
  const threads = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    await Promise.all(threads.map((thread) => thread.stop()));
    throw failed.reason;
  }
  return {
    urls: threads[0]!.urls,
    instances: threads.map((thread) => thread.urls),
    async stop() {
      await Promise.all(threads.map((thread) => thread.stop()));
    },
  };
}

async function serve(options: ThreadOptions): Promise<void> {
  // Loaded here, in the thread only: the thread that starts it never needs the broker's modules.
  const [{ startReferenceBroker }, { mutatedBehaviour }, { startWebhookService, withWebhook }, { startManagementApi }] = await Promise.all([
    import('../reference/broker.ts'),
    import('../reference/policy/mutants.ts'),
    import('../reference/webhook-service.ts'),
    import('../reference/management-api.ts'),
  ]);
  const pki = loadPki(options.pkiDir);
  // With Redis, the scenarios that wait for an expiry get no shorter one: see SHARED_REFERENCE_MAX_EXPIRY_SECONDS.
  const shared = { maximum: SHARED_REFERENCE_MAX_EXPIRY_SECONDS, short: SHARED_REFERENCE_MAX_EXPIRY_SECONDS };
  const namespaces = referenceNamespaces(pki, options.sessionLimit, options.redisUrls ? shared : undefined);
  const behaviour = mutatedBehaviour(options.brokenRules);
  // With Redis, each run's namespaces take the next NAMESPACE_COUNT databases.
  const start = (namespace: NamespaceConfig, index: number) =>
    startReferenceBroker({ namespace, tls: serverTlsFromPki(pki), behaviour, ...(options.redisUrls ? { redis: { url: options.redisUrls[index]! } } : {}) });
  // The test webhook allows a client with the attributes the main namespace registers for its name.
  const { main } = namespaces;
  const webhook = await startWebhookService({ attributesOf: (name) => main.clients.find((client) => client.authenticationName.toLowerCase() === name.toLowerCase())?.attributes });
  const byWebhook = (namespace: NamespaceConfig) => withWebhook({ ...namespace, reference: { ...namespace.reference, webhookTimeoutMs: WEBHOOK_TIMEOUT_MS } }, webhook.url);
  // In the order BrokerUrls reads them: NAMESPACE_COUNT of them, and in memory the short-expiry
  // twin of the alternative names' (with Redis every namespace keeps sessions alike).
  const namespacesOfEach = [main, namespaces.alternativeNames, namespaces.limit, byWebhook(main), namespaces.shortExpiry, byWebhook(namespaces.limit), byWebhook(namespaces.shortExpiry)];
  if (!options.redisUrls) namespacesOfEach.push(namespaces.alternativeNamesShortExpiry);
  const sets = await Promise.all(
    options.runs.map(async (transport, set) => {
      const brokers = await Promise.all(namespacesOfEach.map((namespace, index) => start(namespace, set * NAMESPACE_COUNT + index)));
      // Each run's main namespace has its clients' management API (A7, P5): its changes are its own.
      return { transport, brokers, management: await startManagementApi(brokers[0]!) };
    }),
  );
  const port = parentPort!;
  port.once('message', async () => {
    await Promise.all(sets.map(({ management }) => management.stop()));
    await Promise.all(sets.flatMap(({ brokers }) => brokers.map((broker) => broker.stop())));
    await webhook.stop();
    port.postMessage({ stopped: true } satisfies FromThread);
  });
  const started = sets.map(({ transport, brokers, management }): BrokerUrls => {
    const [url, alternativeNamesUrl, limitUrl, webhookUrl, shortExpiryUrl, webhookLimitUrl, webhookShortExpiryUrl, alternativeNamesShortExpiryUrl] = brokers.map((broker) => (transport === 'wss' ? broker.wsUrl! : broker.url)) as [string, string, string, string, string, string, string, string?];
    return {
      url,
      alternativeNamesUrl,
      limitUrl,
      webhookUrl,
      shortExpiryUrl,
      webhookLimitUrl,
      webhookShortExpiryUrl,
      ...(alternativeNamesShortExpiryUrl ? { alternativeNamesShortExpiryUrl } : {}),
      clientsUrl: management.clientsUrl,
    };
  });
  port.postMessage({ started } satisfies FromThread);
}

if (!isMainThread && (workerData as { kind?: string } | null)?.kind === THREAD_KIND) await serve((workerData as { options: ThreadOptions }).options);
