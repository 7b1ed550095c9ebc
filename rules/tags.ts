// The tag vocabulary of features/: rule tags (a catalogued rule id), version tags (one per Examples
// table) and capability tags (what a scenario needs of its target). The hooks, the report, the probe,
// the runner and the guard tests all read tags through this module.
import { findRule, type AuthenticationMethod, type MqttVersion, type RuleId } from './catalogue.ts';

export const VERSION_TAGS = { '@mqtt3': '3.1.1', '@mqtt5': '5' } as const satisfies Record<string, MqttVersion>;
export type VersionTag = keyof typeof VERSION_TAGS;

/**
 * The authentication method a scenario's clients use, when not the certificate (steps/world.ts): a token
 * of the set's local issuer, which the target must trust; or a password that the suite's test webhook
 * (reference/webhook-service.ts) allows, on a namespace that authenticates by it; or a token of the
 * reference's Microsoft Entra ID stand-in.
 */
export const METHOD_TAGS = { '@custom-jwt': 'CUSTOM-JWT', '@webhook': 'webhook', '@oauth2-jwt': 'OAUTH2-JWT' } as const satisfies Record<string, AuthenticationMethod>;
export type MethodTag = keyof typeof METHOD_TAGS;

/** The authentication method a scenario's clients use, from its tags. */
export function methodOfTags(tags: readonly string[]): AuthenticationMethod {
  const tag = tags.find((candidate): candidate is MethodTag => candidate in METHOD_TAGS);
  return tag ? METHOD_TAGS[tag] : 'certificate';
}

/** What a scenario needs of its target; steps/target.ts says, per tag, whether a target has it. */
export const CAPABILITY_TAGS = [
  '@needs-two-sessions',
  '@needs-three-sessions',
  '@needs-known-session-limit',
  '@needs-no-alternative-name-sources',
  '@on-alternative-names-namespace',
  '@slow',
  // A7: disables a client or changes its credentials mid-scenario (steps/target.ts: the embedded reference only).
  '@changes-clients',
] as const;
export type CapabilityTag = (typeof CAPABILITY_TAGS)[number];

export function versionTag(version: MqttVersion): VersionTag {
  return version === '5' ? '@mqtt5' : '@mqtt3';
}

/** The MQTT version a scenario runs over, from its tags. */
export function versionOfTags(tags: readonly string[]): MqttVersion | undefined {
  const tag = tags.find((candidate): candidate is VersionTag => candidate in VERSION_TAGS);
  return tag && VERSION_TAGS[tag];
}

export function ruleTag(id: string): string {
  return `@${id}`;
}

/** The catalogued rules a scenario's tags name. */
export function rulesOfTags(tags: readonly string[]): RuleId[] {
  return tags.flatMap((tag) => (tag.startsWith('@') && findRule(tag.slice(1)) ? [tag.slice(1) as RuleId] : []));
}

export function isCapabilityTag(tag: string): tag is CapabilityTag {
  return (CAPABILITY_TAGS as readonly string[]).includes(tag);
}

/** Whether the tag belongs to the vocabulary at all. */
export function isKnownTag(tag: string): boolean {
  return tag in VERSION_TAGS || tag in METHOD_TAGS || isCapabilityTag(tag) || rulesOfTags([tag]).length > 0;
}
