// The rule catalogue: the single source of rule ids for the reference broker, the Gherkin scenarios
// and the reports. Titles are the project's own summary of what Microsoft documents; `refusals` gives
// the code a refusal under the rule carries (in a CONNACK unless rules/codes.ts names another packet),
// and whether the docs state it or the project infers it from their wording.
import { describeCode, REFUSAL, type RefusalCode, type RefusalName } from './codes.ts';

const LEARN = 'https://learn.microsoft.com/azure/event-grid';
export const SOURCES = {
  HOWTO: `${LEARN}/mqtt-establishing-multiple-sessions-per-client`,
  SUPPORT: `${LEARN}/mqtt-support`,
  CLIENTS: `${LEARN}/mqtt-clients`,
  CERTAUTH: `${LEARN}/mqtt-client-certificate-authentication`,
  LIFECYCLE: `${LEARN}/mqtt-client-life-cycle-events`,
  QUOTAS: `${LEARN}/quotas-limits`,
  RETAIN: `${LEARN}/mqtt-retain`,
  /** The life cycle events' disconnection reasons, one line each (KnownEventGridMqttClientDisconnectionReason). */
  REASONS: 'https://learn.microsoft.com/javascript/api/@azure/eventgrid/knowneventgridmqttclientdisconnectionreason',
  /** The MQTT 5 specification, for what Event Grid leaves to it (Maximum QoS, Server Keep Alive, malformed strings). */
  MQTT5: 'https://docs.oasis-open.org/mqtt/mqtt/v5.0/mqtt-v5.0.html',
  ARM: 'https://learn.microsoft.com/javascript/api/@azure/arm-eventgrid',
  ACCESS: `${LEARN}/mqtt-access-control`,
  TOPICSPACES: `${LEARN}/mqtt-topic-spaces`,
  CLIENTGROUPS: `${LEARN}/mqtt-client-groups`,
  /** Custom JWT ("OAuth 2.0 JWT"): the CONNECT and AUTH fields, MQTT 5 only, the audience. */
  CUSTOMJWT: `${LEARN}/mqtt-client-custom-jwt`,
  /** The namespace's custom authentication settings: issuer certificates, the token issuer, client attributes from claims. */
  JWTAUTH: `${LEARN}/authenticate-with-namespaces-using-json-web-tokens`,
  /** Microsoft Entra ID tokens (OAUTH2-JWT) and Azure RBAC: the CONNECT and AUTH fields, the audience, the two roles. */
  ENTRA: `${LEARN}/mqtt-client-microsoft-entra-token-and-rbac`,
  /** Webhook authentication: the request and response, the decision's reason codes. */
  WEBHOOK: `${LEARN}/authenticate-with-namespaces-using-webhook-authentication`,
  SHARED: `${LEARN}/mqtt-shared-subscriptions`,
} as const;

/**
 * How a client proves who it is. `certificate`: X.509 over TLS (A1-A6); `CUSTOM-JWT`: a token of the
 * namespace's own issuer in the MQTT 5 CONNECT (T1-T8); `webhook`: what a webhook decides (W1-W3);
 * `OAUTH2-JWT`: a Microsoft Entra ID token, authorized by Azure role assignments (E1, E2). The verdicts
 * are per rule, version and method.
 */
export type AuthenticationMethod = 'certificate' | 'CUSTOM-JWT' | 'webhook' | 'OAUTH2-JWT';
export const AUTHENTICATION_METHODS: readonly AuthenticationMethod[] = ['certificate', 'CUSTOM-JWT', 'webhook', 'OAUTH2-JWT'];

export type MqttVersion = '3.1.1' | '5';
export const MQTT_VERSIONS: readonly MqttVersion[] = ['3.1.1', '5'];

export interface Rule {
  id: string;
  title: string;
  sources: (keyof typeof SOURCES)[];
  /** The refusal(s) the rule expects of a packet that breaks it (a CONNECT unless the code names another); absent for rules that refuse nothing. */
  refusals?: readonly ExpectedRefusal[];
  versions: readonly MqttVersion[];
  /** Why the suite does not test it, for rules that cannot be observed from a client. */
  untestable?: string;
  /** Rules its scenarios presuppose: a broker that breaks one of those may fail this rule's scenarios too. */
  dependsOn?: readonly string[];
  /** Why the reference broker has no mutant that breaks this testable rule. */
  noMutant?: string;
  /** Near misses the scenarios try, each with the verdict expected and whether the docs say so. */
  readings?: readonly Reading[];
  /** The authentication methods its scenarios run under; default certificate only. */
  methods?: readonly AuthenticationMethod[];
  /**
   * Methods the rule cannot be observed under, with why (S2 is about a certificate): each report shows
   * the rule under them as not run, with that reason, rather than leaving the method out unexplained.
   */
  notUnder?: Partial<Record<AuthenticationMethod, string>>;
}

/** What a rule expects of one near miss: `case` is how its scenario's Examples row describes it. */
export interface Reading {
  case: string;
  expected: 'accepted' | 'refused';
  basis: 'documented' | 'inferred';
}

/** The authentication methods a rule's scenarios run under. */
export function methodsOf(rule: Rule): readonly AuthenticationMethod[] {
  return rule.methods ?? ['certificate'];
}

/** The methods a report shows a rule under: those its scenarios run under, and those it says it cannot be observed under. */
export function reportedMethodsOf(rule: Rule): readonly AuthenticationMethod[] {
  return AUTHENTICATION_METHODS.filter((method) => methodsOf(rule).includes(method) || rule.notUnder?.[method]);
}

