// mqtt-multisession-conformance token --identity NAME [--expires-in S] [--claim k=v]...: prints a token
// of the set's local issuer (certs/tokens.ts) for an identity of the set, which the reference broker's
// namespace trusts (CONNECT Authentication Method CUSTOM-JWT, the token as Authentication Data). The
// set is made first if there is none, as `certs` makes it.
import { parseArgs } from 'node:util';
import { isEntryPoint, runCommand, wholeNumberFlag, type Command } from '../common/cli.ts';
import { UserError } from '../common/errors.ts';
import { loadPki } from './manifest.ts';
import { DEFAULT_PKI_DIR, ensurePki } from './pki.ts';
import { DEFAULT_TOKEN_LIFETIME_SECONDS, issueToken } from './tokens.ts';

const USAGE = `usage: mqtt-multisession-conformance token --identity NAME [--entra] [--expires-in S] [--claim KEY=VALUE ...] [--pki DIR]
  --identity NAME      an identity of the set (its id in DIR/identities.json): the token's subject (sub) is its
                       authentication name, and its role a claim
  --entra              a token of the reference's Microsoft Entra ID stand-in instead (Authentication Method
                       OAUTH2-JWT): its oid is the identity's authentication name
  --expires-in S       seconds until the token expires (default ${DEFAULT_TOKEN_LIFETIME_SECONDS}; 0 or less: already expired)
  --claim KEY=VALUE    a claim to add or replace (repeatable): a client attribute, or iss, aud, sub, nbf
                       (a number-like value is written as a number)
  --pki DIR            the set whose issuer signs (default: ${DEFAULT_PKI_DIR}/; made if missing)`;

function parseClaim(text: string): [string, unknown] {
  const at = text.indexOf('=');
  if (at < 1) throw new UserError(`--claim must be KEY=VALUE, not "${text}"`);
  const value = text.slice(at + 1);
  return [text.slice(0, at), /^-?\d+$/.test(value) ? Number(value) : value];
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      identity: { type: 'string' },
      entra: { type: 'boolean' },
      'expires-in': { type: 'string' },
      claim: { type: 'string', multiple: true },
      pki: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return console.log(USAGE);
  if (!values.identity) throw new UserError('--identity is required: the identity of the set the token is for');
  const expiresInSeconds = values['expires-in'] === undefined ? undefined : wholeNumberFlag(values['expires-in'], '--expires-in', -365 * 86400, 365 * 86400);
  const claims = Object.fromEntries((values.claim ?? []).map(parseClaim));
  // What the set's making says goes to stderr: stdout is the token alone, for `$(...)`.
  const { dir } = await ensurePki({ outDir: values.pki, log: (line) => console.error(line) });
  console.log(await issueToken(loadPki(dir), { identity: values.identity, expiresInSeconds, claims, method: values.entra ? 'OAUTH2-JWT' : 'CUSTOM-JWT' }));
}

export const command: Command = { usage: USAGE, main };

if (isEntryPoint(import.meta.url)) await runCommand(command, process.argv.slice(2));
