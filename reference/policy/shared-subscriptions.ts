// Shared subscriptions (M3): `$share/{group}/{filter}` names a group of sessions that together hold one
// subscription to the filter; each message matching it goes to one active session of the group, and
// groups are independent of each other and of plain subscriptions (SHARED). What a client may subscribe
// to is judged on the filter after the group (access control, L11, as for any filter). The pieces here
// say what a filter is and how a group hands out a message; the aedes adapter does the delivery.
// Shared subscriptions are MQTT 5's (M6): an MQTT 3.1.1 SUBSCRIBE with a `$share/` filter ends the
// connection (SHARED: "will be disconnected"), checked with the protocol checks (Behaviour's
// packetChecks) before the packet gate sees it.
import type { Mutant, PacketContext, SharedSubscriptionPieces } from './behaviour.ts';
import { withoutCheck, type Check } from './check.ts';
import { refuse } from './refusal.ts';

const PREFIX = '$share/';

export interface SharedFilter {
  group: string;
  filter: string;
}

/** The group and filter of a `$share/{group}/{filter}` topic filter; undefined for any other filter. */
export function sharedFilter(topic: string): SharedFilter | undefined {
  if (!topic.startsWith(PREFIX)) return undefined;
  const rest = topic.slice(PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return undefined;
  const group = rest.slice(0, slash);
  const filter = rest.slice(slash + 1);
  // A group name holds no wildcard, and the filter is not empty [MQTT-4.8.2-1, MQTT-4.8.2-2].
  if (/[+#]/.test(group) || filter === '') return undefined;
  return { group, filter };
}

const MQTT5_ONLY: Check<PacketContext> = {
  name: 'an MQTT 3.1.1 SUBSCRIBE has no $share filter',
  rule: 'M6',
  run({ packet, version }) {
    if (packet.cmd !== 'subscribe' || version !== 4) return undefined;
    const shared = packet.subscriptions?.find((subscription) => subscription.topic.startsWith(PREFIX));
    return shared ? refuse('M6', `${shared.topic.slice(0, 60)}: shared subscriptions are MQTT 5 only`) : undefined;
  },
};

/** M6 on every packet, after the protocol checks: an MQTT 3.1.1 client's `$share` SUBSCRIBE. */
export const SHARED_PACKET_CHECKS: readonly Check<PacketContext>[] = [MQTT5_ONLY];

export const EVENT_GRID_SHARED: SharedSubscriptionPieces = { groupDelivery: 'one-member', servesSharedSubscriptions: true, queuesForHeldMembers: true, retainedOnJoin: false };

export const SHARED_MUTANTS: readonly Mutant[] = [
  { rule: 'M3', breaks: 'every session of a shared group gets every message', apply: (behaviour) => ({ ...behaviour, groupDelivery: 'every-member' }) },
  {
    rule: 'M3',
    id: 'M3.refused',
    breaks: 'a $share filter is judged as a literal topic filter, so it is refused as reserved ("$")',
    apply: (behaviour) => ({ ...behaviour, servesSharedSubscriptions: false }),
  },
  {
    rule: 'M3',
    id: 'M3.offline',
    breaks: 'a message for a group none of whose sessions is connected is dropped, though their sessions are held',
    apply: (behaviour) => ({ ...behaviour, queuesForHeldMembers: false }),
  },
  {
    rule: 'M3',
    id: 'M3.retained',
    breaks: "a session joining a group is sent the filter's retained messages, as a plain subscription is",
    apply: (behaviour) => ({ ...behaviour, retainedOnJoin: true }),
  },
  {
    rule: 'M6',
    breaks: 'an MQTT 3.1.1 client is served shared subscriptions as an MQTT 5 one is, not disconnected',
    apply: (behaviour) => ({ ...behaviour, packetChecks: withoutCheck(behaviour.packetChecks, MQTT5_ONLY) }),
  },
];
