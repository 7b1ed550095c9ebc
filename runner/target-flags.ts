// The flags that name a remote target, shared by `npm run conformance` and `npm run probe`.
import { wholeNumberFlag } from '../common/cli.ts';
import { SESSIONS_PER_NAME_RANGE } from '../eventgrid/namespace.ts';
import { DEFAULT_TOPIC_ROOT } from '../eventgrid/suite-contract.ts';
import { MQTT_VERSIONS, type MqttVersion } from '../rules/catalogue.ts';
import { UserError } from '../common/errors.ts';
import { readTargetFile } from './target-file.ts';
import type { RemoteTargetOptions } from './target.ts';
import { toolCommand } from '../common/package.ts';

export const TARGET_FLAGS = {
  'target-file': { type: 'string' },
  target: { type: 'string' },
  ca: { type: 'string' },
  identities: { type: 'string' },
  'alternative-names-target': { type: 'string' },
  'session-limit': { type: 'string' },
  'max-session-expiry': { type: 'string' },
  'include-slow': { type: 'boolean' },
  'no-pace': { type: 'boolean' },
  'topic-root': { type: 'string' },
} as const;

export const TARGET_USAGE = `  --target-file FILE       a target file (JSON) naming all of the below
  --target URL             an MQTT endpoint, mqtts://HOST:8883 or wss://HOST:443/mqtt (env MMC_TARGET)
  --ca FILE                CA that signed the endpoint's certificate    (env MMC_CA)
  --identities DIR         PKI folder whose identities are registered   (env MMC_IDENTITIES)
  --alternative-names-target URL
                           a second namespace, same CA and identities, that reads names from the
                           DNS name then the subject: for the A5 scenarios
  --session-limit N        the namespace's sessions per authentication name, 1 to 100 (default: probed,
                           else Event Grid's maximum, 100)
  --max-session-expiry S   the namespace's maximum session expiry, seconds: L1 then expects exactly it
                           (default: L1 expects Event Grid's 1 to 8 hours; the 3.1.1 wait uses
                           what the CONNACK reports, else 3600)
  --include-slow           also run @slow scenarios (they wait for the maximum expiry)
  --no-pace                do not pace connection attempts (only for a broker you run yourself)
  --topic-root ROOT        first topic level(s) of the suite's topics, as granted by the namespace's
                           permission bindings (default ${DEFAULT_TOPIC_ROOT}; ${toolCommand('provision', '--topic-root')})`;

/** --mqtt, shared by the run and the probe: which versions to test, in the order the probe tries them. */
export const MQTT_FLAG = { mqtt: { type: 'string', default: 'both' } } as const;
export const MQTT_USAGE = '  --mqtt 3.1.1|5|both      only these MQTT versions (default both)';

export function parseMqttFlag(text: string): readonly MqttVersion[] {
  if (text === 'both') return MQTT_VERSIONS;
  if (text === '3.1.1' || text === '5') return [text];
  throw new UserError(`--mqtt takes 3.1.1, 5 or both, not "${text}"`);
}

export interface TargetFlagValues {
  'target-file'?: string;
  target?: string;
  ca?: string;
  identities?: string;
  'alternative-names-target'?: string;
  'session-limit'?: string;
  'max-session-expiry'?: string;
  'include-slow'?: boolean;
  'no-pace'?: boolean;
  'topic-root'?: string;
}

function optionalNumber(text: string | undefined, flag: string, min: number, max?: number): number | undefined {
  return text === undefined ? undefined : wholeNumberFlag(text, flag, min, max);
}

/** Flags that describe a remote target only: given with no target, they show that one was expected. */
export const REMOTE_ONLY_FLAGS = ['ca', 'alternative-names-target', 'session-limit', 'max-session-expiry', 'include-slow', 'no-pace'] as const;

