// Protocol validation of each packet a client sends, before aedes uses it: mqtt-packet decodes what is
// well formed on the wire, but leaves MQTT 5's protocol errors to the broker (a property given twice
// comes out as an array, and an array Session Expiry Interval reaches aedes' timers and ends the
// process). Ordered named checks, in the shape of reference/behaviour.ts's Check, each naming the MQTT
// 5 normative statement it enforces. A CONNECT that fails gets CONNACK 0x82 and is closed; any other
// packet closes the connection (an MQTT 5 client that is connected is sent DISCONNECT 0x82 first).

/** MQTT 5 reason code for a protocol error. */
export const PROTOCOL_ERROR = 0x82;

/** A packet as mqtt-packet decodes it: only the fields the checks read. */
export interface DecodedPacket {
  cmd: string;
  protocolVersion?: number;
  properties?: Record<string, unknown>;
  will?: { properties?: Record<string, unknown> };
}

export interface PacketContext {
  packet: DecodedPacket;
  /** The protocol version of the connection's CONNECT (undefined before it). */
  version?: number;
  /** The Session Expiry Interval the CONNECT gave (MQTT 5), for the DISCONNECT rule. */
  connectSessionExpiry?: number;
}

/** Why a packet is a protocol error; `rule` is the MQTT 5 normative statement it breaks. */
export interface ProtocolViolation {
  rule: string;
  reason: string;
}

export interface PacketCheck {
  name: string;
  rule: string;
  run(context: PacketContext): ProtocolViolation | undefined;
}

/** The properties MQTT 5 allows in each packet a client may send (section 2.2.2.2). */
const ALLOWED_PROPERTIES: Record<string, readonly string[]> = {
  connect: [
    'sessionExpiryInterval',
    'receiveMaximum',
    'maximumPacketSize',
    'topicAliasMaximum',
    'requestResponseInformation',
    'requestProblemInformation',
    'userProperties',
    'authenticationMethod',
    'authenticationData',
  ],
  will: ['willDelayInterval', 'payloadFormatIndicator', 'messageExpiryInterval', 'contentType', 'responseTopic', 'correlationData', 'userProperties'],
  // A Subscription Identifier is for the server to send; from a client it is a protocol error [MQTT-3.3.4-6].
  publish: ['payloadFormatIndicator', 'messageExpiryInterval', 'topicAlias', 'responseTopic', 'correlationData', 'userProperties', 'contentType'],
  puback: ['reasonString', 'userProperties'],
  pubrec: ['reasonString', 'userProperties'],
  pubrel: ['reasonString', 'userProperties'],
  pubcomp: ['reasonString', 'userProperties'],
  subscribe: ['subscriptionIdentifier', 'userProperties'],
  unsubscribe: ['userProperties'],
  disconnect: ['sessionExpiryInterval', 'reasonString', 'userProperties', 'serverReference'],
  auth: ['authenticationMethod', 'authenticationData', 'reasonString', 'userProperties'],
};

/** Properties whose value must be one of a few numbers, or at least 1. */
const VALUE_RULES: Record<string, (value: unknown) => boolean> = {
  // "It is a Protocol Error to include the Receive Maximum value more than once or for it to have the value 0."
  receiveMaximum: (value) => value !== 0,
  maximumPacketSize: (value) => value !== 0,
  requestResponseInformation: (value) => value === 0 || value === 1,
  requestProblemInformation: (value) => value === 0 || value === 1,
  payloadFormatIndicator: (value) => value === 0 || value === 1,
  topicAlias: (value) => value !== 0,
  subscriptionIdentifier: (value) => value !== 0,
};

function propertySets(packet: DecodedPacket): [string, Record<string, unknown>][] {
  const sets: [string, Record<string, unknown>][] = [];
  if (packet.properties) sets.push([packet.cmd, packet.properties]);
  if (packet.cmd === 'connect' && packet.will?.properties) sets.push(['will', packet.will.properties]);
  return sets;
}

export const PACKET_CHECKS: readonly PacketCheck[] = [
  {
    name: 'no property twice',
    // "It is a Protocol Error to include [a property] more than once" (User Property excepted).
    rule: 'MQTT-2.2.2',
    run({ packet }) {
      for (const [where, properties] of propertySets(packet)) {
        for (const [name, value] of Object.entries(properties)) {
          if (name !== 'userProperties' && Array.isArray(value)) {
            return { rule: 'MQTT-2.2.2', reason: `${where} carries the ${name} property ${value.length} times` };
          }
        }
      }
      return undefined;
    },
  },
  {
    name: 'only the properties the packet allows',
    rule: 'MQTT-2.2.2.2',
    run({ packet }) {
      for (const [where, properties] of propertySets(packet)) {
        const allowed = ALLOWED_PROPERTIES[where] ?? [];
        const stray = Object.keys(properties).find((name) => !allowed.includes(name));
        if (stray) return { rule: 'MQTT-2.2.2.2', reason: `${where} may not carry the ${stray} property` };
      }
      return undefined;
    },
  },
  {
    name: 'property values in range',
    rule: 'MQTT-3.1.2.11',
    run({ packet }) {
      for (const [where, properties] of propertySets(packet)) {
        for (const [name, value] of Object.entries(properties)) {
          const valid = VALUE_RULES[name];
          if (valid && !valid(value)) return { rule: 'MQTT-3.1.2.11', reason: `${where} ${name} of ${String(value)} is a protocol error` };
        }
      }
      return undefined;
    },
  },
  {
    name: 'DISCONNECT does not make an ephemeral session persistent',
    rule: 'MQTT-3.14.2-2',
    run({ packet, version, connectSessionExpiry }) {
      const requested = packet.properties?.sessionExpiryInterval;
      if (packet.cmd !== 'disconnect' || version !== 5 || typeof requested !== 'number') return undefined;
      if ((connectSessionExpiry ?? 0) === 0 && requested !== 0) {
        return { rule: 'MQTT-3.14.2-2', reason: `DISCONNECT sets a Session Expiry Interval of ${requested} s after a CONNECT that gave 0` };
      }
      return undefined;
    },
  },
];

/** The first protocol error in the packet, or undefined when the packet may be used. */
export function validatePacket(context: PacketContext, checks: readonly PacketCheck[] = PACKET_CHECKS): ProtocolViolation | undefined {
  for (const check of checks) {
    const violation = check.run(context);
    if (violation) return violation;
  }
  return undefined;
}
