// CONNECT-time checks on the names themselves, before anything is looked up by them (L5-L7): a session
// name and an authentication name are 1 to 128 UTF-8 characters, and must be well-formed UTF-8 without
// U+0000. They read the names as sent (reference/raw-connect.ts), never mqtt-packet's lossy decoding,
// so no two different ClientIDs can land on one session. The integrator puts NAME_CHECKS first in the
// CONNECT check list (after them, the decoded ClientID and Username are exactly what was sent).
import { LIMITS } from '../rules/limits.ts';
import { REFUSAL } from '../rules/codes.ts';
import type { Check, LimitRefusal, Mutant } from './limit-check.ts';
import { without } from './limit-check.ts';

export interface NameContext {
  /** The ClientID as sent. */
  clientId: Buffer;
  /** The Username as sent, if any. */
  username?: Buffer;
}

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

export const NAME_CHECKS: readonly Check<NameContext, LimitRefusal>[] = [
  {
    name: 'names are well-formed UTF-8 without U+0000',
    rule: 'L7',
    run({ clientId, username }) {
      const id = decodeName(clientId);
      if (!id.ok) return { rule: 'L7', code: REFUSAL.malformedPacket, reason: `the ClientID ${id.why} (bytes ${show(clientId)})` };
      if (username) {
        const user = decodeName(username);
        if (!user.ok) return { rule: 'L7', code: REFUSAL.malformedPacket, reason: `the Username ${user.why} (bytes ${show(username)})` };
      }
      return undefined;
    },
  },
  {
    name: 'session names are at most 128 characters',
    rule: 'L5',
    run({ clientId }) {
      const decoded = decodeName(clientId);
      const count = decoded.ok ? characterCount(decoded.text) : 0;
      if (count <= MAXIMUM) return undefined;
      return { rule: 'L5', code: REFUSAL.clientIdentifierNotValid, reason: `the ClientID (session name) has ${count} characters; at most ${MAXIMUM} are allowed` };
    },
  },
  {
    name: 'authentication names are at most 128 characters',
    rule: 'L6',
    run({ username }) {
      const decoded = username ? decodeName(username) : undefined;
      const count = decoded?.ok ? characterCount(decoded.text) : 0;
      if (count <= MAXIMUM) return undefined;
      return { rule: 'L6', code: REFUSAL.badUserNameOrPassword, reason: `the Username (authentication name) has ${count} characters; at most ${MAXIMUM} are allowed` };
    },
  },
];

/** What a mutant of a name check may replace. */
export interface NameBehaviour {
  nameChecks: readonly Check<NameContext, LimitRefusal>[];
}

export const NAME_MUTANTS: readonly Mutant<NameBehaviour>[] = [
  {
    rule: 'L5',
    breaks: 'a ClientID of any length is accepted',
    apply: (behaviour) => ({ ...behaviour, nameChecks: without(behaviour.nameChecks, 'session names are at most 128 characters') }),
  },
  {
    rule: 'L7',
    breaks: 'names are decoded lossily, as mqtt-packet does: ill-formed bytes become U+FFFD and U+0000 passes',
    apply: (behaviour) => ({ ...behaviour, nameChecks: without(behaviour.nameChecks, 'names are well-formed UTF-8 without U+0000') }),
  },
];
