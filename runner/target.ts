// Where a run goes: the embedded reference broker (started for the run, stopped after it) or a
// remote endpoint described by flags.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ensureReadableFile } from '../common/cli.ts';
import { UserError } from '../common/errors.ts';
import { loadPki } from '../certs/manifest.ts';
import { DEFAULT_PKI_DIR, ensurePki, pkiExpiryWarnings } from '../certs/pki.ts';
import { SUITE_SESSION_LIMIT } from '../certs/namespace.ts';
import { checkTopicRoot, DEFAULT_TOPIC_ROOT } from '../eventgrid/suite-contract.ts';
import { transportOf, TRANSPORTS, type Transport } from '../rules/transports.ts';
import type { TargetParameters } from '../steps/target.ts';
import { embeddedSessionLimit, REFERENCE_MAX_EXPIRY_SECONDS, REFERENCE_SHORT_EXPIRY_SECONDS, SHARED_REFERENCE_MAX_EXPIRY_SECONDS, startEmbeddedBrokers, type BrokerUrls } from './embedded-brokers.ts';

export interface RemoteTargetOptions {
  url: string;
  caFile: string;
  /** Where caFile came from ("--ca", "MMC_CA", "the target file FILE"): errors name it. */
  caOrigin?: string;
  identitiesDir: string;
  sessionLimit?: number;
  maxSessionExpirySeconds?: number;
  alternativeNameSources?: boolean;
  includeSlow?: boolean;
  /** The namespace trusts the PKI set's local token issuer (custom JWT). */
  tokenIssuerTrusted?: boolean;
  pace?: boolean;
  /** A second namespace with ALTERNATIVE_NAME_SOURCES configured, for the A5 scenarios. */
  alternativeNamesUrl?: string;
  /** Rules not to run, with the reason the report shows. */
  skipRules?: Record<string, string>;
  /** The topic root the namespace's permission bindings grant (default mmc). */
  topicRoot?: string;
  /** The clock that judges the PKI's expiry; default now. */
  now?: Date;
  /** Every endpoint of the namespace (its instances), `url` first, when it lists several. */
  instanceUrls?: string[];
}

export interface PreparedTarget {
  parameters: TargetParameters;
  /** The transports a run goes over, in order: the embedded reference serves both, a remote target its URL's. */
  transports: Transport[];
  /**
   * The transport of each run of the scenarios, which go at once: one per transport, or a transport's
   * scenarios in parts (runner/scenario-runs.ts).
   */
  runs: Transport[];
  /** `parameters` for run `run`: the same target, the endpoints of that run over its transport. */
  over(run: number, parameters: TargetParameters): TargetParameters;
  description: string;
  /** For the user before the run: a PKI near or past expiry. */
  warnings: string[];
  stop(): Promise<void>;
}

/** A mutant of the reference (reference/policy/mutants.ts) a run breaks on purpose, and what it breaks. */
export interface BrokenRule {
  id: string;
  breaks: string;
}

/** For each namespace of a run (by its first instance's URL), every instance's URL; undefined for one instance. */
function instancesOf(instances: BrokerUrls[][], run: number): Record<string, string[]> | undefined {
  const over = instances.map((instance) => instance[run]!);
  const [first] = over;
  if (!first || over.length < 2) return undefined;
  const namespaces = Object.keys(first) as (keyof BrokerUrls)[];
  return Object.fromEntries(namespaces.map((key) => [first[key], over.map((urls) => urls[key])]));
}

