// What Event Grid documents as not supported in MQTT 5 (SUPPORT, "MQTTv5 current limitations"), as the
// broker announces and refuses it, and the mutants that serve it as aedes would:
// - M2, Subscription Identifiers: an accepting MQTT 5 CONNACK says Subscription Identifiers Available 0
//   (absent, MQTT 5 means they are available), and a SUBSCRIBE that carries one anyway is a protocol error
//   answered with DISCONNECT 0xA1 (MQTT 5 3.2.2.3.12, 4.13);
// - M4, Response Information: a CONNACK never carries it, whatever the CONNECT asked (aedes gives none);
// - M5, User Properties on CONNECT, SUBSCRIBE, PUBACK, AUTH and DISCONNECT: "the request fails". A
//   CONNECT is refused (CONNACK 0x83), a SUBSCRIBE's filters are refused (SUBACK 0x83, checked first
//   among Behaviour's subscribeChecks), and a PUBACK, AUTH or DISCONNECT ends the connection (DISCONNECT
//   0x83 where one can still be sent). A Will's own User Properties are the will's PUBLISH's, which may
//   carry them.
// The packet checks run with the protocol checks (Behaviour's packetChecks, after M1's) before the
// packet gate and aedes see the packet.
import type { FeaturePieces, Mutant, PacketContext, SubscribeContext } from './behaviour.ts';
import { withoutCheck, type Check } from './check.ts';
import { refuse } from './refusal.ts';

const NO_SUBSCRIPTION_IDENTIFIERS: Check<PacketContext> = {
  name: 'a SUBSCRIBE carries no Subscription Identifier (MQTT 5 3.2.2.3.12)',
  rule: 'M2',
  run({ packet }) {
    const identifier = packet.cmd === 'subscribe' ? packet.properties?.subscriptionIdentifier : undefined;
    if (identifier === undefined) return undefined;
    return refuse('M2', `SUBSCRIBE carries Subscription Identifier ${String(identifier)}; Subscription Identifiers are not supported`);
  },
};

/** The packets whose User Properties fail the request (SUPPORT); a SUBSCRIBE's are judged per filter. */
const WITHOUT_USER_PROPERTIES = new Set(['connect', 'puback', 'auth', 'disconnect']);

const NO_USER_PROPERTIES: Check<PacketContext> = {
  name: 'a CONNECT, PUBACK, AUTH or DISCONNECT carries no User Properties',
  rule: 'M5',
  run({ packet }) {
    if (!WITHOUT_USER_PROPERTIES.has(packet.cmd) || packet.properties?.userProperties === undefined) return undefined;
    return refuse('M5', `${packet.cmd.toUpperCase()} carries User Properties, which are not supported on it`, packet.cmd === 'connect' ? 'a CONNECT' : 'a PUBACK, AUTH or DISCONNECT');
  },
};

const NO_SUBSCRIBE_USER_PROPERTIES: Check<SubscribeContext> = {
  name: 'a SUBSCRIBE carries no User Properties',
  rule: 'M5',
  run: ({ userProperties }) => (userProperties ? refuse('M5', 'SUBSCRIBE carries User Properties, which are not supported on it', 'a SUBSCRIBE') : undefined),
};

/** M2 and M5 on every packet, after the protocol checks of M1 (an identifier of 0 is M1's protocol error first). */
export const UNSUPPORTED_FEATURE_CHECKS: readonly Check<PacketContext>[] = [NO_SUBSCRIPTION_IDENTIFIERS, NO_USER_PROPERTIES];
/** M5 on each filter of a SUBSCRIBE: before anything else is asked of it (first in Behaviour's subscribeChecks). */
export const SUBSCRIBE_FEATURE_CHECKS: readonly Check<SubscribeContext>[] = [NO_SUBSCRIBE_USER_PROPERTIES];

export const EVENT_GRID_FEATURES: FeaturePieces = {
  subscriptionIdentifiersAvailable: false,
  responseInformation: () => undefined,
};

export const FEATURE_MUTANTS: readonly Mutant[] = [
  {
    rule: 'M2',
    breaks: 'Subscription Identifiers are served as aedes serves them: the CONNACK does not say they are unavailable, and a SUBSCRIBE carrying one is granted',
    apply: (behaviour) => ({
      ...behaviour,
      subscriptionIdentifiersAvailable: true,
      packetChecks: withoutCheck(behaviour.packetChecks, NO_SUBSCRIPTION_IDENTIFIERS),
    }),
  },
  {
    rule: 'M4',
    breaks: 'a CONNECT asking for Response Information gets some in its CONNACK (a response topic prefix of its session)',
    apply: (behaviour) => ({ ...behaviour, responseInformation: (sessionName) => `responses/${sessionName}` }),
  },
  {
    rule: 'M5',
    breaks: 'User Properties are taken on every packet, as aedes takes them: a CONNECT or SUBSCRIBE carrying them is served',
    apply: (behaviour) => ({
      ...behaviour,
      packetChecks: withoutCheck(behaviour.packetChecks, NO_USER_PROPERTIES),
      subscribeChecks: withoutCheck(behaviour.subscribeChecks, NO_SUBSCRIBE_USER_PROPERTIES),
    }),
  },
];
