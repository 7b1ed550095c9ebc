// The rule catalogue: the single source of rule ids for the reference broker, the Gherkin scenarios
// and the reports. Titles are the project's own summary of what Microsoft documents; `code` says
// whether the exact MQTT code a refusal uses is documented or inferred from the docs' wording.

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
} as const;

export type MqttVersion = '3.1.1' | '5';
export const MQTT_VERSIONS: readonly MqttVersion[] = ['3.1.1', '5'];

export interface Rule {
  id: string;
  title: string;
  sources: (keyof typeof SOURCES)[];
  code: 'documented' | 'inferred' | 'not applicable';
  versions: readonly MqttVersion[];
  /** Why the suite does not test it, for rules that cannot be observed from a client. */
  untestable?: string;
  /** Rules its scenarios presuppose: a broker that breaks one of those may fail this rule's scenarios too. */
  dependsOn?: readonly string[];
}

const BOTH = MQTT_VERSIONS;

export const RULES = [
  { id: 'S1', title: 'Username is the authentication name, ClientID the session name; one identity may hold several sessions', sources: ['HOWTO'], code: 'not applicable', versions: BOTH },
  { id: 'S2', title: 'One client certificate authenticates every session of its identity', sources: ['HOWTO'], code: 'not applicable', versions: BOTH },
  { id: 'S3', title: 'Without a Username the ClientID is the authentication name, so only one session is possible', sources: ['HOWTO', 'SUPPORT'], code: 'inferred', versions: BOTH },
  { id: 'S4', title: 'An empty ClientID is refused', sources: ['HOWTO', 'SUPPORT'], code: 'inferred', versions: BOTH },
  { id: 'S5', title: 'A session name is unique across the namespace', sources: ['HOWTO', 'SUPPORT'], code: 'inferred', versions: BOTH },
  { id: 'S6', title: "Another identity presenting an active session's name is refused as not authorized; the owner is undisturbed", sources: ['HOWTO', 'SUPPORT'], code: 'inferred', versions: BOTH },
  { id: 'S7', title: 'A session left without being ended stays locked to its owner until it expires', sources: ['HOWTO', 'SUPPORT'], code: 'inferred', versions: BOTH, dependsOn: ['L1'] },
  { id: 'S8', title: 'The same identity reconnecting with a session name takes the session over and ends the older connection', sources: ['SUPPORT', 'LIFECYCLE'], code: 'inferred', versions: BOTH, dependsOn: ['L2'] },
  { id: 'S9', title: 'Sessions per authentication name, online and offline, are capped by the namespace limit', sources: ['ARM', 'SUPPORT'], code: 'inferred', versions: BOTH, dependsOn: ['S1'] },
  { id: 'S10', title: 'One connection attempt per second per session', sources: ['QUOTAS'], code: 'not applicable', versions: BOTH, untestable: 'a pacing limit on the client; the suite paces itself against remote targets' },
  { id: 'L1', title: 'The Session Expiry Interval is capped at the namespace maximum and the value in force is reported', sources: ['SUPPORT', 'ARM'], code: 'inferred', versions: BOTH },
  { id: 'L2', title: 'A persistent session keeps its subscriptions and missed QoS 1 messages', sources: ['SUPPORT'], code: 'not applicable', versions: BOTH },
  { id: 'L3', title: 'Clean Start discards the previous session', sources: ['SUPPORT'], code: 'not applicable', versions: BOTH },
  { id: 'L4', title: 'Session connected and disconnected life cycle events are emitted', sources: ['LIFECYCLE'], code: 'not applicable', versions: BOTH, untestable: 'life cycle events reach an Event Grid topic, not the MQTT client' },
  // Limits (issue 11). Values: rules/limits.ts; outcomes the docs leave open are marked inferred there.
  { id: 'L5', title: 'A ClientID (session name) longer than 128 characters is refused, never truncated', sources: ['LIFECYCLE', 'HOWTO'], code: 'inferred', versions: BOTH },
  { id: 'L6', title: 'A Username (authentication name) longer than 128 characters is refused', sources: ['CLIENTS', 'LIFECYCLE'], code: 'inferred', versions: BOTH, untestable: 'no client with a longer authentication name can be registered (A4), so its refusal looks like A2\'s to a client' },
  { id: 'L7', title: 'A ClientID or Username that is not well-formed UTF-8, or holds U+0000, is refused, never decoded lossily', sources: ['MQTT5', 'LIFECYCLE'], code: 'inferred', versions: BOTH },
  { id: 'L8', title: "An offline session's queue holds at most 100 QoS 1 messages or 1 MB; past that the session ends (SessionOverflow)", sources: ['SUPPORT', 'REASONS'], code: 'not applicable', versions: BOTH, dependsOn: ['L2'] },
  { id: 'L9', title: 'Maximum QoS is 1: a QoS 2 subscription is granted QoS 1 and a QoS 2 PUBLISH ends the connection', sources: ['SUPPORT', 'MQTT5'], code: 'inferred', versions: BOTH },
  { id: 'L10', title: 'A session holds at most 50 subscriptions; one more is refused', sources: ['QUOTAS'], code: 'inferred', versions: BOTH },
  { id: 'L11', title: 'Topics and topic filters are at most 256 bytes and 8 levels', sources: ['QUOTAS'], code: 'inferred', versions: BOTH },
  { id: 'L12', title: 'Retained messages are kept and delivered to later subscribers', sources: ['RETAIN'], code: 'not applicable', versions: BOTH },
  { id: 'L13', title: 'A Keep Alive above 1,160 s is lowered and the CONNACK says so (Server Keep Alive)', sources: ['SUPPORT', 'QUOTAS', 'MQTT5'], code: 'not applicable', versions: ['5'] },
  { id: 'L14', title: 'A connection silent for one and a half times its Keep Alive is closed', sources: ['MQTT5', 'REASONS'], code: 'not applicable', versions: BOTH },
  { id: 'L15', title: 'The CONNACK announces a Maximum Packet Size of 512 KiB', sources: ['SUPPORT', 'QUOTAS'], code: 'not applicable', versions: ['5'] },
  { id: 'A1', title: 'A client must present a certificate over TLS', sources: ['SUPPORT', 'CERTAUTH'], code: 'inferred', versions: BOTH },
  { id: 'A2', title: 'Only registered, enabled clients are accepted', sources: ['CLIENTS', 'LIFECYCLE'], code: 'inferred', versions: BOTH },
  { id: 'A3', title: "The certificate must prove the authentication name under the client's validation scheme", sources: ['CLIENTS', 'CERTAUTH'], code: 'inferred', versions: BOTH },
  { id: 'A4', title: 'Authentication names compare without regard to case', sources: ['CLIENTS'], code: 'not applicable', versions: BOTH },
  { id: 'A5', title: 'With no Username, the authentication name is read from the configured certificate fields in order', sources: ['CERTAUTH', 'ARM'], code: 'inferred', versions: BOTH },
  { id: 'A6', title: 'Failed authentication is refused at CONNECT', sources: ['CERTAUTH'], code: 'inferred', versions: BOTH, dependsOn: ['A3'] },
] as const satisfies readonly Rule[];

export type RuleId = (typeof RULES)[number]['id'];

export function findRule(id: string): Rule | undefined {
  return (RULES as readonly Rule[]).find((rule) => rule.id === id);
}
