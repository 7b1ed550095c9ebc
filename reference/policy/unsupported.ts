// What Event Grid documents as not supported in MQTT 5, as the broker announces and refuses it (rule M2):
// Subscription Identifiers. An accepting MQTT 5 CONNACK says Subscription Identifiers Available 0 (absent,
// MQTT 5 means they are available), and a SUBSCRIBE that carries one anyway is a protocol error answered
// with DISCONNECT 0xA1 (MQTT 5 3.2.2.3.12, 4.13), checked with the protocol checks (Behaviour's
// packetChecks, after M1's) before the packet gate and aedes see it. Also the M2 mutant.
import type { FeaturePieces, Mutant, PacketContext } from './behaviour.ts';
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

/** M2 on every packet, after the protocol checks of M1 (an identifier of 0 is M1's protocol error first). */
export const UNSUPPORTED_FEATURE_CHECKS: readonly Check<PacketContext>[] = [NO_SUBSCRIPTION_IDENTIFIERS];

export const EVENT_GRID_FEATURES: FeaturePieces = {
  subscriptionIdentifiersAvailable: false,
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
];
