// The namespace's answer to one CONNECT: accept with a session grant, or refuse with the rule it
// breaks. The answer is the first refusal of an ordered list of checks (CONNECT_CHECKS), then a grant
// shaped by the session pieces of Behaviour. Pure: no sockets, no aedes; who the credentials prove the
// client to be (an authenticator's answer, reference/ports/authenticator.ts), the sessions and the time
// are passed in. The session checks and pieces, and the mutants that break them, are declared here.
import { maximumSessionExpirySeconds, type ClientResource, type NamespaceConfig } from '../../eventgrid/namespace.ts';
import { NEVER_EXPIRES, REFUSAL } from '../../rules/codes.ts';
import type { Behaviour, ConnectContext, ConnectRequest, Decision, Mutant, SessionPieces } from './behaviour.ts';
import { firstRefusal, withCheckBefore, withoutCheck, type Check } from './check.ts';
import { NAME_CHECKS } from './names.ts';
import { refuse } from './refusal.ts';
import type { SessionLookup, SessionRecord } from './session-record.ts';

export const EVENT_GRID_SESSIONS: SessionPieces = {
  sessionLimit: (namespace) => namespace.topicSpacesConfiguration.maximumClientSessionsPerAuthenticationName,
  maximumExpirySeconds: maximumSessionExpirySeconds,
  // L3: Clean Start drops whatever the session had; L2: otherwise it resumes. A session taken from
  // another identity (only a broker that lets that happen) never carries that identity's state over.
  resumption: ({ exists, cleanStart, ownedByOther }) => ({
    sessionPresent: exists && !cleanStart,
    discardPrevious: exists && (cleanStart || ownedByOther),
  }),
};

/** One CONNECT as the connect checks see it: what they work out from it, each once. */
class ConnectCheckContext implements ConnectContext {
  private existingRecord?: { record: SessionRecord | undefined };

  constructor(
    readonly request: ConnectRequest,
    readonly now: Date,
    readonly namespace: NamespaceConfig,
    readonly sessions: SessionLookup,
    readonly behaviour: Behaviour,
  ) {}

  get registeredClient(): ClientResource {
    const { identity } = this.request.authentication;
    if (!identity) throw new Error('not authenticated: the A6 check must come before this one');
    return identity.client;
  }

  get existing(): SessionRecord | undefined {
    this.existingRecord ??= { record: this.sessions.find(this.request.clientId) };
    return this.existingRecord.record;
  }

  get ownedByOther(): boolean {
    return this.existing !== undefined && this.existing.owner !== this.registeredClient.name;
  }
}

// S4: a session needs a name. Checked first after the names' form (L5-L7), as the CONNECT is malformed
// for this namespace whoever sends it (and with no Username the empty ClientID would otherwise name no
// client).
const SESSION_NAMED: Check<ConnectContext> = {
  name: 'the ClientID names a session',
  rule: 'S4',
  run: ({ request }) => (request.clientId === '' ? refuse('S4', 'the ClientID (session name) is empty') : undefined),
};

// A6: a CONNECT whose credentials prove no registered client is refused, for the reason the
// authenticator gave (A1-A5), after the names' form and before anything is looked up for the client.
const AUTHENTICATED: Check<ConnectContext> = {
  name: 'the credentials prove a registered, enabled client',
  rule: 'A6',
  run: ({ request }) => request.authentication.refusal,
};

// S6: an active session stays with its owner. S7: so does a held one, until it expires.
const ACTIVE_SESSION_OWNED: Check<ConnectContext> = {
  name: "another identity's active session is not taken",
  rule: 'S6',
  run: (context) => {
    const { existing } = context;
    if (!context.ownedByOther || existing?.connectionId === undefined) return undefined;
    return { ...refuse('S6', `session "${existing.name}" is in use by another client`), logDetail: `owner "${existing.owner}"` };
  },
};

const HELD_SESSION_OWNED: Check<ConnectContext> = {
  name: "another identity's held session is not taken before it expires",
  rule: 'S7',
  run: (context) => {
    const { existing } = context;
    if (!context.ownedByOther || !existing || existing.connectionId !== undefined) return undefined;
    return { ...refuse('S7', `session "${existing.name}" is held for another client until it expires`), logDetail: `owner "${existing.owner}"` };
  },
};

