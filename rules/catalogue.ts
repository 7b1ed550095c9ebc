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
  ARM: 'https://learn.microsoft.com/javascript/api/@azure/arm-eventgrid',
  ACCESS: `${LEARN}/mqtt-access-control`,
  TOPICSPACES: `${LEARN}/mqtt-topic-spaces`,
  CLIENTGROUPS: `${LEARN}/mqtt-client-groups`,
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
  { id: 'A1', title: 'A client must present a certificate over TLS', sources: ['SUPPORT', 'CERTAUTH'], code: 'inferred', versions: BOTH },
  { id: 'A2', title: 'Only registered, enabled clients are accepted', sources: ['CLIENTS', 'LIFECYCLE'], code: 'inferred', versions: BOTH },
  { id: 'A3', title: "The certificate must prove the authentication name under the client's validation scheme", sources: ['CLIENTS', 'CERTAUTH'], code: 'inferred', versions: BOTH },
  { id: 'A4', title: 'Authentication names compare without regard to case', sources: ['CLIENTS'], code: 'not applicable', versions: BOTH },
  { id: 'A5', title: 'With no Username, the authentication name is read from the configured certificate fields in order', sources: ['CERTAUTH', 'ARM'], code: 'inferred', versions: BOTH },
  { id: 'A6', title: 'Failed authentication is refused at CONNECT', sources: ['CERTAUTH'], code: 'inferred', versions: BOTH, dependsOn: ['A3'] },
  { id: 'P1', title: 'A client publishes and subscribes on the topic spaces its client group is bound to', sources: ['ACCESS', 'CLIENTGROUPS', 'TOPICSPACES'], code: 'not applicable', versions: BOTH },
  { id: 'P2', title: 'A SUBSCRIBE outside the bound topic spaces is refused as not authorized; a PUBLISH outside them is not delivered', sources: ['ACCESS', 'TOPICSPACES', 'SUPPORT'], code: 'inferred', versions: BOTH, dependsOn: ['P1'] },
  { id: 'P3', title: "A topic template variable gives each client its own topics: one client may not use another's", sources: ['ACCESS', 'TOPICSPACES'], code: 'inferred', versions: BOTH, dependsOn: ['P1'] },
  { id: 'P4', title: "Every session of a client has the client's permissions", sources: ['ACCESS', 'HOWTO'], code: 'not applicable', versions: BOTH, dependsOn: ['P1', 'P3', 'S1'] },
] as const satisfies readonly Rule[];

export type RuleId = (typeof RULES)[number]['id'];

export function findRule(id: string): Rule | undefined {
  return (RULES as readonly Rule[]).find((rule) => rule.id === id);
}
