// Event Grid's documented limits on MQTT sessions, as data: the value, where it is documented, and what
// a client sees past it (documented, or the project's reading where the docs leave it open: inferred).
// The reference broker takes these as its defaults; the suite's scenarios test these values.
import { SOURCES } from './catalogue.ts';

export interface DocumentedLimit {
  value: number;
  source: string;
  outcome: string;
  /** Whether the docs say what happens past the limit. */
  outcomeIs: 'documented' | 'inferred';
}

const { SUPPORT, QUOTAS, LIFECYCLE, RETAIN } = SOURCES;

export const LIMITS = {
  // LIFECYCLE: clientSessionName / clientAuthenticationName "up to 128 characters, UTF-8"; CLIENTS: 1 to 128.
  nameCharacters: {
    value: 128,
    source: LIFECYCLE,
    outcome: 'refused at CONNECT: ClientID 0x85 / 2, Username 0x86 / 4',
    outcomeIs: 'inferred',
  },
  // SUPPORT, "Session overflow": 100 messages or 1 MB, then the session is terminated.
  sessionQueueMessages: { value: 100, source: SUPPORT, outcome: 'the session is terminated (SessionOverflow)', outcomeIs: 'documented' },
  sessionQueueBytes: { value: 1024 * 1024, source: SUPPORT, outcome: 'the session is terminated (SessionOverflow); 1 MB read as 1 MiB of payload', outcomeIs: 'documented' },
  subscriptionsPerSession: { value: 50, source: QUOTAS, outcome: 'the SUBSCRIBE is refused: SUBACK 0x97 Quota exceeded / 0x80', outcomeIs: 'inferred' },
  topicBytes: { value: 256, source: QUOTAS, outcome: 'SUBSCRIBE: SUBACK 0x8F / 0x80; PUBLISH: the connection ends (DISCONNECT 0x90)', outcomeIs: 'inferred' },
  topicLevels: { value: 8, source: QUOTAS, outcome: 'as topicBytes', outcomeIs: 'inferred' },
  // SUPPORT: "Maximum QoS is 1"; 3.1.1: "a publish request ... with a QoS2 fails and closes the connection".
  maximumQos: { value: 1, source: SUPPORT, outcome: 'QoS 2 PUBLISH ends the connection (DISCONNECT 0x9B over MQTT 5); QoS 2 SUBSCRIBE granted QoS 1', outcomeIs: 'inferred' },
  // SUPPORT: "Keep Alive Maximum is 1,160 seconds"; QUOTAS: maximum keep-alive interval 1160.
  keepAliveSeconds: { value: 1160, source: SUPPORT, outcome: 'MQTT 5: Server Keep Alive 1160 in CONNACK; 3.1.1: accepted, at most 1160 s applied', outcomeIs: 'inferred' },
  // SUPPORT: "Maximum Packet Size is 512 KiB"; QUOTAS: max message size 512 KB.
  maximumPacketSize: { value: 512 * 1024, source: SUPPORT, outcome: 'announced in the MQTT 5 CONNACK; a larger packet ends the connection', outcomeIs: 'documented' },
  // RETAIN (2025): retain is supported; at most 64 KB per retained message.
  retainedMessageBytes: { value: 64 * 1024, source: RETAIN, outcome: 'not said', outcomeIs: 'inferred' },
} as const satisfies Record<string, DocumentedLimit>;
