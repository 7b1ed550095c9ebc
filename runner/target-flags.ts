// The flags that name a remote target, shared by `npm run conformance` and `npm run probe`.
import { wholeNumberFlag } from '../common/cli.ts';
import { UserError } from '../common/errors.ts';
import { readTargetFile } from './target-file.ts';
import type { RemoteTargetOptions } from './target.ts';

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
  --target URL             an MQTT endpoint, mqtts://HOST:PORT          (env MMC_TARGET)
  --ca FILE                CA that signed the endpoint's certificate    (env MMC_CA)
  --identities DIR         PKI folder whose identities are registered   (env MMC_IDENTITIES)
  --alternative-names-target URL
                           a second namespace, same CA and identities, that reads names from the
                           DNS name then the subject: for the A5 scenarios
  --session-limit N        the namespace's sessions per authentication name (default: probed)
  --max-session-expiry S   the namespace's maximum session expiry, seconds (default: probed, else 3600)
  --include-slow           also run @slow scenarios (they wait for the maximum expiry)
  --no-pace                do not pace connection attempts (only for a broker you run yourself)
  --topic-root ROOT        first topic level(s) of the suite's topics, as granted by the namespace's
                           permission bindings (default mmc; npm run provision --topic-root)`;

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

function parseCount(text: string | undefined, flag: string): number | undefined {
  return text === undefined ? undefined : wholeNumberFlag(text, flag, 1);
}

/**
 * The remote target the flags name, or undefined when they name none (the embedded reference). A flag
 * wins over the target file, which wins over the MMC_* environment variables.
 */
export function remoteTargetFromFlags(values: TargetFlagValues, env: NodeJS.ProcessEnv = process.env): RemoteTargetOptions | undefined {
  const fromFile = values['target-file'] ? readTargetFile(values['target-file']) : undefined;
  const url = values.target ?? fromFile?.url ?? env.MMC_TARGET;
  if (!url) return undefined;
  const caFile = values.ca ?? fromFile?.caFile ?? env.MMC_CA;
  const identitiesDir = values.identities ?? fromFile?.identitiesDir ?? env.MMC_IDENTITIES;
  if (!caFile || !identitiesDir) throw new UserError('--target needs --ca FILE and --identities DIR too');
  return {
    ...fromFile,
    url,
    caFile,
    identitiesDir,
    sessionLimit: parseCount(values['session-limit'], '--session-limit') ?? fromFile?.sessionLimit,
    maxSessionExpirySeconds: parseCount(values['max-session-expiry'], '--max-session-expiry') ?? fromFile?.maxSessionExpirySeconds,
    alternativeNamesUrl: values['alternative-names-target'] ?? fromFile?.alternativeNamesUrl,
    includeSlow: values['include-slow'] ?? fromFile?.includeSlow,
    pace: values['no-pace'] ? false : fromFile?.pace,
    topicRoot: values['topic-root'] ?? fromFile?.topicRoot,
  };
}
