// CONNECT checks on the names themselves, before anything is looked up by them (L5-L7): a session name
// and an authentication name are 1 to 128 UTF-8 characters, and must be well-formed UTF-8 without
// U+0000. They read the names as sent (presented.ts; the aedes adapter reads them), never mqtt-packet's lossy decoding,
// so no two different ClientIDs can land on one session. NAME_CHECKS come first in CONNECT_CHECKS:
// after them, the decoded ClientID and Username are exactly what was sent.
import { LIMITS } from '../../rules/limits.ts';
import type { ConnectContext, Mutant } from './behaviour.ts';
import { withoutCheck, type Check } from './check.ts';
import { refuse } from './refusal.ts';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

type Decoded = { ok: true; text: string } | { ok: false; why: string };

/** Decodes without loss: ill-formed UTF-8 (incl. encoded surrogates) and U+0000 are reported, not replaced. */
export function decodeName(bytes: Buffer): Decoded {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return { ok: false, why: 'is not well-formed UTF-8' };
  }
  if (text.includes('\u0000')) return { ok: false, why: 'contains the null character U+0000' };
  return { ok: true, text };
}

/** Characters as Event Grid counts them [inferred: Unicode code points, not bytes or UTF-16 units]. */
export function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

function show(bytes: Buffer): string {
  return bytes.length > 40 ? `${bytes.subarray(0, 40).toString('hex')}… (${bytes.length} bytes)` : bytes.toString('hex');
}

const MAXIMUM = LIMITS.nameCharacters.value;

/** The ClientID and Username as sent: the bytes read from the wire, else the decoded strings' UTF-8. */
function namesAsSent({ request }: ConnectContext): { clientId: Buffer; username?: Buffer } {
  if (request.sentNames) return request.sentNames;
  return { clientId: Buffer.from(request.clientId), ...(request.username === undefined ? {} : { username: Buffer.from(request.username) }) };
}

/** A name's length in characters, or 0 when it is not well-formed (the L7 check refuses those). */
function lengthOf(bytes: Buffer | undefined): number {
  const decoded = bytes && decodeName(bytes);
  return decoded?.ok ? characterCount(decoded.text) : 0;
}

const NAMES_WELL_FORMED: Check<ConnectContext> = {
  name: 'names are well-formed UTF-8 without U+0000',
  rule: 'L7',
  run(context) {
    const { clientId, username } = namesAsSent(context);
    const id = decodeName(clientId);
    if (!id.ok) return refuse('L7', `the ClientID ${id.why} (bytes ${show(clientId)})`);
    const user = username && decodeName(username);
    if (user && !user.ok) return refuse('L7', `the Username ${user.why} (bytes ${show(username!)})`);
    return undefined;
  },
};

const SESSION_NAME_LENGTH: Check<ConnectContext> = {
  name: 'session names are at most 128 characters',
  rule: 'L5',
  run(context) {
    const count = lengthOf(namesAsSent(context).clientId);
    if (count <= MAXIMUM) return undefined;
    return refuse('L5', `the ClientID (session name) has ${count} characters; at most ${MAXIMUM} are allowed`);
  },
};

const AUTHENTICATION_NAME_LENGTH: Check<ConnectContext> = {
  name: 'authentication names are at most 128 characters',
  rule: 'L6',
  run(context) {
    const count = lengthOf(namesAsSent(context).username);
    if (count <= MAXIMUM) return undefined;
    return refuse('L6', `the Username (authentication name) has ${count} characters; at most ${MAXIMUM} are allowed`);
  },
};

export const NAME_CHECKS: readonly Check<ConnectContext>[] = [NAMES_WELL_FORMED, SESSION_NAME_LENGTH, AUTHENTICATION_NAME_LENGTH];

export const NAME_MUTANTS: readonly Mutant[] = [
  {
    rule: 'L5',
    breaks: 'a ClientID of any length is accepted',
    apply: (behaviour) => ({ ...behaviour, connectChecks: withoutCheck(behaviour.connectChecks, SESSION_NAME_LENGTH) }),
  },
  {
    rule: 'L6',
    breaks: 'a Username past 128 characters is cut to its first 128, not refused',
    apply: (behaviour) => ({
      ...behaviour,
      connectChecks: withoutCheck(behaviour.connectChecks, AUTHENTICATION_NAME_LENGTH),
      nameOfUsername: (username, certificate) => behaviour.nameOfUsername([...username].slice(0, MAXIMUM).join(''), certificate),
    }),
  },
  {
    rule: 'L7',
    breaks: 'names are decoded lossily, as mqtt-packet does: ill-formed bytes become U+FFFD and U+0000 passes',
    apply: (behaviour) => ({ ...behaviour, connectChecks: withoutCheck(behaviour.connectChecks, NAMES_WELL_FORMED) }),
  },
];
