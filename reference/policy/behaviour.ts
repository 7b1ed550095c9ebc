// The reference broker's behaviour as data: ordered lists of small named checks, each carrying the rule
// it enforces, and the named pieces a check list cannot express; and the shapes those checks read.
// This module holds types only, so that every module of the policy can use them and none of them is
// imported back: event-grid.ts puts production together (EVENT_GRID), and each Mutant, declared beside
// the check or piece it changes (mutants.ts gathers them), transforms it so that one rule is not kept.
import type { Permission } from '../../eventgrid/access-control.ts';
import type { AuthenticationNameSource, ValidationScheme } from '../../eventgrid/authentication.ts';
import type { ClientResource, NamespaceConfig, ReferenceLimits } from '../../eventgrid/namespace.ts';
import type { AuthenticationMethod, RuleId } from '../../rules/catalogue.ts';
import type { Check } from './check.ts';
import type { PresentedCertificate, PresentedToken, RawNames, WebhookAnswer } from './presented.ts';
import type { Refusal, RefusalAnswer } from './refusal.ts';
import type { SessionLookup, SessionRecord } from './session-record.ts';

/**
 * A client as the access checks see it: a registered one, or one a credential proved (a token, a
 * webhook's decision); for a Microsoft Entra principal, the topic templates its Azure role assignments
 * grant it per permission, which stand in for permission bindings (E2).
 */
export interface AuthenticatedClient extends ClientResource {
  roleGrants?: Readonly<Record<Permission, readonly string[]>>;
}

/** Who a connection proved to be: a registered client, named from `nameSource` ("username", a certificate field, "clientId"). */
export interface Identity {
  client: AuthenticatedClient;
  nameSource: string;
  /** When the credentials stop proving it (a token's exp), milliseconds since the epoch; absent: never (T8). */
  expiresAt?: number;
}

/** What an authenticator (reference/ports/authenticator.ts) made of a CONNECT's credentials. */
export type Authentication = { identity: Identity; refusal?: undefined } | { refusal: Refusal; identity?: undefined };

export interface ConnectRequest {
  protocolVersion: 4 | 5;
  clientId: string;
  username?: string;
  /** MQTT 5 Clean Start, MQTT 3.1.1 Clean Session. */
  cleanStart: boolean;
  /** MQTT 5 CONNECT Session Expiry Interval, seconds (absent means 0). */
  sessionExpiryInterval?: number;
  /** Who the credentials prove the client to be, or why they do not (A1-A6). */
  authentication: Authentication;
  /** The ClientID and Username as sent, read from the CONNECT's bytes (L5-L7); absent, their UTF-8 encoding. */
  sentNames?: RawNames;
  /** The CONNECT's Will Message, if it has one: judged as the PUBLISH it would become (L9, P2, P3). */
  will?: WillRequest;
}

/** A Will Message as the CONNECT checks see it. */
export interface WillRequest {
  topic: string;
  qos: number;
  retain: boolean;
}

