// Event Grid's documented limits on MQTT sessions, as data: the value and the page that documents it.
// The reference broker takes these as its defaults and the suite's scenarios test these values; what a
// client sees past each (the code, documented or inferred) is its rule's in rules/catalogue.ts.
import { SOURCES } from './catalogue.ts';

export interface DocumentedLimit {
  value: number;
  source: string;
}

const { SUPPORT, QUOTAS, LIFECYCLE, RETAIN } = SOURCES;

export const LIMITS = {
  // LIFECYCLE: clientSessionName / clientAuthenticationName "up to 128 characters, UTF-8"; CLIENTS: 1 to 128 (L5, L6).
  nameCharacters: { value: 128, source: LIFECYCLE },
  // SUPPORT, "Session overflow": 100 messages or 1 MB (read as 1 MiB of payload), then the session is terminated (L8).
  sessionQueueMessages: { value: 100, source: SUPPORT },
  sessionQueueBytes: { value: 1024 * 1024, source: SUPPORT },
  // QUOTAS: subscriptions per MQTT session 50 (L10); topic size 256 bytes and 15 levels (L11; 8 before 2025).
  subscriptionsPerSession: { value: 50, source: QUOTAS },
  topicBytes: { value: 256, source: QUOTAS },
  topicLevels: { value: 15, source: QUOTAS },
  // SUPPORT: "Maximum QoS is 1"; 3.1.1: "a publish request ... with a QoS2 fails and closes the connection" (L9).
  maximumQos: { value: 1, source: SUPPORT },
  // SUPPORT: "Keep Alive Maximum is 1,160 seconds"; QUOTAS: maximum keep-alive interval 1160 (L13).
  keepAliveSeconds: { value: 1160, source: SUPPORT },
  // SUPPORT, QUOTAS (2025-26): Topic Alias Maximum 10 (L17).
  topicAliasMaximum: { value: 10, source: SUPPORT },
  // SUPPORT: "Maximum Packet Size is 512 KiB"; QUOTAS: max message size 512 KB (L15).
  maximumPacketSize: { value: 512 * 1024, source: SUPPORT },
  // RETAIN (2025): retain is supported (L12); at most 64 KB per retained message (L18).
  retainedMessageBytes: { value: 64 * 1024, source: RETAIN },
  // QUOTAS (2025-26, as event-grid-rules section 6 reports it): authentication data at most 8 KB (L22).
  authenticationDataBytes: { value: 8 * 1024, source: QUOTAS },
  // SUPPORT: "Maximum will delay interval is 300" (L19, lowered to it).
  willDelaySeconds: { value: 300, source: SUPPORT },
} as const satisfies Record<string, DocumentedLimit>;
