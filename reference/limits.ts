// Event Grid's limits in the reference broker (L5-L15): the checks and settings as one behaviour, its
// mutants by rule id, and the glue that puts them on aedes. The adapter calls in at three points: the
// CONNECT (names first, then keep-alive and CONNACK properties on acceptance), a session's end, and the
// life cycle reason of a connection the limits ended.
import type { Aedes, Client, ConnectPacket } from 'aedes';
import { LIMITS } from '../rules/limits.ts';
import type { RuleId } from '../rules/catalogue.ts';
import type { ReferenceLimits } from '../eventgrid/namespace.ts';
import { installConnackProperties, setConnackProperties } from './connack-properties.ts';
import type { DisconnectionReason } from './lifecycle.ts';
import { firstRefusal, type LimitRefusal, type Mutant } from './limit-check.ts';
import { NAME_CHECKS, NAME_MUTANTS, type NameBehaviour } from './name-checks.ts';
import { PACKET_MUTANTS, PacketGate, PUBLISH_CHECKS, SUBSCRIBE_CHECKS, type PacketBehaviour } from './packet-limits.ts';
import { captureRawConnect, rawNames } from './raw-connect.ts';
import { OVERFLOW_MUTANTS, queueOverflows, SessionQueues, type OverflowBehaviour, type QueueUse } from './session-overflow.ts';

export interface LimitsBehaviour extends NameBehaviour, PacketBehaviour, OverflowBehaviour {
  /** L13: the Keep Alive in force for what the client asked (0: none asked) and the maximum. */
  keepAliveInForce(requested: number, maximum: number): number;
  /** L14: a connection silent for 1.5x its Keep Alive is closed (aedes' timer), or never. */
  closesSilentConnections: boolean;
  /** Added to an accepting MQTT 5 CONNACK: Maximum QoS (L9), Maximum Packet Size (L15). */
  connackProperties: Readonly<Record<string, number>>;
}

export const EVENT_GRID_LIMITS: LimitsBehaviour = {
  nameChecks: NAME_CHECKS,
  subscribeChecks: SUBSCRIBE_CHECKS,
  publishChecks: PUBLISH_CHECKS,
  retain: 'kept',
  queueOverflows,
  // An absent (0) or larger Keep Alive gets the maximum [inferred for 0 and for MQTT 3.1.1, which
  // cannot be told: it is accepted and held to the maximum].
  keepAliveInForce: (requested, maximum) => (requested === 0 || requested > maximum ? maximum : requested),
  closesSilentConnections: true,
  // The reading cap itself is the `harden` branch's: this only announces it.
  connackProperties: { maximumQoS: LIMITS.maximumQos.value, maximumPacketSize: LIMITS.maximumPacketSize.value },
};

/** Lets a mutant of part of the behaviour apply to the whole. */
function lift<Part>(mutant: Mutant<Part>): Mutant<LimitsBehaviour> {
  return { ...mutant, apply: (behaviour) => ({ ...behaviour, ...mutant.apply(behaviour as unknown as Part) }) };
}

const OWN_MUTANTS: readonly Mutant<LimitsBehaviour>[] = [
  { rule: 'L9', breaks: 'no Maximum QoS in CONNACK', apply: (b) => ({ ...b, connackProperties: omit(b.connackProperties, 'maximumQoS') }) },
  { rule: 'L13', breaks: 'the Keep Alive the client asks for is kept, however long', apply: (b) => ({ ...b, keepAliveInForce: (requested) => requested }) },
  { rule: 'L14', breaks: 'silent connections are never closed', apply: (b) => ({ ...b, closesSilentConnections: false }) },
  { rule: 'L15', breaks: 'no Maximum Packet Size in CONNACK', apply: (b) => ({ ...b, connackProperties: omit(b.connackProperties, 'maximumPacketSize') }) },
];

function omit(properties: Readonly<Record<string, number>>, name: string): Record<string, number> {
  const { [name]: _, ...rest } = properties;
  return rest;
}

/** Every mutant of the limits; several for one rule together make that rule's mutant. */
export const LIMIT_MUTANTS: readonly Mutant<LimitsBehaviour>[] = [
  ...NAME_MUTANTS.map(lift),
  ...PACKET_MUTANTS.map(lift),
  ...OVERFLOW_MUTANTS.map(lift),
  ...OWN_MUTANTS,
];

/** The rules the limits can break, each with what breaking it means. */
export const LIMIT_BREAKS: Partial<Record<RuleId, string>> = Object.fromEntries(
  [...new Set(LIMIT_MUTANTS.map((mutant) => mutant.rule))].map((rule) => [
    rule,
    LIMIT_MUTANTS.filter((mutant) => mutant.rule === rule).map((mutant) => mutant.breaks).join('; '),
  ]),
);

export function limitsBreaking(rules: Iterable<RuleId>): LimitsBehaviour {
  const broken = new Set(rules);
  return LIMIT_MUTANTS.filter((mutant) => broken.has(mutant.rule)).reduce((behaviour, mutant) => mutant.apply(behaviour), EVENT_GRID_LIMITS);
}

export interface LimitEnforcementOptions {
  behaviour: LimitsBehaviour;
  limits: ReferenceLimits;
  log: (line: string) => void;
  /** Whether the session is held offline now (L8 counts only those queues). */
  heldOffline(sessionName: string): boolean;
  /** Terminates a held session, with the life cycle reason. */
  terminateSession(sessionName: string, reason: DisconnectionReason): void;
}

/** The limits at work on one broker. */
export class LimitEnforcement {
  private readonly gate: PacketGate;
  private readonly queues: SessionQueues;
  private readonly endReasons = new WeakMap<object, DisconnectionReason>();

  constructor(private readonly options: LimitEnforcementOptions) {
    installConnackProperties();
    this.gate = new PacketGate({
      behaviour: options.behaviour,
      limits: options.limits,
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
  }

  /** A new connection, before aedes reads from it. */
  track(client: Client): void {
    captureRawConnect(client);
    this.gate.track(client);
  }

  /** The CONNECT's names, checked as sent (L5-L7): the first refusal, if any. */
  checkNames(packet: ConnectPacket): LimitRefusal | undefined {
    const names = rawNames(packet);
    if (!names) return undefined;
    return firstRefusal(this.options.behaviour.nameChecks, names);
  }

  /** The CONNECT is accepted: its Keep Alive in force (L13, L14) and CONNACK properties (L9, L15). */
  accepted(client: Client, packet: ConnectPacket): void {
    const internals = client as unknown as { _serverKeepAlive?: number };
    const requested = packet.keepalive ?? 0;
    const inForce = this.options.behaviour.keepAliveInForce(requested, this.options.limits.keepAliveSeconds);
    // aedes sends Server Keep Alive (MQTT 5) and runs its 1.5x timer on this value when it is set.
    if (!this.options.behaviour.closesSilentConnections) internals._serverKeepAlive = 0;
    else if (inForce !== requested) {
      internals._serverKeepAlive = inForce;
      this.options.log(`session "${packet.clientId}": Keep Alive ${requested} s lowered to ${inForce} s [L13]`);
    }
    setConnackProperties(client.conn, this.options.behaviour.connackProperties);
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