// S9: a new session counts against the identity's limit, online and offline sessions alike.
const WITHIN_SESSION_LIMIT: Check<ConnectContext> = {
  name: 'a new session is within the sessions allowed per authentication name',
  rule: 'S9',
  run: (context) => {
    const resumesOwn = context.existing !== undefined && !context.ownedByOther;
    if (resumesOwn) return undefined;
    const client = context.registeredClient;
    const limit = context.behaviour.sessionLimit(context.namespace);
    if (context.sessions.countOwnedBy(client.name) < limit) return undefined;
    return refuse('S9', `client "${client.name}" already has ${limit} session(s), the namespace's limit`);
  },
};

/** The CONNECT decision of an Event Grid namespace, in order: the first refusal is the answer. */
export const CONNECT_CHECKS: readonly Check<ConnectContext>[] = [
  ...NAME_CHECKS,
  SESSION_NAMED,
  AUTHENTICATED,
  ACTIVE_SESSION_OWNED,
  HELD_SESSION_OWNED,
  WITHIN_SESSION_LIMIT,
];

export class ConnectPolicy {
  constructor(
    private readonly namespace: NamespaceConfig,
    private readonly behaviour: Behaviour,
  ) {}

  /** `sessions`: what the namespace's sessions were when the CONNECT was decided (a store's view). */
  decide(request: ConnectRequest, now: Date, sessions: SessionLookup): Decision {
    const context = new ConnectCheckContext(request, now, this.namespace, sessions, this.behaviour);
    const refusal = firstRefusal(this.behaviour.connectChecks, context);
    if (refusal) return { accept: false, refusal };
    const { existing, ownedByOther, registeredClient: client } = context;
    const resumption = this.behaviour.resumption({ exists: existing !== undefined, cleanStart: request.cleanStart, ownedByOther });
    return {
      accept: true,
      grant: {
        sessionName: request.clientId,
        client,
        nameSource: request.authentication.identity!.nameSource,
        ...resumption,
        ...this.expiry(request),
        takesOver: existing?.connectionId !== undefined,
      },
    };
  }

  /** L1: the interval in force; 3.1.1 persistent sessions live for the namespace maximum. */
  private expiry(request: ConnectRequest): { expirySeconds: number; expiryCapped: boolean } {
    const maximum = this.behaviour.maximumExpirySeconds(this.namespace);
    const requested = request.protocolVersion === 5 ? (request.sessionExpiryInterval ?? 0) : request.cleanStart ? 0 : maximum;
    if (requested > maximum) return { expirySeconds: maximum, expiryCapped: true };
    return { expirySeconds: requested, expiryCapped: false };
  }
}

// S8 mutant: a second connection of the same identity is turned away instead of taking over. S8
// expects no refusal, so the mutant names its own code.
const OWNER_TURNED_AWAY: Check<ConnectContext> = {
  name: 'the owner may not reconnect to its connected session',
  rule: 'S8',
  run: ({ existing, ownedByOther }) =>
    existing?.connectionId !== undefined && !ownedByOther
      ? { rule: 'S8', code: REFUSAL.notAuthorized, reason: `session "${existing.name}" is already connected` }
      : undefined,
};

// S7 mutant: the lock on a held session lapses at half its expiry, so that only a CONNECT made just
// before the expiry (not one made at once) finds the name free too early.
const HELD_FOR_HALF_ITS_EXPIRY: Check<ConnectContext> = {
  name: "another identity's held session is not taken in the first half of its expiry",
  rule: 'S7',
  run: (context) => {
    const { existing } = context;
    if (!context.ownedByOther || !existing || existing.connectionId !== undefined) return undefined;
    const lapsesAt = (existing.heldSince ?? 0) + existing.expirySeconds * 500;
    return context.now.getTime() < lapsesAt ? refuse('S7', `session "${existing.name}" is held for client "${existing.owner}" until it expires`) : undefined;
  },
};