/** The versions a method authenticates over: a token is MQTT 5's (its CONNECT's Authentication Method). */
const METHOD_VERSIONS: Record<AuthenticationMethod, readonly MqttVersion[]> = { certificate: ['3.1.1', '5'], 'CUSTOM-JWT': ['5'], webhook: ['3.1.1', '5'], 'OAUTH2-JWT': ['5'] };

/**
 * The versions a rule applies to under a method: a rule of several methods holds over the versions
 * each method has; a rule of one method has its own versions (T6 is about a token over 3.1.1).
 */
export function versionsUnder(rule: Rule, method: AuthenticationMethod): readonly MqttVersion[] {
  if (methodsOf(rule).length === 1 && methodsOf(rule)[0] === method) return rule.versions;
  return rule.versions.filter((version) => METHOD_VERSIONS[method].includes(version));
}

export interface ExpectedRefusal {
  /** The code, by its name in rules/codes.ts. */
  code: RefusalName;
  /** 'documented': the docs name this code; 'inferred': they name only the outcome, the code is the project's reading. */
  basis: 'documented' | 'inferred';
  /** For a rule that refuses in more than one way, or through another rule's check: what this code answers. */
  case?: string;
  /** The versions that refuse so, when not all of the rule's (the others accept what this case refuses). */
  versions?: readonly MqttVersion[];
}

const BOTH = MQTT_VERSIONS;
/** Rules that hold for a token's or a webhook's client as for a certificate's (Entra ID's are E1, E2's). */
const EVERY_METHOD: readonly AuthenticationMethod[] = ['certificate', 'CUSTOM-JWT', 'webhook'];
/** Session rules whose scenarios run under an Entra ID token too: one session held, taken, raced for. */
const ALL_METHODS: readonly AuthenticationMethod[] = AUTHENTICATION_METHODS;
/**
 * Why the rules about a certificate or a Username-less ClientID cannot be observed under the other
 * methods: the identity comes from the token or the webhook's answer, never from the TLS handshake or
 * the ClientID.
 */
const NO_CERTIFICATE = {
  'CUSTOM-JWT': "no certificate: the token names the client (T1), and the one token an identity holds serves each of its sessions in S1's CUSTOM-JWT scenario",
  webhook: "no certificate: the webhook names the client (W1) from what each CONNECT presents, and one password serves each of an identity's sessions in S1's webhook scenario",
  'OAUTH2-JWT': "no certificate: the Entra ID token names the client by its object id (E1), and one token serves each of a principal's sessions in S1's OAUTH2-JWT scenario",
} as const satisfies Partial<Record<AuthenticationMethod, string>>;
const NAME_FROM_CREDENTIAL = {
  'CUSTOM-JWT': "the token names the client whatever the Username (T1): without one the ClientID is still only the session name, and the token's identity opens a second session (T1's scenario without a Username)",
  webhook: "the webhook's clientAuthenticationName names the client whatever the Username (W1): without one the ClientID is still only the session name",
  'OAUTH2-JWT': "the Entra ID token's object id names the client whatever the Username (E1): without one the ClientID is still only the session name",
} as const satisfies Partial<Record<AuthenticationMethod, string>>;
const ENTRA: readonly AuthenticationMethod[] = ['OAUTH2-JWT'];
const TOKEN: readonly AuthenticationMethod[] = ['CUSTOM-JWT'];
const WEBHOOK: readonly AuthenticationMethod[] = ['webhook'];

