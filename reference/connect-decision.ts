// The namespace's answer to one CONNECT: accept with a session grant, or refuse with the rule it
// breaks and the code for each MQTT version. Pure: no sockets, no aedes; the registry and the clock
// are passed in.
import type { RuleId } from '../rules/catalogue.ts';
import { NEVER_EXPIRES, REFUSAL } from '../rules/codes.ts';
import type { PresentedCertificate } from './certificate.ts';
import { IdentityResolver, type Refusal } from './identity.ts';
import { maximumSessionExpirySeconds, type ClientResource, type NamespaceConfig } from '../eventgrid/namespace.ts';
import type { SessionRegistry } from './session-registry.ts';

export interface ConnectRequest {
  protocolVersion: 4 | 5;
  clientId: string;
  username?: string;
  /** MQTT 5 Clean Start, MQTT 3.1.1 Clean Session. */
  cleanStart: boolean;
  /** MQTT 5 CONNECT Session Expiry Interval, seconds (absent means 0). */
  sessionExpiryInterval?: number;
  certificate?: PresentedCertificate;
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

const refuse = (rule: RuleId, code: Refusal['code'], reason: string): Decision => ({
  accept: false,
  refusal: { rule, code, reason },
});

export class ConnectPolicy {
  private readonly identities: IdentityResolver;

  /** @param broken rules this policy deliberately fails to enforce: test-only mutants of the reference */
  constructor(
    private readonly namespace: NamespaceConfig,
    private readonly sessions: SessionRegistry,
    private readonly broken: ReadonlySet<RuleId> = new Set(),
  ) {
    this.identities = new IdentityResolver(namespace, broken);
  }

  decide(request: ConnectRequest, now: Date): Decision {
    // S4: a session needs a name. Checked first, as the CONNECT is malformed for this namespace
    // whoever sends it (and with no Username the empty ClientID would otherwise name no client).
    if (request.clientId === '' && !this.broken.has('S4')) {
      return refuse('S4', REFUSAL.clientIdentifierNotValid, 'the ClientID (session name) is empty');
    }

    const resolved = this.identities.resolve(request, now);
    if (!resolved.ok) return { accept: false, refusal: resolved.refusal };
    const { client, nameSource } = resolved.identity;

    const sessionName = request.clientId;
    const existing = this.sessions.find(sessionName);
    const ownedByOther = existing !== undefined && existing.owner !== client.name;
    if (ownedByOther && !this.broken.has('S5')) {
      const active = existing.connectionId !== undefined;
      // S6: an active session stays with its owner. S7: so does a held one, until it expires.
      if (active && !this.broken.has('S6')) {
        return refuse('S6', REFUSAL.notAuthorized, `session "${sessionName}" is in use by client "${existing.owner}"`);
      }
      if (!active && !this.broken.has('S7')) {
        return refuse('S7', REFUSAL.notAuthorized, `session "${sessionName}" is held for client "${existing.owner}" until it expires`);
      }
    }
    const ownSession = existing !== undefined && !ownedByOther;
    // S8 mutant: a second connection of the same identity is turned away instead of taking over.
    if (ownSession && existing.connectionId !== undefined && this.broken.has('S8')) {
      return refuse('S8', REFUSAL.notAuthorized, `session "${sessionName}" is already connected`);
    }

    // S9: a new session counts against the identity's limit, online and offline sessions alike.
    // S1 mutant: one session per identity, whatever the namespace allows.
    const limit = this.broken.has('S1') ? 1 : this.namespace.topicSpacesConfiguration.maximumClientSessionsPerAuthenticationName;
    if (!ownSession && !this.broken.has('S9') && this.sessions.countOwnedBy(client.name) >= limit) {
      return refuse('S9', REFUSAL.quotaExceeded, `client "${client.name}" already has ${limit} session(s), the namespace's limit`);
    }

    const { expirySeconds, expiryCapped } = this.expiry(request);
    // L3: Clean Start drops whatever the session had; L2: otherwise it resumes.
    const cleanStart = request.cleanStart && !this.broken.has('L3');
    const keepsState = !this.broken.has('L2');
    return {
      accept: true,
      grant: {
        sessionName,
        client,
        nameSource,
        sessionPresent: existing !== undefined && !cleanStart && keepsState,
        discardPrevious: existing !== undefined && (cleanStart || !keepsState || ownedByOther),
        expirySeconds,
        expiryCapped,
        takesOver: existing?.connectionId !== undefined,
      },
    };
  }

  /** L1: the interval in force; 3.1.1 persistent sessions live for the namespace maximum. */
  private expiry(request: ConnectRequest): { expirySeconds: number; expiryCapped: boolean } {
    // L1 mutant: no cap, and 3.1.1 persistent sessions never expire (as plain aedes keeps them).
    const maximum = this.broken.has('L1') ? NEVER_EXPIRES : maximumSessionExpirySeconds(this.namespace);
    const requested = request.protocolVersion === 5 ? (request.sessionExpiryInterval ?? 0) : request.cleanStart ? 0 : maximum;
    if (requested > maximum && !this.broken.has('L1')) return { expirySeconds: maximum, expiryCapped: true };
    return { expirySeconds: requested, expiryCapped: false };
  }
}
