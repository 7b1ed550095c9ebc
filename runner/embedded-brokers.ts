// The embedded reference brokers of a run, in a worker thread of their own: the scenarios' clients
// (TLS, mqtt.js, cucumber) keep this thread busy, and the brokers' half of every handshake and
// packet then runs on another core. The same module is the thread's entry: see the end.
import { once } from 'node:events';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { MODULE_EXTENSION } from '../common/package.ts';
import { loadPki, serverTlsFromPki, type LoadedPki } from '../certs/manifest.ts';
import { namespaceFromPki, SUITE_SESSION_LIMIT } from '../certs/namespace.ts';
import type { AuthenticationNameSource } from '../eventgrid/authentication.ts';
import type { NamespaceConfig } from '../eventgrid/namespace.ts';
import type { Transport } from '../rules/transports.ts';

/**
 * The embedded reference keeps sessions for at most 4 s: long enough for a scenario to resume one on
 * a busy machine (L8 queues a hundred messages first), short enough that the MQTT 3.1.1 scenarios
 * waiting for an expiry, which only the namespace's maximum ends, take seconds.
 */
export const REFERENCE_MAX_EXPIRY_SECONDS = 4;
/** What the MQTT 5 scenarios that wait for an expiry ask of the embedded reference. */
export const REFERENCE_SHORT_EXPIRY_SECONDS = 2;
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
 * limit of two per lane took 123 of a run's 540 connections.
 */
export function referenceNamespaces(
  pki: LoadedPki,
  sessionLimit = SUITE_SESSION_LIMIT,
): { main: NamespaceConfig; alternativeNames: NamespaceConfig; limit: NamespaceConfig } {
  const namespace = (alternativeAuthenticationNameSources: AuthenticationNameSource[], limit = sessionLimit) =>
    namespaceFromPki(pki, {
      maximumClientSessionsPerAuthenticationName: limit,
      alternativeAuthenticationNameSources,
      reference: { maximumSessionExpiryInSeconds: REFERENCE_MAX_EXPIRY_SECONDS },
    });
  return { main: namespace([]), alternativeNames: namespace(ALTERNATIVE_NAME_SOURCES), limit: namespace([], SUITE_SESSION_LIMIT) };
}

export interface EmbeddedBrokerOptions {
  pkiDir: string;
  sessionLimit: number;
  /** Mutant ids (reference/policy/mutants.ts) the brokers break on purpose. */
  brokenRules: string[];
  /** The transports the run goes over: each gets namespaces of its own (see EmbeddedBrokers.urls). */
  transports: Transport[];
}

interface BrokerUrls {
  url: string;
  /** The namespace with ALTERNATIVE_NAME_SOURCES, for the A5 scenarios. */
  alternativeNamesUrl: string;
  /** The namespace whose session limit is SUITE_SESSION_LIMIT, for the S9 scenarios. */
  limitUrl: string;
  /** The main namespace authenticating by the suite's test webhook, for the @webhook scenarios. */
  webhookUrl: string;
}

/** How long the webhook namespace waits for the test webhook: a W3 scenario waits this long. */
const WEBHOOK_TIMEOUT_MS = 1000;

export interface EmbeddedBrokers {
  /**
   * The URLs of each transport's brokers. Every broker serves MQTT over TLS and over WebSockets, but
   * each transport's scenarios run on namespaces of their own: the transports' runs overlap, and two
   * runs of one scenario would otherwise meet on its bare session names (S3) and identities' limits (S9).
   */
  urls: Partial<Record<Transport, BrokerUrls>>;
  stop(): Promise<void>;
}

type FromThread = { started: Partial<Record<Transport, BrokerUrls>> } | { stopped: true };
const THREAD_KIND = 'mmc-embedded-brokers';

/**
 * The thread's entry: this module, compiled; under tsx, a module that registers tsx first (Node 20
 * carries no --import into worker threads) and then imports this one.
 */
function threadEntry(): URL {
  const self = new URL(`./embedded-brokers${MODULE_EXTENSION}`, import.meta.url);
  if (MODULE_EXTENSION === '.js') return self;
  const source = `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register(); await import(${JSON.stringify(self.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(source)}`);
}

export async function startEmbeddedBrokers(options: EmbeddedBrokerOptions): Promise<EmbeddedBrokers> {
  const thread = new Worker(threadEntry(), { workerData: { kind: THREAD_KIND, options } });
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

async function serve(options: EmbeddedBrokerOptions): Promise<void> {
  // Loaded here, in the thread only: the thread that starts it never needs the broker's modules.
  const [{ startReferenceBroker }, { mutatedBehaviour }, { startWebhookService, withWebhook }] = await Promise.all([
    import('../reference/broker.ts'),
    import('../reference/policy/mutants.ts'),
    import('../reference/webhook-service.ts'),
  ]);
  const pki = loadPki(options.pkiDir);
  const namespaces = referenceNamespaces(pki, options.sessionLimit);
  const behaviour = mutatedBehaviour(options.brokenRules);
  const start = (namespace: NamespaceConfig) => startReferenceBroker({ namespace, tls: serverTlsFromPki(pki), behaviour });
  // The test webhook allows a client with the attributes the main namespace registers for its name.
  const { main } = namespaces;
  const webhook = await startWebhookService({ attributesOf: (name) => main.clients.find((client) => client.authenticationName.toLowerCase() === name.toLowerCase())?.attributes });
  const webhookNamespace = withWebhook({ ...main, reference: { ...main.reference, webhookTimeoutMs: WEBHOOK_TIMEOUT_MS } }, webhook.url);
  const namespacesOfEach = [main, namespaces.alternativeNames, namespaces.limit, webhookNamespace];
  const sets = await Promise.all(options.transports.map((transport) => Promise.all(namespacesOfEach.map(start)).then((brokers) => ({ transport, brokers }))));
  const port = parentPort!;
  port.once('message', async () => {
    await Promise.all(sets.flatMap(({ brokers }) => brokers.map((broker) => broker.stop())));
    await webhook.stop();
    port.postMessage({ stopped: true } satisfies FromThread);
  });
  const started: Partial<Record<Transport, BrokerUrls>> = {};
  for (const { transport, brokers } of sets) {
    const [url, alternativeNamesUrl, limitUrl, webhookUrl] = brokers.map((broker) => (transport === 'wss' ? broker.wsUrl! : broker.url)) as [string, string, string, string];
    started[transport] = { url, alternativeNamesUrl, limitUrl, webhookUrl };
  }
  port.postMessage({ started } satisfies FromThread);
}

if (!isMainThread && (workerData as { kind?: string } | null)?.kind === THREAD_KIND) await serve((workerData as { options: EmbeddedBrokerOptions }).options);