export const RULES = [
  { id: 'S1', title: 'Username is the authentication name, ClientID the session name; one identity may hold several sessions', sources: ['HOWTO'], versions: BOTH, methods: ALL_METHODS },
  {
    id: 'S2',
    title: 'One client certificate authenticates every session of its identity',
    sources: ['HOWTO'],
    versions: BOTH,
    noMutant: 'the reference judges each CONNECT\'s certificate on its own (A1-A3) and keeps no certificate per session, so there is no check whose removal lets a certificate serve only one session',
    notUnder: NO_CERTIFICATE,
  },
  { id: 'S3', title: 'Without a Username the ClientID is the authentication name, so only one session is possible', sources: ['HOWTO', 'SUPPORT'], refusals: [{ code: 'badUserNameOrPassword', basis: 'inferred', case: 'via A2: the ClientID names no registered client' }], versions: BOTH, notUnder: NAME_FROM_CREDENTIAL },
  // S4: the pages collide. "The ClientId field is required" (SUPPORT's connection flow, HOWTO) against
  // Assigned Client Identifiers listed among the MQTT 5 features supported (SUPPORT, 2025). Read here:
  // MQTT 3.1.1 has no Assigned Client Identifier, so an empty ClientID is refused there under both;
  // over MQTT 5 the suite takes the target's answer as its reading (refused 0x85, or accepted with a
  // non-empty Assigned Client Identifier) and its report says which applied. The reference does either
  // (its namespace's reference.emptyClientId), refusing by default.
  {
    id: 'S4',
    title: 'An empty ClientID is refused over MQTT 3.1.1; over MQTT 5 it is refused, or given an Assigned Client Identifier',
    sources: ['HOWTO', 'SUPPORT'],
    refusals: [{ code: 'clientIdentifierNotValid', basis: 'inferred' }],
    versions: BOTH,
    methods: EVERY_METHOD,
  },
  // S5's intruders with no Username (and so S6's and S7's) are named by their certificates (A5).
  { id: 'S5', title: 'A session name is unique across the namespace', sources: ['HOWTO', 'SUPPORT'], refusals: [{ code: 'notAuthorized', basis: 'inferred' }], versions: BOTH, dependsOn: ['A5'], methods: ALL_METHODS },
  // S6 and S7 are S5's uniqueness for an active and for a held session: S5's mutant breaks both.
  { id: 'S6', title: "Another identity presenting an active session's name is refused as not authorized; the owner is undisturbed", sources: ['HOWTO', 'SUPPORT'], refusals: [{ code: 'notAuthorized', basis: 'inferred' }], versions: BOTH, dependsOn: ['S5'], methods: ALL_METHODS },
  { id: 'S7', title: 'A session left without being ended stays locked to its owner until it expires', sources: ['HOWTO', 'SUPPORT'], refusals: [{ code: 'notAuthorized', basis: 'inferred' }], versions: BOTH, dependsOn: ['L1', 'S5'], methods: EVERY_METHOD },
  // S8 (and A4): the owner in other letter case with no Username is named by its case-variant certificate (A5).
  { id: 'S8', title: 'The same identity reconnecting with a session name takes the session over and ends the older connection', sources: ['SUPPORT', 'LIFECYCLE'], versions: BOTH, dependsOn: ['L2', 'A5'], methods: ALL_METHODS },
  { id: 'S9', title: 'Sessions per authentication name, online and offline, are capped by the namespace limit', sources: ['ARM', 'SUPPORT'], refusals: [{ code: 'quotaExceeded', basis: 'inferred' }], versions: BOTH, dependsOn: ['S1'], methods: EVERY_METHOD },
  { id: 'S10', title: 'One connection attempt per second per session', sources: ['QUOTAS'], versions: BOTH, untestable: 'a pacing limit on the client; the suite paces itself against remote targets' },
  // Its 3.1.1 scenario observes the expiry through the lock: another identity is refused until then (S7).
  { id: 'L1', title: 'The Session Expiry Interval is capped at the namespace maximum and the value in force is reported', sources: ['SUPPORT', 'ARM'], versions: BOTH, dependsOn: ['S7'] },
  { id: 'L2', title: 'A persistent session keeps its subscriptions and missed QoS 1 messages', sources: ['SUPPORT'], versions: BOTH },
  { id: 'L3', title: 'Clean Start discards the previous session', sources: ['SUPPORT'], versions: BOTH },
  { id: 'L4', title: 'Session connected and disconnected life cycle events are emitted', sources: ['LIFECYCLE'], versions: BOTH, untestable: 'life cycle events reach an Event Grid topic, not the MQTT client' },
  // Limits (issue 11). Values: rules/limits.ts. A refusal on SUBSCRIBE or PUBLISH names its packet in rules/codes.ts.
  { id: 'L5', title: 'A ClientID (session name) longer than 128 characters is refused, never truncated', sources: ['LIFECYCLE', 'HOWTO'], refusals: [{ code: 'clientIdentifierNotValid', basis: 'inferred' }], versions: BOTH },
  {
    id: 'L6',
    title: 'A Username (authentication name) longer than 128 characters is refused',
    sources: ['CLIENTS', 'LIFECYCLE'],
    refusals: [{ code: 'badUserNameOrPassword', basis: 'inferred' }],
    versions: BOTH,
    // Its scenario presents the Username that names the client (S1), as its control shows.
    dependsOn: ['S1'],
  },
  { id: 'L7', title: 'A ClientID or Username that is not well-formed UTF-8, or holds U+0000, is refused, never decoded lossily', sources: ['MQTT5', 'LIFECYCLE'], refusals: [{ code: 'malformedPacket', basis: 'inferred' }], versions: BOTH },
  { id: 'L8', title: "An offline session's queue holds at most 100 QoS 1 messages or 1 MB; past that the session ends (SessionOverflow)", sources: ['SUPPORT', 'REASONS'], versions: BOTH, dependsOn: ['L2'] },
  // A Will of QoS 2: MQTT 5 refuses the CONNECT [MQTT-3.2.2-12, with the code it recommends]; Event Grid's
  // docs say only "Maximum QoS is 1". MQTT 3.1.1 has neither a code for it nor a rule against it (a
  // 3.1.1 server may only grant a subscription less), and every subscription is granted QoS 1 at most,
  // so the will would reach no one at QoS 2: the reading is that the CONNECT is accepted and the will
  // published at QoS 1 [inferred; Event Grid documents no outcome].
  {
    id: 'L9',
    title: 'Maximum QoS is 1: a QoS 2 subscription is granted QoS 1, a QoS 2 PUBLISH ends the connection, and an MQTT 5 CONNECT with a QoS 2 Will is refused (MQTT 3.1.1: published at QoS 1)',
    sources: ['SUPPORT', 'MQTT5'],
    refusals: [
      { code: 'qosNotSupported', basis: 'inferred', case: 'a QoS 2 PUBLISH' },
      { code: 'willQosNotSupported', basis: 'inferred', case: 'a Will of QoS 2', versions: ['5'] },
    ],
    versions: BOTH,
    dependsOn: ['P1'],
  },
  { id: 'L10', title: 'A session holds at most 50 subscriptions; one more is refused', sources: ['QUOTAS'], refusals: [{ code: 'subscriptionQuotaExceeded', basis: 'inferred' }], versions: BOTH },
  {
    id: 'L11',
    title: 'Topics and topic filters are at most 256 bytes and 15 levels',
    sources: ['QUOTAS'],
    refusals: [
      { code: 'topicFilterInvalid', basis: 'inferred', case: 'SUBSCRIBE' },
      { code: 'topicNameInvalid', basis: 'inferred', case: 'PUBLISH' },
    ],
    versions: BOTH,
    // Its control publishes on the client's own topics.
    dependsOn: ['P1'],
  },
  { id: 'L12', title: 'Retained messages are kept and delivered to later subscribers', sources: ['RETAIN'], versions: BOTH, dependsOn: ['P1'] },
  { id: 'L13', title: 'A Keep Alive above 1,160 s is lowered and the CONNACK says so (Server Keep Alive)', sources: ['SUPPORT', 'QUOTAS', 'MQTT5'], versions: ['5'] },
  { id: 'L14', title: 'A connection silent for one and a half times its Keep Alive is closed', sources: ['MQTT5', 'REASONS'], versions: BOTH },
  {
    id: 'L15',
    title: 'Packets are at most 512 KiB: the MQTT 5 CONNACK announces it, and a larger packet, a CONNECT included, ends the connection unread',
    sources: ['SUPPORT', 'QUOTAS', 'MQTT5'],
    refusals: [{ code: 'packetTooLarge', basis: 'inferred' }],
    versions: BOTH,
    // Its control publishes on the client's own topics.
    dependsOn: ['P1'],
  },
  // The client's own limits (MQTT 5 flow control), which Event Grid documents it honours.
  {
    id: 'L16',
    title: "The client's flow control is kept: no PUBLISH larger than its Maximum Packet Size is sent to it, and no more unacknowledged QoS 1 messages than its Receive Maximum",
    sources: ['SUPPORT', 'MQTT5'],
    versions: ['5'],
    // Its scenarios publish on the client's own topics.
    dependsOn: ['P1'],
  },
  // 2025-26 limits (issue 28): SUPPORT and QUOTAS give Topic Alias Maximum 10; what a PUBLISH past it
  // gets is MQTT 5's (inferred).
  {
    id: 'L17',
    title: 'Topic Alias Maximum is 10: the MQTT 5 CONNACK announces it, aliases 1 to 10 are taken, and a PUBLISH with a higher one ends the connection',
    sources: ['SUPPORT', 'QUOTAS', 'MQTT5'],
    refusals: [{ code: 'topicAliasInvalid', basis: 'inferred' }],
    versions: ['5'],
    // Its scenario publishes on the client's own topics.
    dependsOn: ['P1'],
  },
  // RETAIN (2025): "Maximum size per retained message is 64 KB" (read as 64 KiB of payload, as L12's value);
  // what a larger retained PUBLISH gets is not documented. The reading: it is refused as a PUBLISH past a
  // quota, neither kept nor delivered (MQTT 5 PUBACK 0x97; MQTT 3.1.1 has no negative PUBACK, so the
  // connection is closed, as for P2) [inferred]; the retained message from before stays.
  {
    id: 'L18',
    title: 'A retained message is at most 64 KB: a larger retained PUBLISH is refused and not kept; the one kept before stays',
    sources: ['RETAIN'],
    refusals: [{ code: 'retainedTooLarge', basis: 'inferred' }],
    versions: BOTH,
    // Its scenario's later subscriber must get the retained message kept (L12), on the client's own topic (P1).
    dependsOn: ['L12', 'P1'],
  },
  // SUPPORT (MQTT 5 limitations): "Maximum will delay interval is 300". By analogy with the Session
  // Expiry Interval and Keep Alive, which the pages say are lowered to the maximum, a longer Will Delay
  // Interval is lowered to 300 s [inferred]; the reference does so.
  {
    id: 'L19',
    title: 'The Will Delay Interval is at most 300 s: a longer one is lowered to 300 s',
    sources: ['SUPPORT'],
    versions: ['5'],
    untestable: 'a lowered Will Delay Interval shows only when a will comes out 300 s after its connection was lost rather than later, a wait of five minutes and more per case, longer than a scenario may take',
  },
  // QUOTAS: inbound in-flight MQTT messages per session 1,000 (and 64 KB in flight); outbound 100
  // (event-grid-rules section 6). Inbound: the namespace acknowledges each PUBLISH as it takes it, so a
  // client never holds 1,000 unacknowledged ones it could count, and MQTT 5 gives the server no way to
  // announce it (its Receive Maximum is not documented as this value). Outbound: the pages do not say
  // what happens to the 101st message (held back, or dropped), and the client's own Receive Maximum (L16)
  // governs the same window below 100.
  {
    id: 'L20',
    title: 'In-flight QoS 1 messages per session are at most 1,000 inbound and 100 outbound',
    sources: ['QUOTAS'],
    versions: BOTH,
    untestable: 'inbound, the namespace acknowledges each PUBLISH as it takes it, so no client-side count reaches the limit; outbound, the pages say neither what becomes of the message past 100 nor how it differs from the client\'s own Receive Maximum (L16), which the suite tests',
  },
  // QUOTAS lists limits on the topic filters of one SUBSCRIBE and on the rate of SUBSCRIBE and
  // UNSUBSCRIBE requests per session; the copies of the page this project could read (2023-26) give no
  // number for either, and a rate limit is one the suite must not exercise against a namespace.
  {
    id: 'L21',
    title: 'Topic filters per SUBSCRIBE and SUBSCRIBE/UNSUBSCRIBE requests per second per session are limited',
    sources: ['QUOTAS'],
    versions: BOTH,
    untestable: 'no number for either limit is in the pages read, so none can be tested; and a rate limit could only be shown by sending past it, which the suite does not do to a namespace (as S10)',
  },
  // QUOTAS (2025-26; the copies of the page read here predate it, event-grid-rules section 6 reports it):
  // MQTT 5 Authentication Data at most 8 KB (read as 8 KiB). What a larger one gets is not documented:
  // a CONNECT is refused as bad credentials, as a token that fails its checks is (T1-T5), and an AUTH
  // ends the connection as a failed re-authentication does (T7) [inferred].
  {
    id: 'L22',
    title: 'Authentication Data is at most 8 KB: a CONNECT whose token is larger is refused, an AUTH with one ends the connection',
    sources: ['QUOTAS', 'CUSTOMJWT'],
    refusals: [
      { code: 'badUserNameOrPassword', basis: 'inferred', case: 'a CONNECT' },
      { code: 'authenticationEnded', basis: 'inferred', case: 'an AUTH' },
    ],
    versions: ['5'],
    methods: TOKEN,
    // Its control is the identity's token padded to the limit, which T1 must accept.
    dependsOn: ['T1'],
  },
  // Protocol validation (issue 12): what MQTT 5 makes a protocol error, refused before aedes uses it.
  {
    id: 'M1',
    title: 'A packet that breaks an MQTT 5 property rule (a property twice, one its packet may not carry, a value out of range) is refused with 0x82 and its connection closed; the broker keeps serving',
    sources: ['MQTT5', 'SUPPORT'],
    refusals: [{ code: 'protocolError', basis: 'inferred' }],
    versions: ['5'],
  },
  // Event Grid lists Subscription Identifiers among MQTT 5's unsupported features; what a client that sends
  // one sees is not documented: the code is MQTT 5's for a server that does not support them.
  {
    id: 'M2',
    title: 'Subscription Identifiers are not supported: the MQTT 5 CONNACK says so, and a SUBSCRIBE carrying one ends the connection',
    sources: ['SUPPORT', 'MQTT5'],
    refusals: [{ code: 'subscriptionIdentifiersNotSupported', basis: 'inferred' }],
    versions: ['5'],
  },
  // Shared subscriptions (issue 28). SHARED (2026): each message to one active session of the group,
  // groups independent, shared and plain subscriptions in one session; "MQTT 5 only feature", and
  // "MQTT 3.1.1 clients attempting $share/... will be disconnected" (M6) [documented]; "if a client
  // disconnects and session expires, messages might be reassigned; persistent sessions improve
  // reliability": a member's persistent session keeps the messages given it, and with no member
  // connected a message waits in one member's session rather than being lost [inferred]. No retained
  // message on joining a group (MQTT 5 4.8.2, which SHARED does not contradict) [inferred].
  {
    id: 'M3',
    title: 'Shared subscriptions: each message matching $share/{group}/{filter} goes to one active session of the group, or waits in a held member\'s session while none is connected; groups are independent; no retained message on joining; access control judges the filter after the group',
    sources: ['SHARED', 'SUPPORT', 'MQTT5'],
    refusals: [{ code: 'subscribeNotAuthorized', basis: 'inferred', case: 'a shared filter outside the topic spaces' }],
    versions: ['5'],
    dependsOn: ['P1'],
  },
  {
    id: 'M6',
    title: 'Shared subscriptions are MQTT 5 only: an MQTT 3.1.1 client subscribing to $share/... is disconnected',
    sources: ['SHARED'],
    refusals: [{ code: 'sharedSubscriptionOverMqtt311', basis: 'documented' }],
    versions: ['3.1.1'],
    // Its control is a plain subscription on the client's own topic.
    dependsOn: ['P1'],
  },
  // SUPPORT (MQTT 5 limitations): "CONNACK doesn't return Response Information property even if the
  // CONNECT request contains Request Response Information property" [documented].
  {
    id: 'M4',
    title: 'Response Information is not given: an MQTT 5 CONNECT asking for it (Request Response Information 1) is accepted with a CONNACK that carries none',
    sources: ['SUPPORT', 'MQTT5'],
    versions: ['5'],
  },
  // SUPPORT (MQTT 5 limitations): "User Properties on CONNECT, SUBSCRIBE, DISCONNECT, PUBACK, AUTH packets
  // aren't used by the service so they're not supported. If any of these requests include user
  // properties, the request fails" [documented]; the codes are the project's reading: MQTT 5's
  // Implementation specific error, "valid, but not accepted by this server", in the CONNACK and in the
  // SUBACK, and a DISCONNECT for a PUBACK or AUTH (a server cannot refuse either otherwise) [inferred].
  // A DISCONNECT's failure cannot be seen (the connection ends either way). MQTT 3.1.1 has no properties.
  {
    id: 'M5',
    title: 'User Properties on CONNECT, SUBSCRIBE, PUBACK, AUTH and DISCONNECT are not supported: a CONNECT or SUBSCRIBE carrying them is refused, a PUBACK or AUTH ends the connection',
    sources: ['SUPPORT', 'MQTT5'],
    refusals: [
      { code: 'userPropertiesNotSupported', basis: 'inferred', case: 'a CONNECT' },
      { code: 'userPropertiesEndConnection', basis: 'inferred', case: 'a PUBACK, AUTH or DISCONNECT' },
      { code: 'subscribeUserPropertiesNotSupported', basis: 'inferred', case: 'a SUBSCRIBE' },
    ],
    versions: ['5'],
    // Its SUBSCRIBE scenario subscribes on the client's own topics.
    dependsOn: ['P1'],
  },
  { id: 'A1', title: 'A client must present a certificate over TLS', sources: ['SUPPORT', 'CERTAUTH'], refusals: [{ code: 'badUserNameOrPassword', basis: 'inferred' }], versions: BOTH },
  { id: 'A2', title: 'Only registered, enabled clients are accepted', sources: ['CLIENTS', 'LIFECYCLE'], refusals: [{ code: 'badUserNameOrPassword', basis: 'inferred', case: 'unregistered' }, { code: 'notAuthorized', basis: 'inferred', case: 'disabled' }], versions: BOTH },
  {
    id: 'A3',
    title: "The certificate must prove the authentication name under the client's validation scheme",
    sources: ['CLIENTS', 'CERTAUTH'],
    refusals: [{ code: 'badUserNameOrPassword', basis: 'inferred' }],
    versions: BOTH,
    dependsOn: ['S1'],
    // The docs say the scheme's field must match the name, and that names compare without regard to
    // case (CLIENTS); that nothing looser matches is the project's reading.
    readings: [
      { case: 'in other letter case', expected: 'accepted', basis: 'documented' },
      { case: 'in the second of its two DNS names', expected: 'accepted', basis: 'inferred' },
      { case: 'its subject CN is its name and one more letter', expected: 'refused', basis: 'inferred' },
      { case: 'its subject CN is its name less the last letter', expected: 'refused', basis: 'inferred' },
      { case: 'its subject CN ends with its name', expected: 'refused', basis: 'inferred' },
      { case: 'its subject CN is its name and a space', expected: 'refused', basis: 'inferred' },
      { case: 'its subject CN is its name and a dot', expected: 'refused', basis: 'inferred' },
      { case: 'its subject CN has Cyrillic look-alike letters', expected: 'refused', basis: 'inferred' },
      { case: 'its subject CN is its name decomposed (NFD)', expected: 'refused', basis: 'inferred' },
      { case: 'its subject has two CNs, its name in the second', expected: 'refused', basis: 'inferred' },
    ],
  },
  {
    id: 'A4',
    title: 'Authentication names compare without regard to case, and an empty one names no client',
    sources: ['CLIENTS'],
    refusals: [{ code: 'badUserNameOrPassword', basis: 'inferred', case: 'an empty Username, or one naming no client' }],
    versions: BOTH,
    dependsOn: ['S1', 'A5'],
  },
  {
    id: 'A5',
    title: 'With no Username, the authentication name is read from the configured certificate fields in order',
    sources: ['CERTAUTH', 'ARM'],
    refusals: [{ code: 'badUserNameOrPassword', basis: 'inferred' }],
    versions: BOTH,
    // Which CN of a subject with several names the client the docs do not say: the project's reading is none.
    readings: [{ case: 'its subject has two CNs, its name in the second', expected: 'refused', basis: 'inferred' }],
  },
  { id: 'A6', title: 'Failed authentication is refused at CONNECT', sources: ['CERTAUTH'], refusals: [{ code: 'badUserNameOrPassword', basis: 'inferred', case: 'via A3: the certificate does not prove the name' }], versions: BOTH, dependsOn: ['A3'] },
  // A7 (issue 25): the life cycle reason ClientAuthenticationError is documented for "client got disabled,
  // or client configuration changed" (REASONS; LIFECYCLE's disconnectionReason): a live connection ends.
  // The DISCONNECT code is the project's reading (a DISCONNECT cannot carry 0x86 Bad User Name or Password).
  // The suite changes the client through the reference's management API: against Event Grid the change is
  // `az eventgrid namespace client update`, which the suite does not run.
  {
    id: 'A7',
    title: 'A live connection of a client that is disabled, or whose credentials change, is ended (life cycle: ClientAuthenticationError)',
    sources: ['CLIENTS', 'LIFECYCLE', 'REASONS'],
    refusals: [{ code: 'authenticationEnded', basis: 'inferred' }],
    versions: BOTH,
    // Its control, another client's session, receives on its own topics.
    dependsOn: ['P1'],
  },
  // Access control (issue 14): client groups, topic spaces, permission bindings (eventgrid/access-control.ts).
  { id: 'P1', title: 'A client publishes and subscribes on the topic spaces its client group is bound to', sources: ['ACCESS', 'CLIENTGROUPS', 'TOPICSPACES'], versions: BOTH, methods: EVERY_METHOD },
  // A Will is a PUBLISH the namespace makes for the client: Event Grid supports wills (SUPPORT) but does
  // not say how their topic is authorized. The reading: as a PUBLISH, at CONNECT, which is refused as not
  // authorized (so that the client learns at once, as brokers with access control commonly answer)
  // rather than a will accepted and silently never delivered [inferred].
  {
    id: 'P2',
    title: 'A SUBSCRIBE outside the bound topic spaces is refused as not authorized; a PUBLISH outside them is not delivered; a CONNECT whose Will lies outside them is refused as not authorized',
    sources: ['ACCESS', 'TOPICSPACES', 'SUPPORT'],
    refusals: [
      { code: 'subscribeNotAuthorized', basis: 'inferred', case: 'SUBSCRIBE' },
      { code: 'publishNotAuthorized', basis: 'inferred', case: 'PUBLISH' },
      { code: 'notAuthorized', basis: 'inferred', case: 'a Will' },
    ],
    versions: BOTH,
    dependsOn: ['P1'],
  },
  {
    id: 'P3',
    title: "A topic template variable gives each client its own topics: one client may not use another's, for its Will either",
    sources: ['ACCESS', 'TOPICSPACES', 'SUPPORT'],
    refusals: [
      { code: 'subscribeNotAuthorized', basis: 'inferred', case: 'SUBSCRIBE' },
      { code: 'publishNotAuthorized', basis: 'inferred', case: 'PUBLISH' },
      { code: 'notAuthorized', basis: 'inferred', case: 'a Will' },
    ],
    versions: BOTH,
    methods: EVERY_METHOD,
    dependsOn: ['P1'],
  },
  {
    id: 'P4',
    title: "Every session of a client has the client's permissions",
    sources: ['ACCESS', 'HOWTO'],
    // Its scenario's second session is refused another client's topic: P3's refusal, judged as P4's.
    refusals: [{ code: 'subscribeNotAuthorized', basis: 'inferred', case: "via P3: another client's topic" }],
    versions: BOTH,
    dependsOn: ['P1', 'P3', 'S1'],
  },
  // P5 (issue 25): ClientAuthorizationError is documented for "a change in the configuration of topic
  // spaces, permission bindings, or client groups" (REASONS): the suite changes a client's attributes so
  // that it leaves its client group, through the reference's management API (as A7). The code is the
  // project's reading, as A7's.
  {
    id: 'P5',
    title: 'A live connection whose client is moved into or out of a client group is ended (life cycle: ClientAuthorizationError)',
    sources: ['CLIENTGROUPS', 'LIFECYCLE', 'REASONS'],
    refusals: [{ code: 'accessChanged', basis: 'inferred' }],
    versions: BOTH,
    // Its control, another client's session, receives on its own topics.
    dependsOn: ['P1'],
  },
  // Custom JWT (issue 25). What the docs say: MQTT 5 only; CONNECT Authentication Method CUSTOM-JWT with
  // the token as Authentication Data, and an AUTH packet of reason 25 (0x19) with a fresh one
  // re-authenticates (CUSTOMJWT); the namespace holds the issuer's public-key certificates and the
  // expected issuer, the client identity and attributes come from the token, no client is registered
  // (JWTAUTH). The audience is documented three ways ("https://eventgrid.azure.net/",
  // "https://NS.ts.eventgrid.azure.net/", "NSREGION-1.ts.eventgrid.azure.net/"): it is a namespace
  // setting here. Where they are silent, the project's reading: the subject claim (sub) names the
  // client (the Username is not read); refusal codes are MQTT 5's for the outcome.
  {
    id: 'T1',
    title: "A CONNECT with Authentication Method CUSTOM-JWT and a token of the namespace's issuer is accepted without a client certificate; the token's subject names the client",
    sources: ['CUSTOMJWT', 'JWTAUTH'],
    refusals: [{ code: 'badUserNameOrPassword', basis: 'inferred', case: 'a token with no subject' }],
    versions: ['5'],
    methods: TOKEN,
  },
  { id: 'T2', title: 'A token past its expiry (exp) or before its start (nbf) is refused', sources: ['CUSTOMJWT', 'JWTAUTH'], refusals: [{ code: 'badUserNameOrPassword', basis: 'inferred' }], versions: ['5'], methods: TOKEN, dependsOn: ['T1'] },
  { id: 'T3', title: "A token whose issuer (iss) or audience (aud) is not the namespace's is refused", sources: ['CUSTOMJWT', 'JWTAUTH'], refusals: [{ code: 'badUserNameOrPassword', basis: 'inferred' }], versions: ['5'], methods: TOKEN, dependsOn: ['T1'] },
  { id: 'T4', title: "A token not signed by the key of one of the namespace's issuer certificates (at most two) is refused", sources: ['JWTAUTH'], refusals: [{ code: 'badUserNameOrPassword', basis: 'inferred' }], versions: ['5'], methods: TOKEN, dependsOn: ['T1'] },
  { id: 'T5', title: 'A token presented under another Authentication Method name than CUSTOM-JWT is refused', sources: ['CUSTOMJWT'], refusals: [{ code: 'badAuthenticationMethod', basis: 'inferred' }], versions: ['5'], methods: TOKEN, dependsOn: ['T1'] },
  { id: 'T6', title: 'Token authentication is MQTT 5 only: an MQTT 3.1.1 CONNECT presenting a token as its password, with no certificate, is refused', sources: ['CUSTOMJWT'], refusals: [{ code: 'badUserNameOrPassword', basis: 'inferred' }], versions: ['3.1.1'], methods: TOKEN },
  {
    id: 'T7',
    title: 'An AUTH packet of reason 0x19 with a fresh token re-authenticates and the connection is kept; one with a token that fails the checks ends the connection',
    sources: ['CUSTOMJWT'],
    refusals: [{ code: 'authenticationEnded', basis: 'inferred' }],
    versions: ['5'],
    methods: TOKEN,
    // Its failing re-authentications present an expired and a forged token, which T2 and T4 refuse.
    dependsOn: ['T1', 'T2', 'T4'],
  },
  {
    id: 'T8',
    title: 'A connection whose token expires without re-authentication is ended (life cycle: ClientAuthenticationError)',
    sources: ['CUSTOMJWT', 'LIFECYCLE', 'REASONS'],
    refusals: [{ code: 'authenticationEnded', basis: 'inferred' }],
    versions: ['5'],
    methods: TOKEN,
    dependsOn: ['T1'],
  },
  // Microsoft Entra ID (issue 25). What the docs say (ENTRA): MQTT 5 only; CONNECT Authentication Method
  // OAUTH2-JWT with the token as Authentication Data, AUTH 0x19 re-authenticates; aud must be
  // https://eventgrid.azure.net/; only managed identities and service principals; publishing and
  // subscribing are granted by the built-in roles EventGrid TopicSpaces Publisher and Subscriber, at
  // namespace or topic space scope. Where they are silent, the project's reading: the token's object id
  // (oid) names the client, as a principal's role assignments do (its sub is per application); permission
  // bindings do not apply to it; its token is checked as a custom JWT's is (T2-T5) against the tenant's
  // issuers. The reference's tenant is a local stand-in (reference.entraId).
  {
    id: 'E1',
    title: "A CONNECT with Authentication Method OAUTH2-JWT and a Microsoft Entra ID token of the namespace's tenant, for https://eventgrid.azure.net/, is accepted; its object id (oid) names the client",
    sources: ['ENTRA'],
    refusals: [{ code: 'badUserNameOrPassword', basis: 'inferred', case: 'another tenant' }],
    versions: ['5'],
    methods: ENTRA,
    // Its client shows its name by the topics its role assignments grant it.
    dependsOn: ['E2'],
  },
  {
    id: 'E2',
    title: 'An Entra ID client publishes and subscribes where its role assignments (EventGrid TopicSpaces Publisher, Subscriber) allow, and nowhere else; permission bindings do not apply to it',
    sources: ['ENTRA', 'ACCESS'],
    refusals: [
      { code: 'subscribeNotAuthorized', basis: 'inferred', case: 'SUBSCRIBE' },
      { code: 'publishNotAuthorized', basis: 'inferred', case: 'PUBLISH' },
    ],
    versions: ['5'],
    methods: ENTRA,
    // Role assignments are by principal: a client named otherwise has none.
    dependsOn: ['E1'],
  },
  // Webhook authentication (issue 25). What the docs say (WEBHOOK): the namespace POSTs the CONNECT's
  // clientId, userName, password, authenticationMethod and -Data (base64) and the client certificate to
  // the webhook; it answers 200 with {decision: allow, clientAuthenticationName, attributes,
  // expiration} or {decision: deny, errorReason}; deny is "Not authorized", a timeout or failure
  // "Server unavailable"; it should answer within about 5 s. Where they are silent, the project's
  // reading: every CONNECT that names no token method goes to the webhook, and an answer that is not
  // such JSON is a failure.
  { id: 'W1', title: "With webhook authentication, an \"allow\" decision accepts the CONNECT and its clientAuthenticationName names the client", sources: ['WEBHOOK'], versions: BOTH, methods: WEBHOOK },
  { id: 'W2', title: 'A "deny" decision is refused as not authorized', sources: ['WEBHOOK'], refusals: [{ code: 'notAuthorized', basis: 'documented' }], versions: BOTH, methods: WEBHOOK, dependsOn: ['W1'] },
  {
    id: 'W3',
    title: 'A webhook that does not answer in time, fails or answers nonsense is refused as server unavailable, never a hang',
    sources: ['WEBHOOK'],
    refusals: [{ code: 'serverUnavailable', basis: 'documented' }],
    versions: BOTH,
    methods: WEBHOOK,
    dependsOn: ['W1'],
  },
] as const satisfies readonly Rule[];

