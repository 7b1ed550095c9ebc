// Event Grid's limits (L5-L16) that are not check lists: the pieces of Behaviour that set them, and
// their mutants. The CONNECT name checks (L5-L7) are in names.ts, the SUBSCRIBE and PUBLISH checks
// (L9-L11) in packet-limits.ts; the aedes adapter puts all of them on aedes
// (reference/adapters/aedes/limit-enforcement.ts).
import type { ReferenceLimits } from '../../eventgrid/namespace.ts';
import { LIMITS } from '../../rules/limits.ts';
import type { LimitPieces, Mutant, QueueUse } from './behaviour.ts';

/** L8: an offline session's queue past either bound has overflowed (the session is then terminated, SessionOverflow). */
export const queueOverflows = (use: QueueUse, limits: ReferenceLimits): boolean =>
  use.messages > limits.sessionQueueMessages || use.bytes > limits.sessionQueueBytes;

export const EVENT_GRID_LIMITS: LimitPieces = {
  maximumQos: LIMITS.maximumQos.value,
  topicAliasMaximum: LIMITS.topicAliasMaximum.value,
  // Event Grid's 512 KiB unless the namespace's `reference.limits` lowers it.
  maximumPacketSize: (limits) => limits.maximumPacketSize,
  queueOverflows,
  // An absent (0) or larger Keep Alive gets the maximum [inferred for 0 and for MQTT 3.1.1, which
  // cannot be told: it is accepted and held to the maximum].
  keepAliveInForce: (requested, maximum) => (requested === 0 || requested > maximum ? maximum : requested),
  closesSilentConnections: true,
  keepsRetained: true,
  // L16: the client's own flow control, which Event Grid honours (SUPPORT, "Flow control") and MQTT 5
  // requires [MQTT-3.1.2-24, MQTT-3.3.4-9].
  fitsClient: (bytes, clientMaximum) => clientMaximum === undefined || bytes <= clientMaximum,
  inFlightWindow: (receiveMaximum) => receiveMaximum,
};

export const LIMIT_MUTANTS: readonly Mutant[] = [
  { rule: 'L8', breaks: 'an offline session queues without bound and is never terminated', apply: (behaviour) => ({ ...behaviour, queueOverflows: () => false }) },
  { rule: 'L12', breaks: 'the retain flag is dropped, as Event Grid did before 2025', apply: (behaviour) => ({ ...behaviour, keepsRetained: false }) },
  { rule: 'L13', breaks: 'the Keep Alive the client asks for is kept, however long', apply: (behaviour) => ({ ...behaviour, keepAliveInForce: (requested) => requested }) },
  { rule: 'L17', breaks: 'any Topic Alias up to 65535 is taken, and the CONNACK announces that', apply: (behaviour) => ({ ...behaviour, topicAliasMaximum: 65535 }) },
  { rule: 'L14', breaks: 'silent connections are never closed', apply: (behaviour) => ({ ...behaviour, closesSilentConnections: false }) },
  {
    rule: 'L15',
    breaks: 'no Maximum Packet Size: none announced in CONNACK, and packets of any size are read, before authentication too',
    apply: (behaviour) => ({ ...behaviour, maximumPacketSize: () => undefined }),
  },
  {
    rule: 'L16',
    breaks: "the client's Maximum Packet Size is ignored, as aedes ignores it: a PUBLISH larger than it is sent",
    apply: (behaviour) => ({ ...behaviour, fitsClient: () => true }),
  },
  {
    id: 'L16.receive-maximum',
    rule: 'L16',
    breaks: "the client's Receive Maximum is ignored, as aedes ignores it: every QoS 1 message is sent at once",
    apply: (behaviour) => ({ ...behaviour, inFlightWindow: () => Number.POSITIVE_INFINITY }),
  },
];