// S6 and S7 mutants: the ownership check is skipped for a CONNECT with Clean Start / Clean Session 1,
// as a broker may that reads "a fresh session" as "no session to protect".
const unlessCleanStart = (check: Check<ConnectContext>): Check<ConnectContext> => ({
  name: `${check.name}, unless the CONNECT asks for Clean Start`,
  rule: check.rule,
  run: (context) => (context.request.cleanStart ? undefined : check.run(context)),
});
const ACTIVE_OWNED_UNLESS_CLEAN = unlessCleanStart(ACTIVE_SESSION_OWNED);
const HELD_OWNED_UNLESS_CLEAN = unlessCleanStart(HELD_SESSION_OWNED);

/** The behaviour with `check` in place of `replaced`. */
const replacing = (replaced: Check<ConnectContext>, check: Check<ConnectContext>) => (behaviour: Behaviour): Behaviour => ({
  ...behaviour,
  connectChecks: withoutCheck(withCheckBefore(behaviour.connectChecks, check, replaced), replaced),
});

const without = (...checks: Check<ConnectContext>[]) => (behaviour: Behaviour): Behaviour => ({
  ...behaviour,
  connectChecks: checks.reduce(withoutCheck, behaviour.connectChecks),
});

export const SESSION_MUTANTS: readonly Mutant[] = [
  {
    rule: 'S1',
    breaks: 'an identity may hold only one session, whatever the namespace allows',
    alsoRefuses: {
      message: /Quota exceeded|3 \(server unavailable\)/,
      why: "a scenario of any rule that holds two sessions of one identity (or whose control opens a second one) is refused the second for quota",
    },
    apply: (behaviour) => ({ ...behaviour, sessionLimit: () => 1 }),
  },
  { rule: 'S4', breaks: 'an empty ClientID is accepted (aedes assigns one)', apply: without(SESSION_NAMED) },
  { rule: 'S5', breaks: 'session names are not owned: any identity may take any session', apply: without(ACTIVE_SESSION_OWNED, HELD_SESSION_OWNED) },
  { rule: 'S6', breaks: 'another identity may take over an active session', apply: without(ACTIVE_SESSION_OWNED) },
  { rule: 'S7', breaks: 'another identity may take a held session before it expires', apply: without(HELD_SESSION_OWNED) },
  {
    id: 'S7.released-early',
    rule: 'S7',
    breaks: 'a held session is released to other identities at half its expiry',
    apply: replacing(HELD_SESSION_OWNED, HELD_FOR_HALF_ITS_EXPIRY),
  },
  { id: 'S6.clean-start', rule: 'S6', breaks: 'another identity with Clean Start 1 may take over an active session', apply: replacing(ACTIVE_SESSION_OWNED, ACTIVE_OWNED_UNLESS_CLEAN) },
  { id: 'S7.clean-start', rule: 'S7', breaks: 'another identity with Clean Start 1 may take a held session before it expires', apply: replacing(HELD_SESSION_OWNED, HELD_OWNED_UNLESS_CLEAN) },
  {
    rule: 'S8',
    breaks: 'the owner reconnecting to its connected session is refused',
    apply: (behaviour) => ({ ...behaviour, connectChecks: withCheckBefore(behaviour.connectChecks, OWNER_TURNED_AWAY, WITHIN_SESSION_LIMIT) }),
  },
  { rule: 'S9', breaks: 'no limit on sessions per authentication name', apply: without(WITHIN_SESSION_LIMIT) },
  {
    rule: 'L1',
    breaks: 'no cap on the Session Expiry Interval; 3.1.1 persistent sessions never expire',
    // As plain aedes keeps them; the broker hands the same maximum to aedes, which then caps nothing.
    apply: (behaviour) => ({ ...behaviour, maximumExpirySeconds: () => NEVER_EXPIRES }),
  },
  {
    rule: 'L2',
    breaks: 'a session keeps nothing across connections',
    apply: (behaviour) => ({ ...behaviour, resumption: ({ exists }) => ({ sessionPresent: false, discardPrevious: exists }) }),
  },
  {
    rule: 'L3',
    breaks: 'Clean Start is ignored: the previous session resumes',
    apply: (behaviour) => ({ ...behaviour, resumption: (session) => behaviour.resumption({ ...session, cleanStart: false }) }),
  },
];