export async function startEmbeddedTarget(
  options: {
    pkiDir?: string;
    brokenRules?: BrokenRule[];
    concurrency?: number;
    /** The transport of each run of the scenarios (runner/scenario-runs.ts); default one run of each transport. */
    runs?: Transport[];
    /** Every namespace kept in this Redis and served by this many instances (runner/embedded-brokers.ts). */
    redis?: { url: string; instances: number };
    log?: (line: string) => void;
  } = {},
): Promise<PreparedTarget> {
  const pkiDir = resolve(options.pkiDir ?? DEFAULT_PKI_DIR);
  const { warnings } = await ensurePki({ outDir: pkiDir, log: options.log });
  const pki = loadPki(pkiDir);
  const sessionLimit = embeddedSessionLimit(options.concurrency ?? 1);
  const brokenRules = options.brokenRules ?? [];
  const runs = options.runs ?? [...TRANSPORTS];
  const brokers = await startEmbeddedBrokers({ pkiDir, sessionLimit, brokenRules: brokenRules.map(({ id }) => id), runs, ...(options.redis ? { redis: options.redis } : {}) });
  const broken = brokenRules.map(({ id, breaks }) => `${id} (${breaks})`).join(', ');
  const first = brokers.urls[0]!;
  const at = runs.map((_, run) => brokers.instances.map((instance) => instance[run]!.url).join(', ')).join(' and ');
  const expiry = options.redis ? SHARED_REFERENCE_MAX_EXPIRY_SECONDS : REFERENCE_MAX_EXPIRY_SECONDS;
  const shortExpiry = options.redis ? SHARED_REFERENCE_MAX_EXPIRY_SECONDS : REFERENCE_SHORT_EXPIRY_SECONDS;
  const shortExpiryNamespace = (urls: BrokerUrls) => ({
    url: urls.shortExpiryUrl,
    webhookUrl: urls.webhookShortExpiryUrl,
    ...(urls.alternativeNamesShortExpiryUrl ? { alternativeNamesUrl: urls.alternativeNamesShortExpiryUrl } : {}),
    maxSessionExpirySeconds: shortExpiry,
  });
  const shared = options.redis ? ` (${brokers.instances.length} instance${brokers.instances.length > 1 ? 's' : ''} of each namespace, kept in Redis at ${options.redis.url})` : '';
  return {
    description: `embedded reference broker at ${at}${shared}${broken ? ` with rules broken on purpose: ${broken}` : ''}`,
    transports: [...new Set(runs)],
    runs,
    over: (run, parameters) => {
      const urls = brokers.urls[run]!;
      const instances = instancesOf(brokers.instances, run);
      return {
        ...parameters,
        url: urls.url,
        alternativeNamesUrl: urls.alternativeNamesUrl,
        limitNamespace: { url: urls.limitUrl, webhookUrl: urls.webhookLimitUrl, sessionLimit: SUITE_SESSION_LIMIT },
        webhookUrl: urls.webhookUrl,
        clientsUrl: urls.clientsUrl,
        shortExpiryNamespace: shortExpiryNamespace(urls),
        ...(instances ? { instances } : {}),
      };
    },
    // ensurePki has logged them.
    warnings: warnings.filter(() => !options.log),
    parameters: {
      url: first.url,
      caFile: join(pkiDir, pki.manifest.ca.root.certificate),
      caOrigin: 'the PKI root CA',
      identitiesDir: pkiDir,
      sessionLimit,
      sessionLimitKnown: true,
      maxSessionExpirySeconds: expiry,
      maxSessionExpiryDeclared: true,
      unsupportedVersions: {},
      shortSessionExpirySeconds: shortExpiry,
      sessionExpirySeconds: expiry,
      alternativeNameSources: false,
      alternativeNamesUrl: first.alternativeNamesUrl,
      limitNamespace: { url: first.limitUrl, webhookUrl: first.webhookLimitUrl, sessionLimit: SUITE_SESSION_LIMIT },
      webhookUrl: first.webhookUrl,
      clientsUrl: first.clientsUrl,
      shortExpiryNamespace: shortExpiryNamespace(first),
      pace: false,
      resumeTls: true,
      // A timer that fires late on a busy machine, not a lenient broker.
      tokenExpiryMarginMs: 1000,
      // Its expiry is seconds: nothing is slow here.
      includeSlow: true,
      // The set's namespace (certs/namespace.ts) trusts its local issuer.
      tokenIssuerTrusted: true,
      entraStandIn: true,
      skipRules: {},
      topicRoot: DEFAULT_TOPIC_ROOT,
    },
    stop: () => brokers.stop(),
  };
}

