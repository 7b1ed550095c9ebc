// Shared subscriptions (M3): `$share/{group}/{filter}` names a group of sessions that together hold one
// subscription to the filter; each message matching it goes to one active session of the group, and
// groups are independent of each other and of plain subscriptions (SHARED). What a client may subscribe
// to is judged on the filter after the group (access control, L11, as for any filter). The pieces here
// say what a filter is and how a group hands out a message; the aedes adapter does the delivery.
import type { Mutant, SharedSubscriptionPieces } from './behaviour.ts';

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

export const EVENT_GRID_SHARED: SharedSubscriptionPieces = { groupDelivery: 'one-member', servesSharedSubscriptions: true };

export const SHARED_MUTANTS: readonly Mutant[] = [
  { rule: 'M3', breaks: 'every session of a shared group gets every message', apply: (behaviour) => ({ ...behaviour, groupDelivery: 'every-member' }) },
  {
    rule: 'M3',
    id: 'M3.refused',
    breaks: 'a $share filter is judged as a literal topic filter, so it is refused as reserved ("$")',
    apply: (behaviour) => ({ ...behaviour, servesSharedSubscriptions: false }),
  },
];
