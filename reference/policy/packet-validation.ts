// Protocol validation of each packet a client sends, before aedes uses it (rule M1): mqtt-packet decodes
// what is well formed on the wire, but leaves MQTT 5's protocol errors to the broker (a property given
// twice comes out as an array, and an array Session Expiry Interval reaches aedes' timers and ends the
// process). Behaviour's packetChecks, in order, each refusal naming the MQTT 5 section it enforces; the
// aedes adapter (reference/adapters/aedes/) runs them on every packet before the packet gate and aedes. A
// CONNECT that fails gets CONNACK 0x82 and is closed; any other packet closes the connection (an MQTT 5
// client whose CONNECT was accepted is sent DISCONNECT 0x82 first; a packet sent behind the CONNECT,
// before its CONNACK, is answered once that CONNACK is out). Also the M1 mutant.
import type { DecodedPacket, Mutant, PacketContext, PropertyScan } from './behaviour.ts';
import { firstRefusal, withoutCheck, type Check } from './check.ts';
import { refuse, type Refusal } from './refusal.ts';

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

/**
 * The properties a Will Message is published with: its Will Properties less those only a CONNECT may
 * carry, which are the Will Delay Interval (MQTT 5 3.1.3.2: the server sends the others, in order,
 * with the will's PUBLISH). A PUBLISH carrying the Will Delay Interval is a protocol error to its
 * receiver (mosquitto_sub drops the connection). Anything else a PUBLISH may not carry goes too.
 */
export function willPublishProperties(properties: Record<string, unknown>): Record<string, unknown> {
  const allowed = ALLOWED_PROPERTIES.publish!;
  const kept = (name: string) => allowed.includes(name);
  // A client's own PUBLISH passed the M1 checks: it is handed on as it is.
  if (Object.keys(properties).every(kept)) return properties;
  return Object.fromEntries(Object.entries(properties).filter(([name]) => kept(name)));
}

/** Properties whose decoded value may not be 0. (Byte-valued ones decode to booleans: the scan checks those.) */
const VALUE_RULES: Record<string, (value: unknown) => boolean> = {
  // "It is a Protocol Error to include the Receive Maximum value more than once or for it to have the value 0."
  receiveMaximum: (value) => value !== 0,
  maximumPacketSize: (value) => value !== 0,
  topicAlias: (value) => value !== 0,
  subscriptionIdentifier: (value) => value !== 0,
};

type PropertyType = 'byte' | 'int16' | 'int32' | 'var' | 'string' | 'binary' | 'pair';

/** MQTT 5 property identifiers (section 2.2.2.2), named as mqtt-packet names them. */
const PROPERTIES: Record<number, [string, PropertyType]> = {
  0x01: ['payloadFormatIndicator', 'byte'],
  0x02: ['messageExpiryInterval', 'int32'],
  0x03: ['contentType', 'string'],
  0x08: ['responseTopic', 'string'],
  0x09: ['correlationData', 'binary'],
  0x0b: ['subscriptionIdentifier', 'var'],
  0x11: ['sessionExpiryInterval', 'int32'],
  0x12: ['assignedClientIdentifier', 'string'],
  0x13: ['serverKeepAlive', 'int16'],
  0x15: ['authenticationMethod', 'string'],
  0x16: ['authenticationData', 'binary'],
  0x17: ['requestProblemInformation', 'byte'],
  0x18: ['willDelayInterval', 'int32'],
  0x19: ['requestResponseInformation', 'byte'],
  0x1a: ['responseInformation', 'string'],
  0x1c: ['serverReference', 'string'],
  0x1f: ['reasonString', 'string'],
  0x21: ['receiveMaximum', 'int16'],
  0x22: ['topicAliasMaximum', 'int16'],
  0x23: ['topicAlias', 'int16'],
  0x24: ['maximumQoS', 'byte'],
  0x25: ['retainAvailable', 'byte'],
  0x26: ['userProperties', 'pair'],
  0x27: ['maximumPacketSize', 'int32'],
  0x28: ['wildcardSubscriptionAvailable', 'byte'],
  0x29: ['subscriptionIdentifiersAvailable', 'byte'],
  0x2a: ['sharedSubscriptionAvailable', 'byte'],
};