/** Whether the text holds at least one PEM certificate that parses. */
function holdsCertificate(text: string): boolean {
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text);
  if (!pem) return false;
  try {
    new X509Certificate(pem[0]);
    return true;
  } catch {
    return false;
  }
}

export function remoteTarget(options: RemoteTargetOptions): PreparedTarget {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new UserError(`--target must be a URL such as mqtts://my-namespace.westeurope-1.ts.eventgrid.azure.net:8883, not "${options.url}"`);
  }
  if (url.protocol !== 'mqtts:' && url.protocol !== 'wss:') {
    throw new UserError(
      `--target must use mqtts:// (MQTT over TLS, port 8883) or wss:// (MQTT over WebSockets, port 443, path /mqtt), as Event Grid serves MQTT; not ${url.protocol}//`,
    );
  }
  if (url.protocol === 'wss:' && (url.pathname === '/' || url.pathname === '')) {
    throw new UserError(`--target ${options.url}: give the WebSocket path too, as in wss://HOST:443/mqtt (Event Grid serves MQTT over WebSockets at /mqtt)`);
  }
  if (options.alternativeNamesUrl && transportOf(options.alternativeNamesUrl) !== transportOf(url.href)) {
    throw new UserError(`the alternative-names target ${options.alternativeNamesUrl} must use the same transport as the target ${url.href}`);
  }
  const caOrigin = options.caOrigin ?? '--ca';
  ensureReadableFile(options.caFile, caOrigin);
  if (!holdsCertificate(readFileSync(options.caFile, 'utf8'))) {
    throw new UserError(`${caOrigin} ${options.caFile} holds no PEM certificate: give the CA (or CA bundle) that signed the target's server certificate`);
  }
  const others = options.instanceUrls?.slice(1) ?? [];
  for (const other of others) {
    if (transportOf(other) !== transportOf(url.href)) throw new UserError(`the target's endpoints must use one transport: ${other} is not ${url.protocol}// as ${url.href} is`);
  }
  // Fails with a clear PkiError when the folder is not a PKI set.
  const pki = loadPki(options.identitiesDir);
  return {
    description: `remote target ${others.length ? `${[url.href, ...others].join(', ')} (${others.length + 1} endpoints of one namespace)` : url.href}`,
    transports: [transportOf(url.href)],
    runs: [transportOf(url.href)],
    over: (_run, parameters) => parameters,
    warnings: pkiExpiryWarnings(options.identitiesDir, pki.manifest, options.now),
    parameters: {
      url: url.href,
      caFile: options.caFile,
      caOrigin,
      identitiesDir: options.identitiesDir,
      sessionLimit: options.sessionLimit ?? 1,
      sessionLimitKnown: options.sessionLimit !== undefined,
      // Assumed until a probe or a declaration says otherwise: Event Grid's default, one hour.
      maxSessionExpirySeconds: options.maxSessionExpirySeconds ?? 3600,
      maxSessionExpiryDeclared: options.maxSessionExpirySeconds !== undefined,
      unsupportedVersions: {},
      // Long enough to hold many sessions and resume them at one attempt a second.
      shortSessionExpirySeconds: 20,
      sessionExpirySeconds: 20,
      alternativeNameSources: options.alternativeNameSources ?? false,
      ...(options.alternativeNamesUrl ? { alternativeNamesUrl: options.alternativeNamesUrl } : {}),
      pace: options.pace ?? true,
      resumeTls: false,
      tokenExpiryMarginMs: 3000,
      includeSlow: options.includeSlow ?? false,
      tokenIssuerTrusted: options.tokenIssuerTrusted ?? false,
      skipRules: options.skipRules ?? {},
      topicRoot: checkTopicRoot(options.topicRoot ?? DEFAULT_TOPIC_ROOT),
      ...(others.length ? { instances: { [url.href]: [url.href, ...others] } } : {}),
    },
    stop: async () => {},
  };
}