export interface SessionGrant {
  sessionName: string;
  client: AuthenticatedClient;
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

/** One CONNECT as the connect checks see it: the request, and what they work out from it. */
export interface ConnectContext {
  readonly request: ConnectRequest;
  readonly now: Date;
  readonly namespace: NamespaceConfig;
  readonly sessions: SessionLookup;
  readonly behaviour: Behaviour;
  /** The client the CONNECT authenticated as, for checks after the one that refuses a failed authentication. */
  readonly registeredClient: AuthenticatedClient;
  /** The live session of the requested name, if any. */
  readonly existing: SessionRecord | undefined;
  readonly ownedByOther: boolean;
}

/** What names a client and proves it: the CONNECT's names and the certificate of its connection. */
export interface IdentityRequest {
  clientId: string;
  username?: string;
  certificate?: PresentedCertificate;
}

export interface AuthenticationName {
  name: string;
  /** Where it came from: "username", a certificate field, or "clientId". */
  source: string;
}

/** One CONNECT as the certificate checks (A1-A5) see it. */
export interface CertificateContext {
  readonly request: IdentityRequest;
  readonly now: Date;
  readonly namespace: NamespaceConfig;
  readonly behaviour: Behaviour;
  /** The presented certificate, for checks after the one that refuses a CONNECT without one. */
  readonly certificate: PresentedCertificate;
  readonly authenticationName: AuthenticationName | undefined;
  /** The registered client the authentication name names, if any. */
  readonly client: ClientResource | undefined;
  /** The client, for checks after the one that refuses an unregistered name. */
  readonly registeredClient: ClientResource;
}

/** What a namespace expects of a token under one Authentication Method (custom JWT, T1-T8; Entra ID, E1). */
export interface TokenExpectations {
  /** CUSTOM-JWT or OAUTH2-JWT. */
  method: string;
  /** The `iss` values it takes. */
  issuers: readonly string[];
  audience: string;
  /** The claim that names the client: `sub` (custom JWT), `oid` (Entra ID). */
  nameClaim: string;
}

/** One token as the token checks (T1-T8) see it. */
export interface TokenContext {
  readonly token: PresentedToken;
  readonly now: Date;
  /** What the namespace expects of a token; undefined: it takes none. */
  readonly settings: TokenExpectations | undefined;
  readonly behaviour: Behaviour;
}

/** One webhook answer as the webhook checks (W1-W3) see it. */
export interface WebhookContext {
  readonly answer: WebhookAnswer;
  /** The answer's body, for checks after the one that refuses an answer that is not the documented JSON. */
  readonly decision: WebhookDecision;
}

/** A webhook's answer body as Event Grid documents it. */
export interface WebhookDecision {
  decision: 'allow' | 'deny';
  clientAuthenticationName?: string;
  attributes?: Record<string, unknown>;
  /** Unix time, seconds. */
  expiration?: number;
  errorReason?: string;
}

/** One filter of a SUBSCRIBE, as the subscribe checks see it. */
export interface SubscribeContext {
  version: 4 | 5;
  sessionName: string;
  filter: string;
  /** The QoS asked for, at most the maximum QoS. */
  qos: number;
  /** Distinct filters the session holds, with those accepted earlier in this packet. */
  held: number;
  /** The session already holds this filter (a repeat replaces it, taking no new place). */
  alreadyHeld: boolean;
  /** The client the session authenticated as, and its namespace (permission bindings, P1-P4; role assignments, E2). */
  client: AuthenticatedClient;
  namespace: NamespaceConfig;
  limits: ReferenceLimits;
  behaviour: Behaviour;
  /** M3: the filter is the part of a `$share/{group}/{filter}` after the group (the checks judge that part). */
  sharedGroup?: string;
  /** M5: the SUBSCRIBE carries User Properties. */
  userProperties?: boolean;
}

/** One PUBLISH, as the publish checks see it. */
export interface PublishContext {
  version: 4 | 5;
  sessionName: string;
  topic: string;
  qos: number;
  /** The retain flag (L12), and the payload's size (L18). */
  retain: boolean;
  payloadBytes: number;
  /** The client the session authenticated as, and its namespace (permission bindings, P1-P4; role assignments, E2). */
  client: AuthenticatedClient;
  namespace: NamespaceConfig;
  limits: ReferenceLimits;
  behaviour: Behaviour;
}

/** A packet as mqtt-packet decodes it: only the fields the protocol checks read. */
export interface DecodedPacket {
  cmd: string;
  protocolVersion?: number;
  /** A SUBSCRIBE's filters. */
  subscriptions?: readonly { topic: string }[];
  properties?: Record<string, unknown>;
  will?: { properties?: Record<string, unknown> };
}

export interface PropertyScan {
  /** Properties given more than once (User Property aside). */
  repeated: string[];
  /** Byte-valued properties outside 0 and 1. */
  outOfRange: string[];
}

/** One packet a client sent, as the protocol checks (M1) see it. */
export interface PacketContext {
  packet: DecodedPacket;
  /** What a scan of the packet's raw property bytes found (mqtt-packet's decoding hides some of it). */
  scan?: PropertyScan;
  /** The protocol version of the connection's CONNECT (undefined before it). */
  version?: number;
  /** The Session Expiry Interval the CONNECT gave (MQTT 5), for the DISCONNECT rule. */
  connectSessionExpiry?: number;
}

/** What an offline session's queue holds (L8). */
export interface QueueUse {
  messages: number;
  bytes: number;
}

/** The pieces of Behaviour that name a client; a mutant may replace any of them. */
export interface IdentityPieces {
  /** A4: whether two authentication names are the same. */
  sameName(a: string, b: string): boolean;
  /** A5: the certificate fields that name a client connecting without a Username, in order. */
  alternativeNameSources(namespace: NamespaceConfig): readonly AuthenticationNameSource[];
  /** S3: the authentication name of a CONNECT with neither a Username nor a configured certificate field. */
  nameWithoutUsername(request: IdentityRequest, certificate: PresentedCertificate): AuthenticationName;
  /** S1: the authentication name of a CONNECT that carries a Username (even an empty one). */
  nameOfUsername(username: string, certificate: PresentedCertificate): AuthenticationName;
  /** A3, A5: the names a certificate's subject holds, as a scheme or a name source reads them. */
  subjectNames(certificate: PresentedCertificate): string[];
  /** A3: the certificate values a validation scheme reads for the name (not ThumbprintMatch), the subject's as `subjectNames` reads it. */
  schemeValues(scheme: Exclude<ValidationScheme, 'ThumbprintMatch'>, certificate: PresentedCertificate, subjectNames: IdentityPieces['subjectNames']): string[];
  /** A3: whether one such value proves the client's authentication name, names compared by `sameName`. */
  proves(value: string, authenticationName: string, sameName: IdentityPieces['sameName']): boolean;
}

/** The pieces of Behaviour that name a token's client; a mutant may replace any of them. */
export interface TokenPieces {
  /** T1, E1: the authentication name a token's claims give (its `nameClaim`), the Username beside it; undefined: none. */
  nameOfToken(claims: Record<string, unknown>, username: string | undefined, nameClaim: string): AuthenticationName | undefined;
  /**
   * T7: why an AUTH packet does not re-authenticate the connection of `client`, given its reason code
   * and what its token proves; undefined: it does, and the connection goes on under the new token.
   */
  reauthenticationFailure(client: ClientResource, reasonCode: number | undefined, authentication: Authentication): Refusal | undefined;
  /** T8: whether a connection is ended when its token expires unrenewed. */
  endsAtTokenExpiry: boolean;
}

/**
 * Why a live connection ends when its client changes, and the life cycle reason Event Grid's events give
 * it: an authentication reason (A7: disabled, other credentials), or an authorization one (P5: other client groups).
 */
export interface ClientChangeEnding {
  refusal: Refusal;
  lifecycleReason: 'ClientAuthenticationError' | 'ClientAuthorizationError';
}

/** The piece of Behaviour that says what a change to a registered client does to its live connections; a mutant may replace it. */
export interface ClientChangePieces {
  /** A7, P5: why a live connection of the client `before` ends now that its resource reads `after` in `namespace`; undefined: it goes on. */
  connectionEndsOnChange(namespace: NamespaceConfig, before: ClientResource, after: ClientResource): ClientChangeEnding | undefined;
}

/** The piece of Behaviour that says where a client may publish and subscribe; a mutant may replace it. */
export interface GrantPieces {
  /** P1-P4, E2: the topic templates the client may use under the permission: an Entra principal's role assignments, else the permission bindings of its client groups. */
  grantsOf(namespace: NamespaceConfig, client: AuthenticatedClient, permission: Permission): readonly string[];
}

/** The piece of Behaviour that names a webhook's client; a mutant may replace it. */
export interface WebhookPieces {
  /** W1: the authentication name a webhook's decision gives, the Username beside it; undefined: none. */
  nameOfWebhookClient(decision: WebhookDecision | undefined, username: string | undefined): string | undefined;
}

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

/** The pieces of Behaviour that set Event Grid's limits; a mutant may replace any of them. */
export interface LimitPieces {
  /**
   * L9: the highest QoS served: announced in an MQTT 5 CONNACK below 2, granted to a SUBSCRIBE asking more;
   * a PUBLISH above it is refused, and so is an MQTT 5 CONNECT whose Will asks more (an MQTT 3.1.1 one's
   * will is published at this QoS).
   */
  maximumQos: 0 | 1 | 2;
  /** L17: the Topic Alias Maximum an MQTT 5 CONNACK announces, and the highest alias a PUBLISH may use. */
  topicAliasMaximum: number;
  /**
   * L15: the Maximum Packet Size in force for the namespace's limits, bytes; undefined: none. It is aedes'
   * `maximumPacketSize`, the one mechanism that both enforces it (as each fixed header is read, before
   * authentication) and announces it in an accepting MQTT 5 CONNACK.
   */
  maximumPacketSize(limits: ReferenceLimits): number | undefined;
  /** L8: whether an offline session's queue of that use has overflowed (the session is then terminated). */
  queueOverflows(use: QueueUse, limits: ReferenceLimits): boolean;
  /** L13: the Keep Alive in force for what the client asked (0: none asked) and the maximum. */
  keepAliveInForce(requested: number, maximum: number): number;
  /** L14: whether a connection silent for 1.5x its Keep Alive is closed. */
  closesSilentConnections: boolean;
  /** L12: whether retained messages are kept (Event Grid since 2025), or the retain flag dropped. */
  keepsRetained: boolean;
  /**
   * L16: whether a packet of `bytes` may be sent to a client whose MQTT 5 CONNECT gave Maximum Packet
   * Size `clientMaximum` (undefined: none). A PUBLISH that may not is discarded as if delivered.
   */
  fitsClient(bytes: number, clientMaximum: number | undefined): boolean;
  /** L16: how many QoS 1 PUBLISHes may await their PUBACK at a client whose MQTT 5 CONNECT gave Receive Maximum `receiveMaximum` (65,535 when none). */
  inFlightWindow(receiveMaximum: number): number;
}

/** The MQTT 5 features Event Grid does not support, as an accepting CONNACK shows them (M2, M4); a mutant may replace any of them. */
export interface FeaturePieces {
  /** M2: whether Subscription Identifiers are available (announced as 0 in an MQTT 5 CONNACK when not). */
  subscriptionIdentifiersAvailable: boolean;
  /** M4: the Response Information a CONNACK gives a CONNECT that asks for it (Request Response Information 1); undefined: none. */
  responseInformation(sessionName: string): string | undefined;
}

/** How a group hands out a message: to one of its active members (Event Grid), or (a mutant) to all. */
export type GroupDelivery = 'one-member' | 'every-member';

export interface SharedSubscriptionPieces {
  /** M3: how many of a group's active sessions get each message. */
  groupDelivery: GroupDelivery;
  /** M3: whether `$share/{group}/{filter}` is served; when not, it is judged as the literal filter it spells. */
  servesSharedSubscriptions: boolean;
  /** M3: whether, with no member of a group connected, a QoS 1 message waits in a member's held session (else it is lost). */
  queuesForHeldMembers: boolean;
  /** M3: whether a session joining a group is sent the filter's retained messages (MQTT 5 4.8.2: it is not). */
  retainedOnJoin: boolean;
}

/** Everything a mutant may replace. */
export interface Behaviour extends IdentityPieces, TokenPieces, WebhookPieces, ClientChangePieces, GrantPieces, SessionPieces, LimitPieces, FeaturePieces, SharedSubscriptionPieces {
  /** M1, M2, M5: every packet a client sends, CONNECT included, in order, before anything else sees it: the first refusal closes the connection. */
  packetChecks: readonly Check<PacketContext>[];
  /** A1-A5: what a client certificate must prove, in order (the certificate authenticator runs them): the first refusal is the authentication's. */
  certificateChecks: readonly Check<CertificateContext>[];
  /** T1-T6: what a token must prove, in order (the token authenticator runs them, at CONNECT and at re-authentication): the first refusal is the authentication's. */
  tokenChecks: readonly Check<TokenContext>[];
  /** W2, W3: what a webhook's answer must be, in order: the first refusal is the authentication's. */
  webhookChecks: readonly Check<WebhookContext>[];
  /** The CONNECT decision, in order: the first refusal is the answer. */
  connectChecks: readonly Check<ConnectContext>[];
  /** Each filter of a SUBSCRIBE, in order: the first refusal is that filter's SUBACK code. */
  subscribeChecks: readonly Check<SubscribeContext>[];
  /** Each PUBLISH, in order: the first refusal is answered as its code says (a DISCONNECT, or not delivered with a PUBACK code). */
  publishChecks: readonly Check<PublishContext>[];
  /** A6: how a refusal reaches the client. */
  answerRefusal: RefusalAnswer;
}

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
  /**
   * The authentication methods whose scenarios can see what it breaks, when not every method its rule
   * runs under, and why (S1.username-ignored breaks how a certificate client's Username is read; a token
   * names its client whatever the Username): the mutant test expects it caught under these only.
   */
  onlyUnder?: { methods: readonly AuthenticationMethod[]; why: string };
  apply(behaviour: Behaviour): Behaviour;
}
