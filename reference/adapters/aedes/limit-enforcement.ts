// Event Grid's limits (L5-L16) put on aedes: the pieces of Behaviour that are not check lists
// (policy/limits.ts), the packet gate that runs the SUBSCRIBE and PUBLISH checks (L9-L11,
// policy/packet-limits.ts, and the access checks, P2 and P3, policy/access.ts), the offline queues
// (L8), and the flow control each client's MQTT 5 CONNECT asks for (L16, client-flow-control.ts). The CONNECT name checks (L5-L7) are the policy's (policy/names.ts). The adapter calls in when a connection starts, when
// a CONNECT is accepted (Keep Alive, CONNACK properties, flow control), when a session ends, and for the life cycle
// reason of a connection the limits ended.
import type { Aedes, Client, ConnectPacket } from 'aedes';
import type { FeaturePieces, LimitPieces, QueueUse, SharedSubscriptionPieces } from '../../policy/behaviour.ts';
import type { DisconnectionReason } from '../../ports/event-sink.ts';
import { onQueued, parserOf, setServerKeepAlive, stopKeepAliveTimer } from './aedes-internals.ts';
import { ClientFlowControl } from './client-flow-control.ts';
import { keepConnectBytes } from './mqtt-packet-internals.ts';
import { OutgoingPackets } from './outgoing-packets.ts';
import { PacketGate, type PacketGateOptions } from './packet-gate.ts';
import { MemoryQueueCounts, SessionQueues } from './session-queues.ts';
import type { QueueCounts } from '../../ports/namespace-tallies.ts';

/**
 * What an accepting MQTT 5 CONNACK announces that aedes does not: Maximum QoS (L9), and Subscription
 * Identifiers Available 0 (M2), Shared Subscription Available 1 (M3: aedes announces 0); and what it
 * answers the CONNECT: Response Information, when the behaviour gives any and the CONNECT asked (M4:
 * Event Grid gives none). (L15's Maximum Packet Size is aedes' own.)
 */
function connackProperties(behaviour: LimitPieces & FeaturePieces & SharedSubscriptionPieces, packet: ConnectPacket): Record<string, number | boolean | string> {
  const { maximumQos, subscriptionIdentifiersAvailable, servesSharedSubscriptions } = behaviour;
  const responseInformation = packet.properties?.requestResponseInformation ? behaviour.responseInformation(packet.clientId) : undefined;
  return {
    ...(maximumQos < 2 ? { maximumQoS: maximumQos } : {}),
    ...(subscriptionIdentifiersAvailable ? {} : { subscriptionIdentifiersAvailable: false }),
    sharedSubscriptionAvailable: servesSharedSubscriptions,
    ...(responseInformation === undefined ? {} : { responseInformation }),
  };
}

/** What the packet gate needs (the limits fill in the life cycle reason themselves), and more. */
export interface LimitEnforcementOptions extends Omit<PacketGateOptions, 'endReason'> {
  /** Whether the session is held offline now (L8 counts only those queues). */
  heldOffline(sessionName: string): boolean;
  /** Terminates a held session, with the life cycle reason. */
  terminateSession(sessionName: string, reason: DisconnectionReason): Promise<void>;
  /** L8: the namespace's queue counts, when other instances serve it too; default this process's. */
  queueCounts?: QueueCounts;
}

/** The limits at work on one broker. */
export class LimitEnforcement {
  private readonly gate: PacketGate;
  private readonly queues: SessionQueues;
  private readonly endReasons = new WeakMap<object, DisconnectionReason>();

  constructor(private readonly options: LimitEnforcementOptions) {
    this.gate = new PacketGate({
      behaviour: options.behaviour,
      namespace: options.namespace,
      limits: options.limits,
      registeredClientOf: options.registeredClientOf,
      log: options.log,
      endReason: (client, reason) => this.endReasons.set(client, reason),
      ...(options.groupDirectory ? { groupDirectory: options.groupDirectory } : {}),
    });
    this.queues = new SessionQueues({
      behaviour: options.behaviour,
      limits: options.limits,
      counts: options.queueCounts ?? new MemoryQueueCounts(),
      heldOffline: options.heldOffline,
      log: options.log,
      overflow: (name: string, use: QueueUse) => {
        options.log(`session "${name}" overflowed its offline queue (${use.messages} messages, ${use.bytes} bytes); it is terminated [L8]`);
        return options.terminateSession(name, 'SessionOverflow');
      },
    });
  }

  attach(broker: Aedes): void {
    this.gate.attach(broker);
    onQueued(broker, (subs, packet) => this.queues.queued(subs, packet));
    // L14 mutant: aedes' 1.5x timer, armed before the client is ready, is stopped; the Keep Alive in
    // force is still announced (L13), so that only the closing is broken.
    if (!this.options.behaviour.closesSilentConnections) broker.on('clientReady', stopKeepAliveTimer);
  }

  /** A new connection, before aedes reads from it: its CONNECT's names are kept as sent (L5-L7). */
  track(client: Client): void {
    keepConnectBytes(parserOf(client));
    this.gate.track(client);
  }

  /** The CONNECT is accepted: its Keep Alive in force (L13, L14), its Will's QoS (L9) and delay (L19), CONNACK properties (L9, M2-M4) and the client's flow control (L16). */
  accepted(client: Client, packet: ConnectPacket): void {
    const requested = packet.keepalive ?? 0;
    const inForce = this.options.behaviour.keepAliveInForce(requested, this.options.limits.keepAliveSeconds);
    // aedes sends Server Keep Alive (MQTT 5) and runs its 1.5x timer on this value when it is set.
    if (inForce !== requested) {
      setServerKeepAlive(client, inForce);
      this.options.log(`session "${packet.clientId}": Keep Alive ${requested} s lowered to ${inForce} s [L13]`);
    }
    // L9: an MQTT 3.1.1 Will above the maximum QoS (MQTT 5 refuses it) is published at the maximum.
    const { maximumQos } = this.options.behaviour;
    if (packet.will && (packet.will.qos ?? 0) > maximumQos) {
      this.options.log(`session "${packet.clientId}": will of QoS ${packet.will.qos} on ${packet.will.topic.slice(0, 60)} is published at QoS ${maximumQos} [L9]`);
      packet.will.qos = maximumQos;
    }
    // L19: a Will Delay Interval past the maximum is lowered to it (aedes reads it when the connection ends).
    const willProperties = packet.will?.properties as { willDelayInterval?: number } | undefined;
    if (willProperties?.willDelayInterval !== undefined && willProperties.willDelayInterval > this.options.limits.willDelaySeconds) {
      this.options.log(`session "${packet.clientId}": Will Delay Interval ${willProperties.willDelayInterval} s lowered to ${this.options.limits.willDelaySeconds} s [L19]`);
      willProperties.willDelayInterval = this.options.limits.willDelaySeconds;
    }
    const properties = connackProperties(this.options.behaviour, packet);
    if (packet.protocolVersion === 5) {
      OutgoingPackets.of(client.conn).amendNext('connack', 5, (connack) => {
        if (connack.cmd !== 'connack' || connack.reasonCode) return false;
        connack.properties = { ...connack.properties, ...properties };
        return true;
      });
    }
    // L16: what the client's CONNECT asked of the packets sent to it.
    ClientFlowControl.accepted(client, packet, { behaviour: this.options.behaviour, log: this.options.log });
    this.queues.reset(packet.clientId);
  }

  /** The session's owner is connected at another instance of the namespace: its queue is being delivered there. */
  connectedElsewhere(sessionName: string): void {
    this.queues.reset(sessionName);
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
