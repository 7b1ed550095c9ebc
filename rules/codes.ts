// The MQTT codes a namespace refuses with, per protocol version. Where Event Grid documents only a word
// ("unauthorized"), the code is the project's reading of it, marked inferred in the rule catalogue.

export interface RefusalCode {
  /** MQTT 5 CONNACK reason code. */
  reasonCode: number;
  /** MQTT 3.1.1 CONNACK return code (SUBACK return code for ACCESS_REFUSAL). */
  returnCode: number;
}

export const REFUSAL = {
  clientIdentifierNotValid: { reasonCode: 0x85, returnCode: 2 },
  badUserNameOrPassword: { reasonCode: 0x86, returnCode: 4 },
  notAuthorized: { reasonCode: 0x87, returnCode: 5 },
  // 3.1.1 has no quota code; "server unavailable" is the nearest refusal that is not about identity.
  quotaExceeded: { reasonCode: 0x97, returnCode: 3 },
} as const satisfies Record<string, RefusalCode>;

/**
 * A SUBSCRIBE or PUBLISH outside the client's permission bindings (P2, P3): MQTT 5 SUBACK/PUBACK reason
 * code 0x87 Not authorized; 3.1.1 SUBACK return code 0x80 Failure, its only failure code. Event Grid
 * documents that MQTT 5 negative acknowledgements use the specification's reason codes, not which.
 */
export const ACCESS_REFUSAL = { reasonCode: 0x87, returnCode: 0x80 } as const satisfies RefusalCode;

/** MQTT 5's Session Expiry Interval for a session that never expires. */
export const NEVER_EXPIRES = 0xffffffff;

/** MQTT 5 DISCONNECT reason code sent to the older connection of a session taken over (S8). */
export const SESSION_TAKEN_OVER = 0x8e;

const REASON_NAMES: Record<number, string> = {
  0x00: 'Success',
  0x80: 'Unspecified error',
  0x81: 'Malformed Packet',
  0x82: 'Protocol Error',
  0x84: 'Unsupported Protocol Version',
  0x85: 'Client Identifier not valid',
  0x86: 'Bad User Name or Password',
  0x87: 'Not authorized',
  0x88: 'Server unavailable',
  0x89: 'Server busy',
  0x8a: 'Banned',
  0x8e: 'Session taken over',
  0x97: 'Quota exceeded',
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
  return version === '5'
    ? `0x${code.toString(16).padStart(2, '0')} ${REASON_NAMES[code] ?? 'unknown reason code'}`
    : `${code} (${RETURN_NAMES[code] ?? 'unknown return code'})`;
}
