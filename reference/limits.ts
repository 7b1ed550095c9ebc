// Event Grid's limits in the reference broker (L5-L15): the pieces of Behaviour that are not check
// lists, their mutants, and the glue that puts the limits on aedes. The CONNECT name checks (L5-L7) are
// in CONNECT_CHECKS (reference/name-checks.ts); the SUBSCRIBE and PUBLISH checks (L9-L11) in the
// packet gate's lists (reference/packet-limits.ts), which also run the access checks (P2, P3,
// reference/authorization.ts). The adapter calls in when a connection starts, when
// a CONNECT is accepted (Keep Alive, CONNACK properties), when a session ends, and for the life cycle
// reason of a connection the limits ended.
import type { Aedes, Client, ConnectPacket } from 'aedes';
import { LIMITS } from '../rules/limits.ts';
import type { ReferenceLimits } from '../eventgrid/namespace.ts';
import type { Mutant } from './behaviour.ts';
import { installConnackProperties, setConnackProperties } from './connack-properties.ts';
import type { DisconnectionReason } from './lifecycle.ts';
import { PacketGate, type PacketGateOptions } from './packet-gate.ts';
import { captureRawConnect } from './raw-connect.ts';
import { queueOverflows, SessionQueues, type QueueUse } from './session-overflow.ts';

/** The pieces of Behaviour that set Event Grid's limits; a mutant may replace any of them. */
export interface LimitPieces {
  /** L9: the highest QoS served: announced in an MQTT 5 CONNACK below 2, granted to a SUBSCRIBE asking more; a PUBLISH above it is refused. */
  maximumQos: 0 | 1 | 2;
  /**
   * L15: the Maximum Packet Size in force for the namespace's limits, bytes; undefined: none. It is aedes'
   * `maximumPacketSize`, the one mechanism that both enforces it (as each fixed header is read, before
   * authentication) and announces it in an accepting MQTT 5 CONNACK.
   */
  maximumPacketSize(limits: ReferenceLimits): number | undefined;
  /** L8: whether an offline session's queue of that use has overflowed (the session is then terminated). */
  queueOverflows(use: QueueUse, limits: ReferenceLimits): boolean;
  /** L13: the Keep Alive in force for what the client asked (0: none asked) and the maximum. */
  keepAliveInForce(requested: number, maximum: number): number;
  /** L14: whether a connection silent for 1.5x its Keep Alive is closed (aedes' timer). */
  closesSilentConnections: boolean;
  /** L12: whether retained messages are kept (Event Grid since 2025), or the retain flag dropped. */
  keepsRetained: boolean;
}

export const EVENT_GRID_LIMITS: LimitPieces = {
  maximumQos: LIMITS.maximumQos.value,
  // Event Grid's 512 KiB unless the namespace's `reference.limits` lowers it.
  maximumPacketSize: (limits) => limits.maximumPacketSize,
  queueOverflows,
  // An absent (0) or larger Keep Alive gets the maximum [inferred for 0 and for MQTT 3.1.1, which
  // cannot be told: it is accepted and held to the maximum].
  keepAliveInForce: (requested, maximum) => (requested === 0 || requested > maximum ? maximum : requested),
  closesSilentConnections: true,
  keepsRetained: true,
};

export const LIMIT_MUTANTS: readonly Mutant[] = [
  { rule: 'L12', breaks: 'the retain flag is dropped, as Event Grid did before 2025', apply: (behaviour) => ({ ...behaviour, keepsRetained: false }) },
  { rule: 'L13', breaks: 'the Keep Alive the client asks for is kept, however long', apply: (behaviour) => ({ ...behaviour, keepAliveInForce: (requested) => requested }) },
  { rule: 'L14', breaks: 'silent connections are never closed', apply: (behaviour) => ({ ...behaviour, closesSilentConnections: false }) },
  {
    rule: 'L15',
    breaks: 'no Maximum Packet Size: none announced in CONNACK, and packets of any size are read, before authentication too',
    apply: (behaviour) => ({ ...behaviour, maximumPacketSize: () => undefined }),
  },
];