export type RuleId = (typeof RULES)[number]['id'];

/** The rules by id: scenario tags are looked up here for every scenario and progress line. */
const RULES_BY_ID = new Map<string, Rule>((RULES as readonly Rule[]).map((rule) => [rule.id, rule]));

export function findRule(id: string): Rule | undefined {
  return RULES_BY_ID.get(id);
}

/** A rule's expected refusal: its only one, or the one for the case given; undefined when there is none such. */
export function expectedRefusal(id: string, refusalCase?: string): ExpectedRefusal | undefined {
  const refusals = findRule(id)?.refusals ?? [];
  if (refusalCase === undefined) return refusals.length === 1 ? refusals[0] : undefined;
  return refusals.find((refusal) => refusal.case === refusalCase);
}

/** "0x87 / 5, inferred": a rule's expected refusals as the README and the report show them. */
export function describeRefusals(rule: Rule): string {
  if (!rule.refusals?.length) return 'none';
  return rule.refusals
    .map(({ code, basis, case: refusalCase, versions }) => {
      const { packet, reasonCode, returnCode }: RefusalCode = REFUSAL[code];
      const shownReturnCode = returnCode === undefined ? 'closed' : packet === 'SUBACK' ? `0x${returnCode.toString(16)}` : returnCode;
      const only = versions && versions.length < rule.versions.length ? versions : undefined;
      const shownOnly = only && (only[0] === '5' ? describeCode('5', reasonCode).split(' ')[0] : returnCode === undefined ? 'closed' : describeCode('3.1.1', returnCode).split(' ')[0]);
      const shown = shownOnly ?? `${describeCode('5', reasonCode).split(' ')[0]} / ${shownReturnCode}`;
      const codes = `${packet ? `${packet} ` : ''}${shown}`;
      const what = [refusalCase, only && `MQTT ${only.join(', ')} only`].filter(Boolean).join(', ');
      return `${codes}, ${basis}${what ? ` (${what})` : ''}`;
    })
    .join('; ');
}
