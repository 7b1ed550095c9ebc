// The namespace's answer to one CONNECT: accept with a session grant, or refuse with the rule it
// breaks. The answer is the first refusal of an ordered list of checks (CONNECT_CHECKS), then a grant
// shaped by the session pieces of Behaviour. Pure: no sockets, no aedes; the registry and the time are
// passed in. The session checks and pieces, and the mutants that break them, are declared here.
import { NEVER_EXPIRES, REFUSAL } from '../rules/codes.ts';
import type { PresentedCertificate } from './certificate.ts';
import type { Behaviour, Check, Mutant } from './behaviour.ts';
import { firstRefusal, withCheckBefore, withoutCheck } from './check-list.ts';
import { authenticationName, IDENTITY_CHECKS, type AuthenticationName } from './identity.ts';
import { NAME_CHECKS } from './name-checks.ts';
import type { RawNames } from './raw-connect.ts';
import { refuse, type Refusal } from './refusal.ts';
import { maximumSessionExpirySeconds, type ClientResource, type NamespaceConfig } from '../eventgrid/namespace.ts';
import type { SessionRecord, SessionRegistry } from './session-registry.ts';

export interface ConnectRequest {
  protocolVersion: 4 | 5;
  clientId: string;
  username?: string;
  /** MQTT 5 Clean Start, MQTT 3.1.1 Clean Session. */
  cleanStart: boolean;
  /** MQTT 5 CONNECT Session Expiry Interval, seconds (absent means 0). */
  sessionExpiryInterval?: number;
  certificate?: PresentedCertificate;
  /** The ClientID and Username as sent, read from the CONNECT's bytes (L5-L7); absent, their UTF-8 encoding. */
  sentNames?: RawNames;
}

export interface SessionGrant {
  sessionName: string;
  client: ClientResource;
  nameSource: string;
  /** A previous session of this name resumes (CONNACK Session Present). */
  sessionPresent: boolean;
  /** The session's state from before must be dropped before this connection uses the name (L3). */
  discardPrevious: boolean;
  /** The Session Expiry Interval in force, seconds. */
  expirySeconds: number;
  /** The client asked for more than the namespace allows, and got the maximum (L1). */
  expiryCapped: boolean;
  /** Another connection of the same identity holds the session now and will be ended (S8). */
  takesOver: boolean;
}

export type Decision = { accept: true; grant: SessionGrant } | { accept: false; refusal: Refusal };

/** What a granted connection does with the state of the session it names (L2, L3). */
export interface Resumption {
  sessionPresent: boolean;
  discardPrevious: boolean;
}

/** The pieces of Behaviour that shape sessions; a mutant may replace any of them. */
export interface SessionPieces {
  /** S1/S9: how many sessions one authentication name may hold. */
  sessionLimit(namespace: NamespaceConfig): number;
  /** L1: the longest Session Expiry Interval in force, seconds; also what 3.1.1 persistent sessions get. */
  maximumExpirySeconds(namespace: NamespaceConfig): number;
  /** L2/L3: Session Present, and whether the previous state goes, for a session that exists or not. */
  resumption(session: { exists: boolean; cleanStart: boolean; ownedByOther: boolean }): Resumption;
}

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

/** One CONNECT as the checks see it: the request, and what they work out from it, each once. */
export class ConnectContext {
  private readonly known = new Map<string, unknown>();

  constructor(
    readonly request: ConnectRequest,
    readonly now: Date,
    readonly namespace: NamespaceConfig,
    readonly sessions: SessionRegistry,
    readonly behaviour: Behaviour,
  ) {}

  private once<T>(key: string, work: () => T): T {
    if (!this.known.has(key)) this.known.set(key, work());
    return this.known.get(key) as T;
  }

  /** The presented certificate: an A1 check refuses a CONNECT without one before any check asks. */
  get certificate(): PresentedCertificate {
    if (!this.request.certificate) throw new Error('no client certificate: the A1 check must come before this one');
    return this.request.certificate;
  }

  get authenticationName(): AuthenticationName | undefined {
    return this.once('name', () => authenticationName(this.request, this.certificate, this.namespace, this.behaviour));
  }

  /** The registered client the authentication name names, if any. */
  get client(): ClientResource | undefined {
    return this.once('client', () => {
      const named = this.authenticationName;
      return named && this.namespace.clients.find((candidate) => this.behaviour.sameName(candidate.authenticationName, named.name));
    });
  }

  /** The client, for checks that come after the A2 check that refuses an unregistered name. */
  get registeredClient(): ClientResource {
    const client = this.client;
    if (!client) throw new Error('no registered client: the A2 check must come before this one');
    return client;
  }

  /** The live session of the requested name, if any. */
  get existing(): SessionRecord | undefined {
    return this.once('existing', () => this.sessions.find(this.request.clientId));
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

// S6: an active session stays with its owner. S7: so does a held one, until it expires.
const ACTIVE_SESSION_OWNED: Check<ConnectContext> = {
  name: "another identity's active session is not taken",
  rule: 'S6',
  run: (context) => {
    const { existing } = context;
    if (!context.ownedByOther || existing?.connectionId === undefined) return undefined;
    return refuse('S6', `session "${existing.name}" is in use by client "${existing.owner}"`);
  },
};

const HELD_SESSION_OWNED: Check<ConnectContext> = {
  name: "another identity's held session is not taken before it expires",
  rule: 'S7',
  run: (context) => {
    const { existing } = context;
    if (!context.ownedByOther || !existing || existing.connectionId !== undefined) return undefined;
    return refuse('S7', `session "${existing.name}" is held for client "${existing.owner}" until it expires`);
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
  ...IDENTITY_CHECKS,
  ACTIVE_SESSION_OWNED,
  HELD_SESSION_OWNED,
  WITHIN_SESSION_LIMIT,
];

export class ConnectPolicy {
  constructor(
    private readonly namespace: NamespaceConfig,
    private readonly sessions: SessionRegistry,
    private readonly behaviour: Behaviour,
  ) {}

  decide(request: ConnectRequest, now: Date): Decision {
    const context = new ConnectContext(request, now, this.namespace, this.sessions, this.behaviour);
    const refusal = firstRefusal(this.behaviour.connectChecks, context);
    if (refusal) return { accept: false, refusal };
    const { existing, ownedByOther, registeredClient: client } = context;
    const resumption = this.behaviour.resumption({ exists: existing !== undefined, cleanStart: request.cleanStart, ownedByOther });
    return {
      accept: true,
      grant: {
        sessionName: request.clientId,
        client,
        nameSource: context.authenticationName!.source,
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
    apply: (behaviour) => ({
      ...behaviour,
      connectChecks: withoutCheck(withCheckBefore(behaviour.connectChecks, HELD_FOR_HALF_ITS_EXPIRY, HELD_SESSION_OWNED), HELD_SESSION_OWNED),
    }),
  },
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
