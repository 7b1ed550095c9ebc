// The MQTT codes a namespace refuses with, per protocol version. Where Event Grid documents only a word
// ("unauthorized"), the code is the project's reading of it, marked inferred in the rule catalogue.

export interface RefusalCode {
  /**
   * The packet that carries the refusal: a CONNACK unless said. SUBACK: that filter's code; DISCONNECT:
   * the refused PUBLISH ends the connection; PUBACK: the refused PUBLISH is not delivered and the
   * connection is kept (MQTT 5 answers a QoS 1 one with the code, and drops a QoS 0 one).
   */
  packet?: 'SUBACK' | 'DISCONNECT' | 'PUBACK';
  /** MQTT 5 reason code. */
  reasonCode: number;
  /** MQTT 3.1.1 return code (CONNACK) or 0x80 Failure (SUBACK); absent: 3.1.1 has none, the connection is closed. */
  returnCode?: number;
}

/** MQTT 3.1.1 SUBACK's only refusal: 0x80 Failure. */
const SUBACK_311_FAILURE = 0x80;

export const REFUSAL = {
  clientIdentifierNotValid: { reasonCode: 0x85, returnCode: 2 },
  badUserNameOrPassword: { reasonCode: 0x86, returnCode: 4 },
  notAuthorized: { reasonCode: 0x87, returnCode: 5 },
  // 3.1.1 has no quota code; "server unavailable" is the nearest refusal that is not about identity.
  quotaExceeded: { reasonCode: 0x97, returnCode: 3 },
  // L7: a malformed UTF-8 string makes the packet malformed; MQTT 3.1.1 closes the connection [MQTT-1.5.3-1].
  malformedPacket: { reasonCode: 0x81 },
  // M1: a protocol error (a property given twice, ...) closes the connection, after CONNACK or DISCONNECT 0x82
  // over MQTT 5 [MQTT-4.13.1-1]; 3.1.1 closes it with no code.
  protocolError: { reasonCode: 0x82 },
  // L9-L11: SUBSCRIBE and PUBLISH past a limit.
  subscriptionQuotaExceeded: { packet: 'SUBACK', reasonCode: 0x97, returnCode: SUBACK_311_FAILURE },
  topicFilterInvalid: { packet: 'SUBACK', reasonCode: 0x8f, returnCode: SUBACK_311_FAILURE },
  topicNameInvalid: { packet: 'DISCONNECT', reasonCode: 0x90 },
  qosNotSupported: { packet: 'DISCONNECT', reasonCode: 0x9b },
  // L9: an MQTT 5 CONNECT whose Will QoS exceeds the Maximum QoS is refused [MQTT-3.2.2-12]; MQTT 3.1.1
  // has no code for it, nor any rule against it: there the CONNECT is accepted (rules/catalogue.ts).
  willQosNotSupported: { reasonCode: 0x9b },
  // L15: a packet past the Maximum Packet Size ends the connection [MQTT-3.2.2-15]; one before CONNACK is only closed.
  packetTooLarge: { packet: 'DISCONNECT', reasonCode: 0x95 },
  // P2, P3: outside the client's permission bindings. Event Grid documents that MQTT 5 negative
  // acknowledgements use the specification's reason codes, not which: 0x87 Not authorized is inferred.
  // 3.1.1 has no negative PUBACK: the refused PUBLISH closes the connection (aedes' behaviour; Event
  // Grid's is undocumented and the suite only records it).
  subscribeNotAuthorized: { packet: 'SUBACK', reasonCode: 0x87, returnCode: SUBACK_311_FAILURE },
  publishNotAuthorized: { packet: 'PUBACK', reasonCode: 0x87 },
  // M2: a SUBSCRIBE carrying a Subscription Identifier, which the server announced it does not support,
  // is a protocol error answered with DISCONNECT 0xA1 (MQTT 5 3.2.2.3.12, 4.13); 3.1.1 has no identifiers.
  subscriptionIdentifiersNotSupported: { packet: 'DISCONNECT', reasonCode: 0xa1 },
  // L17: a PUBLISH whose Topic Alias is above the Topic Alias Maximum the CONNACK announced is a
  // protocol error answered with DISCONNECT 0x94 Topic Alias invalid [MQTT-3.3.2-9].
  topicAliasInvalid: { packet: 'DISCONNECT', reasonCode: 0x94 },
  // L18: a retained PUBLISH larger than a retained message may be (RETAIN: 64 KB) is not kept nor
  // delivered: MQTT 5 answers it with PUBACK 0x97 Quota exceeded; 3.1.1 has no negative PUBACK (closed).
  retainedTooLarge: { packet: 'PUBACK', reasonCode: 0x97 },
  // M5: User Properties on a CONNECT or a SUBSCRIBE: "the request fails" (SUPPORT); 0x83 Implementation
  // specific error is MQTT 5's code for a valid packet this server does not accept. MQTT 3.1.1 has none.
  userPropertiesNotSupported: { reasonCode: 0x83 },
  subscribeUserPropertiesNotSupported: { packet: 'SUBACK', reasonCode: 0x83 },
  userPropertiesEndConnection: { packet: 'DISCONNECT', reasonCode: 0x83 },
  // M6: SHARED documents that an MQTT 3.1.1 client attempting $share/... is disconnected; 3.1.1 has no
  // code, the connection is closed (the MQTT 5 code, Shared Subscriptions not supported, is never sent).
  sharedSubscriptionOverMqtt311: { packet: 'DISCONNECT', reasonCode: 0x9e },
  // W3: a webhook that times out or fails: Event Grid documents "Server unavailable".
  serverUnavailable: { reasonCode: 0x88, returnCode: 3 },
  // T5: an MQTT 5 CONNECT whose Authentication Method the server does not support [MQTT-4.12.0-1]; 3.1.1 has
  // no Authentication Method, nor a code for it.
  badAuthenticationMethod: { reasonCode: 0x8c },
  // T7, T8: a connection whose re-authentication fails, or whose token expires unrenewed, is ended; a
  // DISCONNECT cannot carry 0x86, so the code is Not authorized [MQTT-4.12.1-2].
  authenticationEnded: { packet: 'DISCONNECT', reasonCode: 0x87 },
} as const satisfies Record<string, RefusalCode>;

