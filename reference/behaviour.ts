// The reference broker's behaviour as data: ordered lists of small named checks, each carrying the rule
// it enforces (aedes' `connectActions` is the model), and the named pieces a check list cannot express.
// EVENT_GRID is production; a Mutant transforms it so that one rule is not kept, in one documented way,
// and is declared beside the check or piece it changes (reference/mutants.ts gathers them).
import type { RuleId } from '../rules/catalogue.ts';
import { CONNECT_CHECKS, EVENT_GRID_SESSIONS, type ConnectContext, type SessionPieces } from './connect-decision.ts';
import { EVENT_GRID_IDENTITY, type IdentityPieces } from './identity.ts';
import { EVENT_GRID_LIMITS, type LimitPieces } from './limits.ts';
import type { PublishContext, SubscribeContext } from './packet-gate.ts';
import { PUBLISH_ACCESS_CHECKS, SUBSCRIBE_ACCESS_CHECKS } from './authorization.ts';
import { PUBLISH_PACKET_CHECKS, SUBSCRIBE_QUOTA_CHECKS, SUBSCRIBE_TOPIC_CHECKS } from './packet-limits.ts';
import { PACKET_CHECKS, type PacketContext } from './packet-validation.ts';
import { ANSWER_WITH_CONNACK, type Refusal, type RefusalAnswer } from './refusal.ts';

export interface Check<Context> {
  /** What the check asserts of a packet that passes it. */
  name: string;
  rule: RuleId;
  run(context: Context): Refusal | undefined;
}

/** Everything a mutant may replace. */
export interface Behaviour extends IdentityPieces, SessionPieces, LimitPieces {
  /** M1: every packet a client sends, CONNECT included, in order, before anything else sees it: the first refusal closes the connection. */
  packetChecks: readonly Check<PacketContext>[];
  /** The CONNECT decision, in order: the first refusal is the answer. */
  connectChecks: readonly Check<ConnectContext>[];
  /** Each filter of a SUBSCRIBE, in order: the first refusal is that filter's SUBACK code. */
  subscribeChecks: readonly Check<SubscribeContext>[];
  /** Each PUBLISH, in order: the first refusal is answered as its code says (a DISCONNECT, or not delivered with a PUBACK code). */
  publishChecks: readonly Check<PublishContext>[];
  /** A6: how a refusal reaches the client. */
  answerRefusal: RefusalAnswer;
}

/** Production: the rules as an Event Grid namespace applies them. */
export const EVENT_GRID: Behaviour = {
  packetChecks: PACKET_CHECKS,
  connectChecks: CONNECT_CHECKS,
  // First what the packet is: a filter or topic past 256 bytes or 8 levels (L11), a QoS 2 PUBLISH (L9)
  // is not one the namespace serves, whoever sends it, and is answered as such. Then who may use the
  // topic (P2, P3): a filter the client may not hold is refused as not authorized and takes no place in
  // its quota. Last the session's quota (L10), which only an authorized, storable filter can exceed, so
  // a client is never told "quota exceeded" for a filter it could not have held anyway.
  subscribeChecks: [...SUBSCRIBE_TOPIC_CHECKS, ...SUBSCRIBE_ACCESS_CHECKS, ...SUBSCRIBE_QUOTA_CHECKS],
  publishChecks: [...PUBLISH_PACKET_CHECKS, ...PUBLISH_ACCESS_CHECKS],
  ...EVENT_GRID_IDENTITY,
  ...EVENT_GRID_SESSIONS,
  ...EVENT_GRID_LIMITS,
  answerRefusal: ANSWER_WITH_CONNACK,
};

/** One rule not kept, in one documented way: a transformation of a Behaviour. */
export interface Mutant {
  /** For a rule with more than one mutant: "A3.any-field"; otherwise the rule id names it. */
  id?: string;
  rule: RuleId;
  /** How the mutated broker goes wrong, as `--break` prints it. */
  breaks: string;
  /**
   * A refusal this mutant gives in scenarios of other rules too, as a failure message shows it, and
   * why: the mutant test counts such failures as explained, and no other.
   */
  alsoRefuses?: { message: RegExp; why: string };
  apply(behaviour: Behaviour): Behaviour;
}