/** Byte-valued properties a client may send, which are 0 or 1. */
const BOOLEAN_BYTES = new Set(['payloadFormatIndicator', 'requestProblemInformation', 'requestResponseInformation']);

/**
 * Scans one property section as it is on the wire (its Variable Byte Integer length first). Needed
 * because mqtt-packet keeps only the last of a repeated property whose first value is 0, and decodes
 * byte values to booleans.
 */
export function scanProperties(bytes: Buffer): PropertyScan {
  const scan: PropertyScan = { repeated: [], outOfRange: [] };
  // No properties (a length of 0): the common case, every PUBLISH that carries none.
  if (bytes.length === 0 || bytes[0] === 0) return scan;
  let at = 0;
  const varint = () => {
    let value = 0;
    for (let multiplier = 1, count = 0; count < 4 && at < bytes.length; count += 1, multiplier *= 128) {
      const byte = bytes[at++]!;
      value += (byte & 0x7f) * multiplier;
      if (byte < 0x80) break;
    }
    return value;
  };
  const skipString = () => {
    at = at + 2 > bytes.length ? bytes.length : at + 2 + bytes.readUInt16BE(at);
  };
  const end = Math.min(bytes.length, (() => {
    const length = varint();
    return at + length;
  })());
  const seen = new Set<string>();
  while (at < end && bytes.length - at >= 1) {
    const entry = PROPERTIES[bytes[at++]!];
    if (!entry) break; // mqtt-packet refuses an unknown property itself
    const [name, type] = entry;
    if (name !== 'userProperties' && seen.has(name) && !scan.repeated.includes(name)) scan.repeated.push(name);
    seen.add(name);
    if (type === 'byte') {
      if (BOOLEAN_BYTES.has(name) && bytes[at]! > 1) scan.outOfRange.push(name);
      at += 1;
    } else if (type === 'int16') at += 2;
    else if (type === 'int32') at += 4;
    else if (type === 'var') varint();
    else if (type === 'pair') {
      skipString();
      skipString();
    } else skipString();
  }
  return scan;
}

/** The findings of several property sections (CONNECT and its Will) as one. */
export function mergeScans(scans: PropertyScan[]): PropertyScan {
  if (scans.length === 1) return scans[0]!;
  return { repeated: scans.flatMap((scan) => scan.repeated), outOfRange: scans.flatMap((scan) => scan.outOfRange) };
}

function propertySets(packet: DecodedPacket): [string, Record<string, unknown>][] {
  const sets: [string, Record<string, unknown>][] = [];
  if (packet.properties) sets.push([packet.cmd, packet.properties]);
  if (packet.cmd === 'connect' && packet.will?.properties) sets.push(['will', packet.will.properties]);
  return sets;
}

/** A protocol error under M1; the reason ends with the MQTT 5 section it breaks. */
const protocolError = (reason: string, section: string): Refusal => refuse('M1', `${reason} [${section}]`);

// "It is a Protocol Error to include [a property] more than once" (User Property excepted).
const NO_PROPERTY_TWICE: Check<PacketContext> = {
  name: 'no property is given twice (MQTT 5 2.2.2.2)',
  rule: 'M1',
  run({ packet, scan }) {
    for (const [where, properties] of propertySets(packet)) {
      for (const [name, value] of Object.entries(properties)) {
        if (name !== 'userProperties' && Array.isArray(value)) return protocolError(`${where} carries the ${name} property ${value.length} times`, 'MQTT-2.2.2');
      }
    }
    const [repeated] = scan?.repeated ?? [];
    return repeated ? protocolError(`${packet.cmd} carries the ${repeated} property more than once`, 'MQTT-2.2.2') : undefined;
  },
};