export type RefusalName = keyof typeof REFUSAL;

/** The code a refusal carries over that version; undefined when 3.1.1 has none (the connection is closed). */
export function refusalCodeFor(version: '3.1.1' | '5', code: RefusalCode): number | undefined {
  return version === '5' ? code.reasonCode : code.returnCode;
}

/** "0x87 Not authorized", "SUBACK 0x80 (Failure)" or "the connection closed": a refusal as a report shows it. */
export function describeRefusalCode(version: '3.1.1' | '5', code: RefusalCode): string {
  const value = refusalCodeFor(version, code);
  if (value === undefined) return 'the connection closed (MQTT 3.1.1 has no code for it)';
  if (code.packet === 'SUBACK' && version === '3.1.1') return 'SUBACK 0x80 (Failure)';
  return `${code.packet ? `${code.packet} ` : ''}${describeCode(version, value)}`;
}

/** MQTT 5's Session Expiry Interval for a session that never expires. */
export const NEVER_EXPIRES = 0xffffffff;

/** MQTT 5 AUTH reason code of a client that re-authenticates (T7); the server answers 0x00 Success. */
export const REAUTHENTICATE = 0x19;

/** MQTT 5 DISCONNECT reason code sent to the older connection of a session taken over (S8). */
export const SESSION_TAKEN_OVER = 0x8e;

const REASON_NAMES: Record<number, string> = {
  0x00: 'Success',
  0x80: 'Unspecified error',
  0x81: 'Malformed Packet',
  0x82: 'Protocol Error',
  0x83: 'Implementation specific error',
  0x84: 'Unsupported Protocol Version',
  0x85: 'Client Identifier not valid',
  0x86: 'Bad User Name or Password',
  0x87: 'Not authorized',
  0x88: 'Server unavailable',
  0x89: 'Server busy',
  0x8a: 'Banned',
  0x8c: 'Bad authentication method',
  0x8e: 'Session taken over',
  0x8f: 'Topic Filter invalid',
  0x90: 'Topic Name invalid',
  0x95: 'Packet too large',
  0x97: 'Quota exceeded',
  0x9b: 'QoS not supported',
  0x9e: 'Shared Subscriptions not supported',
  0xa1: 'Subscription Identifiers not supported',
};

const RETURN_NAMES: Record<number, string> = {
  0: 'Connection Accepted',
  1: 'unacceptable protocol version',
  2: 'identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
  0x80: 'Failure',
};

/** "0x87 Not authorized" or "5 (not authorized)": a code as a report shows it. */
export function describeCode(version: '3.1.1' | '5', code: number): string {
  // A server that speaks only 3.1.1 answers an MQTT 5 CONNECT with its own codes: name them as such.
  const asReturnCode = RETURN_NAMES[code] ? `, which a 3.1.1 server means as "${RETURN_NAMES[code]}"` : '';
  return version === '5'
    ? `0x${code.toString(16).padStart(2, '0')} ${REASON_NAMES[code] ?? `(not an MQTT 5 reason code${asReturnCode})`}`
    : `${code} (${RETURN_NAMES[code] ?? 'unknown return code'})`;
}
