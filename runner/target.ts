// Where a run goes: the embedded reference broker (started for the run, stopped after it) or a
// remote endpoint described by flags.
import { join, resolve } from 'node:path';
import { ensureReadableFile } from '../common/cli.ts';
import { UserError } from '../common/errors.ts';
import { loadPki, type LoadedPki } from '../certs/manifest.ts';
import { DEFAULT_PKI_DIR, ensurePki } from '../certs/pki.ts';
import type { RuleId } from '../rules/catalogue.ts';
import { serverTlsFromPki, startReferenceBroker } from '../reference/broker.ts';
import { checkTopicRoot, DEFAULT_TOPIC_ROOT, namespaceFromPki, SUITE_SESSION_LIMIT } from '../certs/namespace.ts';
import type { AuthenticationNameSource } from '../eventgrid/authentication.ts';
import type { NamespaceConfig } from '../eventgrid/namespace.ts';
import type { TargetParameters } from '../steps/target.ts';

/**
 * The embedded reference keeps sessions for 2 s: long enough for a scenario to resume one on a busy
 * machine, short enough that scenarios waiting for expiry take seconds.
 */
const REFERENCE_MAX_EXPIRY_SECONDS = 2;
/** What the A5 scenarios expect of the second namespace: DNS names first, then the subject. */
export const ALTERNATIVE_NAME_SOURCES: AuthenticationNameSource[] = ['ClientCertificateDns', 'ClientCertificateSubject'];

/**
 * The namespaces of an embedded run. S3 and A5 need two that differ: with no Username, one takes the
 * ClientID as the name, the other reads it from certificate fields.
 */
export function referenceNamespaces(pki: LoadedPki): { main: NamespaceConfig; alternativeNames: NamespaceConfig } {
  const namespace = (alternativeAuthenticationNameSources: AuthenticationNameSource[]) =>
    namespaceFromPki(pki, {
      maximumClientSessionsPerAuthenticationName: SUITE_SESSION_LIMIT,
      alternativeAuthenticationNameSources,
      reference: { maximumSessionExpiryInSeconds: REFERENCE_MAX_EXPIRY_SECONDS },
    });
  return { main: namespace([]), alternativeNames: namespace(ALTERNATIVE_NAME_SOURCES) };
}

export interface RemoteTargetOptions {
  url: string;
  caFile: string;
  identitiesDir: string;
  sessionLimit?: number;
  maxSessionExpirySeconds?: number;
  alternativeNameSources?: boolean;
  includeSlow?: boolean;
  pace?: boolean;
  /** A second namespace with ALTERNATIVE_NAME_SOURCES configured, for the A5 scenarios. */
  alternativeNamesUrl?: string;
  /** Rules not to run, with the reason the report shows. */
  skipRules?: Record<string, string>;
  /** The topic root the namespace's permission bindings grant (default mmc). */
  topicRoot?: string;
}

export interface PreparedTarget {
  parameters: TargetParameters;
  description: string;
  stop(): Promise<void>;
}

export async function startEmbeddedTarget(
  options: { pkiDir?: string; brokenRules?: RuleId[]; log?: (line: string) => void } = {},
): Promise<PreparedTarget> {
  const pkiDir = resolve(options.pkiDir ?? DEFAULT_PKI_DIR);
  await ensurePki({ outDir: pkiDir, log: options.log });
  const pki = loadPki(pkiDir);
  const namespaces = referenceNamespaces(pki);
  const start = (namespace: NamespaceConfig) =>
    startReferenceBroker({ namespace, tls: serverTlsFromPki(pki), brokenRules: options.brokenRules });
  const broker = await start(namespaces.main);
  const alternativeNames = await start(namespaces.alternativeNames);
  const broken = options.brokenRules?.length ? ` with rules broken on purpose: ${options.brokenRules.join(', ')}` : '';
  return {
    description: `embedded reference broker at ${broker.url}${broken}`,
    parameters: {
      url: broker.url,
      caFile: join(pkiDir, pki.manifest.ca.root.certificate),
      identitiesDir: pkiDir,
      sessionLimit: SUITE_SESSION_LIMIT,
      sessionLimitKnown: true,
      maxSessionExpirySeconds: REFERENCE_MAX_EXPIRY_SECONDS,
      shortSessionExpirySeconds: REFERENCE_MAX_EXPIRY_SECONDS,
      alternativeNameSources: false,
      alternativeNamesUrl: alternativeNames.url,
      pace: false,
      // Its expiry is seconds: nothing is slow here.
      includeSlow: true,
      skipRules: {},
      topicRoot: DEFAULT_TOPIC_ROOT,
    },
    stop: async () => {
      await Promise.all([broker.stop(), alternativeNames.stop()]);
    },
  };
}

export function remoteTarget(options: RemoteTargetOptions): PreparedTarget {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new UserError(`--target must be a URL such as mqtts://my-namespace.westeurope-1.ts.eventgrid.azure.net:8883, not "${options.url}"`);
  }
  if (url.protocol !== 'mqtts:') throw new UserError(`--target must use mqtts:// (Event Grid accepts MQTT over TLS only), not ${url.protocol}//`);
  ensureReadableFile(options.caFile, '--ca');
  // Fails with a clear PkiError when the folder is not a PKI set.
  loadPki(options.identitiesDir);
  return {
    description: `remote target ${url.href}`,
    parameters: {
      url: url.href,
      caFile: options.caFile,
      identitiesDir: options.identitiesDir,
      sessionLimit: options.sessionLimit ?? 1,
      sessionLimitKnown: options.sessionLimit !== undefined,
      maxSessionExpirySeconds: options.maxSessionExpirySeconds ?? 3600,
      // Long enough to hold many sessions and resume them at one attempt a second.
      shortSessionExpirySeconds: 20,
      alternativeNameSources: options.alternativeNameSources ?? false,
      ...(options.alternativeNamesUrl ? { alternativeNamesUrl: options.alternativeNamesUrl } : {}),
      pace: options.pace ?? true,
      includeSlow: options.includeSlow ?? false,
      skipRules: options.skipRules ?? {},
      topicRoot: checkTopicRoot(options.topicRoot ?? DEFAULT_TOPIC_ROOT),
    },
    stop: async () => {},
  };
}