/** What an accepting MQTT 5 CONNACK announces of the limits that aedes does not: Maximum QoS (L9). (L15's Maximum Packet Size is aedes' own.) */
function connackProperties({ maximumQos }: LimitPieces): Record<string, number> {
  return maximumQos < 2 ? { maximumQoS: maximumQos } : {};
}

/** What the packet gate needs (the limits fill in the life cycle reason themselves), and more. */
export interface LimitEnforcementOptions extends Omit<PacketGateOptions, 'endReason'> {
  /** Whether the session is held offline now (L8 counts only those queues). */
  heldOffline(sessionName: string): boolean;
  /** Terminates a held session, with the life cycle reason. */
  terminateSession(sessionName: string, reason: DisconnectionReason): void;
}

/** The limits at work on one broker. */
/** What aedes' client keeps of its Keep Alive timer (client.js, handlers/index.js refresh it). */
interface KeepAliveTimer {
  _keepaliveTimer: NodeJS.Timeout | null;
  _keepaliveInterval: number;
}

function stopKeepAliveTimer(client: Client): void {
  const timer = client as unknown as KeepAliveTimer;
  if (timer._keepaliveTimer) clearTimeout(timer._keepaliveTimer);
  timer._keepaliveTimer = null;
  // Below zero, aedes no longer refreshes the timer on each packet.
  timer._keepaliveInterval = -1;
}

export class LimitEnforcement {
  private readonly gate: PacketGate;
  private readonly queues: SessionQueues;
  private readonly endReasons = new WeakMap<object, DisconnectionReason>();

  constructor(private readonly options: LimitEnforcementOptions) {
    installConnackProperties();
    this.gate = new PacketGate({
      behaviour: options.behaviour,
      namespace: options.namespace,
      limits: options.limits,
      registeredClientOf: options.registeredClientOf,
      log: options.log,
      endReason: (client, reason) => this.endReasons.set(client, reason),
    });
    this.queues = new SessionQueues({
      behaviour: options.behaviour,
      limits: options.limits,
      heldOffline: options.heldOffline,
      overflow: (name: string, use: QueueUse) => {
        options.log(`session "${name}" overflowed its offline queue (${use.messages} messages, ${use.bytes} bytes); it is terminated [L8]`);
        options.terminateSession(name, 'SessionOverflow');
      },
    });
  }

  attach(broker: Aedes): void {
    this.gate.attach(broker as never);
    this.queues.attach((broker as unknown as { persistence: Parameters<SessionQueues['attach']>[0] }).persistence);
    // L14 mutant: aedes' 1.5x timer, armed before the client is ready, is stopped; the Keep Alive in
    // force is still announced (L13), so that only the closing is broken.
    if (!this.options.behaviour.closesSilentConnections) broker.on('clientReady', stopKeepAliveTimer);
  }

  /** A new connection, before aedes reads from it: its CONNECT's names are kept as sent (L5-L7). */
  track(client: Client): void {
    captureRawConnect(client);
    this.gate.track(client);
  }

  /** The CONNECT is accepted: its Keep Alive in force (L13, L14) and CONNACK properties (L9). */
  accepted(client: Client, packet: ConnectPacket): void {
    const internals = client as unknown as { _serverKeepAlive?: number };
    const requested = packet.keepalive ?? 0;
    const inForce = this.options.behaviour.keepAliveInForce(requested, this.options.limits.keepAliveSeconds);
    // aedes sends Server Keep Alive (MQTT 5) and runs its 1.5x timer on this value when it is set.
    if (inForce !== requested) {
      internals._serverKeepAlive = inForce;
      this.options.log(`session "${packet.clientId}": Keep Alive ${requested} s lowered to ${inForce} s [L13]`);
    }
    setConnackProperties(client.conn, connackProperties(this.options.behaviour));
    this.queues.reset(packet.clientId);
  }

  /** The session is over: nothing of it is counted any more. */
  sessionEnded(sessionName: string): void {
    this.gate.forget(sessionName);
    this.queues.reset(sessionName);
  }

  /** Why the limits ended this connection, if they did. */
  endReason(client: Client | undefined): DisconnectionReason | undefined {
    return client ? this.endReasons.get(client) : undefined;
  }
}