const ONLY_ALLOWED_PROPERTIES: Check<PacketContext> = {
  name: 'a packet carries only the properties MQTT 5 allows in it (2.2.2.2)',
  rule: 'M1',
  run({ packet }) {
    for (const [where, properties] of propertySets(packet)) {
      const allowed = ALLOWED_PROPERTIES[where] ?? [];
      const stray = Object.keys(properties).find((name) => !allowed.includes(name));
      if (stray) return protocolError(`${where} may not carry the ${stray} property`, 'MQTT-2.2.2.2');
    }
    return undefined;
  },
};

const VALUES_IN_RANGE: Check<PacketContext> = {
  name: 'property values are in range (MQTT 5 3.1.2.11)',
  rule: 'M1',
  run({ packet, scan }) {
    for (const [where, properties] of propertySets(packet)) {
      for (const [name, value] of Object.entries(properties)) {
        const valid = VALUE_RULES[name];
        if (valid && !valid(value)) return protocolError(`${where} ${name} of ${String(value)} is a protocol error`, 'MQTT-3.1.2.11');
      }
    }
    const [outOfRange] = scan?.outOfRange ?? [];
    return outOfRange ? protocolError(`${packet.cmd} ${outOfRange} is neither 0 nor 1`, 'MQTT-3.1.2.11') : undefined;
  },
};

const DISCONNECT_KEEPS_EPHEMERAL: Check<PacketContext> = {
  name: 'a DISCONNECT does not make an ephemeral session persistent (MQTT 5 3.14.2.2.2)',
  rule: 'M1',
  run({ packet, version, connectSessionExpiry }) {
    const requested = packet.properties?.sessionExpiryInterval;
    if (packet.cmd !== 'disconnect' || version !== 5 || typeof requested !== 'number') return undefined;
    if ((connectSessionExpiry ?? 0) === 0 && requested !== 0) {
      return protocolError(`DISCONNECT sets a Session Expiry Interval of ${requested} s after a CONNECT that gave 0`, 'MQTT-3.14.2-2');
    }
    return undefined;
  },
};

/** Each packet a client sends, in order: the first refusal closes the connection (M1). */
export const PACKET_CHECKS: readonly Check<PacketContext>[] = [NO_PROPERTY_TWICE, ONLY_ALLOWED_PROPERTIES, VALUES_IN_RANGE, DISCONNECT_KEEPS_EPHEMERAL];

/** The first protocol error in the packet, or undefined when the packet may be used. */
export function validatePacket(context: PacketContext, checks: readonly Check<PacketContext>[] = PACKET_CHECKS): Refusal | undefined {
  return firstRefusal(checks, context);
}

/**
 * What aedes is handed of a packet that passed the checks: a property decoded as an array (given twice)
 * becomes its last value, as mqtt-packet keeps it when the first was 0. With NO_PROPERTY_TWICE in the
 * list nothing is ever left to collapse; without it (the M1 mutant) aedes still never takes an array
 * Session Expiry Interval to its timers, so the mutated broker lets the packet through without exiting.
 */
export function withoutRepeatedProperties<Packet extends DecodedPacket>(packet: Packet): Packet {
  collapseRepeated(packet.properties);
  collapseRepeated(packet.will?.properties);
  return packet;
}

function collapseRepeated(properties: Record<string, unknown> | undefined): void {
  if (!properties) return;
  for (const name in properties) {
    const value = properties[name];
    if (name !== 'userProperties' && Array.isArray(value)) properties[name] = value.at(-1);
  }
}

export const PROTOCOL_MUTANTS: readonly Mutant[] = [
  {
    rule: 'M1',
    breaks: 'a property given twice is accepted (aedes gets its last value); the other protocol errors are still refused',
    apply: (behaviour) => ({ ...behaviour, packetChecks: withoutCheck(behaviour.packetChecks, NO_PROPERTY_TWICE) }),
  },
];