function checkNoRemoteOnlyFlags(values: TargetFlagValues, env: NodeJS.ProcessEnv): void {
  const given = REMOTE_ONLY_FLAGS.filter((flag) => values[flag] !== undefined).map((flag) => `--${flag}`);
  if (given.length) {
    throw new UserError(`${given.join(', ')} ${given.length > 1 ? 'describe' : 'describes'} a remote target, but no target was given: add --target URL or --target-file FILE (or set MMC_TARGET)`);
  }
  const variables = (['MMC_CA', 'MMC_IDENTITIES'] as const).filter((name) => env[name] !== undefined);
  if (variables.length) {
    throw new UserError(`${variables.join(' and ')} ${variables.length > 1 ? 'are' : 'is'} set but MMC_TARGET is not: set MMC_TARGET to the mqtts:// or wss:// URL of the target, or unset ${variables.join(' and ')} to test the embedded reference`);
  }
}

/**
 * The remote target the flags name, or undefined when they name none (the embedded reference). A flag
 * wins over the target file, which wins over the MMC_* environment variables.
 */
export function remoteTargetFromFlags(values: TargetFlagValues, env: NodeJS.ProcessEnv = process.env): RemoteTargetOptions | undefined {
  // A flag or variable given but empty is a target expected and missing (a CI secret that is not set
  // expands to ""): never fall back to the embedded reference then.
  if (values['target-file'] === '') throw new UserError('--target-file is empty: name the target file');
  if (values.target === '') throw new UserError('--target is empty: give the mqtts:// or wss:// URL of the target');
  const fromFile = values['target-file'] ? readTargetFile(values['target-file']) : undefined;
  if (values.target === undefined && !fromFile && env.MMC_TARGET !== undefined && env.MMC_TARGET.trim() === '') {
    throw new UserError('MMC_TARGET is set but empty (a missing CI secret?): give the mqtts:// or wss:// URL of the target, or unset MMC_TARGET to test the embedded reference');
  }
  if (values.target === undefined && !fromFile && /^\$\(.*\)$/.test(env.MMC_TARGET ?? '')) {
    throw new UserError(`MMC_TARGET is the literal text ${env.MMC_TARGET}: the pipeline variable is not defined; define it (as a secret) with the mqtts:// or wss:// URL of the target`);
  }
  const url = values.target ?? fromFile?.url ?? env.MMC_TARGET;
  if (!url) {
    checkNoRemoteOnlyFlags(values, env);
    return undefined;
  }
  const caFile = values.ca ?? fromFile?.caFile ?? env.MMC_CA;
  const caOrigin = values.ca !== undefined ? '--ca' : fromFile?.caFile !== undefined ? `the "ca" of target file ${values['target-file']}` : 'MMC_CA';
  const identitiesDir = values.identities ?? fromFile?.identitiesDir ?? env.MMC_IDENTITIES;
  if (!caFile || !identitiesDir) throw new UserError('--target needs --ca FILE and --identities DIR too');
  // --target names one endpoint: the file's list of endpoints gives way to it.
  const { instanceUrls, ...fileOptions } = fromFile ?? {};
  return {
    ...fileOptions,
    ...(instanceUrls && values.target === undefined ? { instanceUrls } : {}),
    url,
    caFile,
    caOrigin,
    identitiesDir,
    sessionLimit: optionalNumber(values['session-limit'], '--session-limit', SESSIONS_PER_NAME_RANGE.min, SESSIONS_PER_NAME_RANGE.max) ?? fromFile?.sessionLimit,
    maxSessionExpirySeconds: optionalNumber(values['max-session-expiry'], '--max-session-expiry', 1) ?? fromFile?.maxSessionExpirySeconds,
    alternativeNamesUrl: values['alternative-names-target'] ?? fromFile?.alternativeNamesUrl,
    includeSlow: values['include-slow'] ?? fromFile?.includeSlow,
    pace: values['no-pace'] ? false : fromFile?.pace,
    topicRoot: values['topic-root'] ?? fromFile?.topicRoot,
  };
}
