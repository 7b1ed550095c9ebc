// The gate in front of aedes for SUBSCRIBE and PUBLISH: each packet of a connected client goes through
// Behaviour's subscribeChecks or publishChecks, in order, before aedes handles it. It knows no rule: a
// refusal is answered as its code says (rules/codes.ts). A refused filter gets its code in the SUBACK
// (MQTT 3.1.1: 0x80 Failure) and the others go on to aedes, a filter repeated in the packet once; the
// SUBACK has one code per filter of the SUBSCRIBE, in order, whatever aedes merged. A refused PUBLISH whose code is a PUBACK's
// is not delivered and the connection is kept (MQTT 5 answers a QoS 1 one with a PUBACK carrying the
// code; 3.1.1 has no such code, so the connection is closed); any other refused PUBLISH ends the
// connection (MQTT 5: DISCONNECT with the refusal's code). It also applies the PUBLISH and SUBSCRIBE
// pieces of Behaviour: the maximum QoS (L9) and retain (L12).
import type { Aedes, Client } from 'aedes';
import mqttPacket from 'mqtt-packet';
import type { ClientResource, NamespaceConfig, ReferenceLimits } from '../../../eventgrid/namespace.ts';
import type { Behaviour, PublishContext, SubscribeContext } from '../../policy/behaviour.ts';
import { firstRefusal } from '../../policy/check.ts';
import type { Refusal } from '../../policy/refusal.ts';
import type { DisconnectionReason } from '../../ports/event-sink.ts';
import { sharedFilter } from '../../policy/shared-subscriptions.ts';
import { protocolVersionOf, takeIncoming, type IncomingPacket } from './aedes-internals.ts';
import { OutgoingPackets } from './outgoing-packets.ts';
import { SharedGroups } from './shared-groups.ts';
import type { GroupDirectory } from '../../ports/namespace-tallies.ts';

/** MQTT 3.1.1 SUBACK's only refusal. */
const SUBACK_311_FAILURE = 0x80;
/** SUBACK codes from here on refuse the filter (both versions); below, they grant a QoS. */
const FIRST_REFUSAL_CODE = 0x80;

interface Subscription {
  topic: string;
  qos: number;
}

interface SubscribePacket {
  cmd: 'subscribe';
  messageId: number;
  subscriptions: Subscription[];
  properties?: { userProperties?: unknown };
}

export interface PacketGateOptions {
  behaviour: Behaviour;
  namespace: NamespaceConfig;
  limits: ReferenceLimits;
  /** The registered client a connection's accepted CONNECT authenticated as. */
  registeredClientOf: (client: Client) => ClientResource | undefined;
  log: (line: string) => void;
  /** The life cycle reason to report when this connection ends. */
  endReason: (client: Client, reason: DisconnectionReason) => void;
  /** M3: the namespace's directory of shared subscription groups, when other instances serve it too. */
  groupDirectory?: GroupDirectory;
}

/** Publish decisions a connection remembers, by QoS and topic (a device publishes to a few topics, again and again). */
const REMEMBERED_PUBLISH_DECISIONS = 64;

export class PacketGate {
  /** Distinct topic filters each session holds (what aedes stored), for L10. */
  private readonly held = new Map<string, Set<string>>();
  /**
   * Per connection, what publishChecks decided for a QoS and topic: the checks are pure functions of
   * the connection's context (client, session, version, namespace, limits) and the packet's QoS and topic.
   */
  private readonly publishDecisions = new WeakMap<Client, Map<string, Refusal | undefined>>();
  /** L17: each MQTT 5 connection's Topic Aliases, as its PUBLISHes set them. */
  private readonly topicAliases = new WeakMap<Client, Map<number, string>>();

  /** M3: the shared subscriptions, which the gate answers itself (aedes has none). */
  private shared: SharedGroups | undefined;

  constructor(private readonly options: PacketGateOptions) {}

  /** Keeps the subscription count of each session as aedes stores and removes subscriptions; serves shared ones (M3). */
  attach(broker: Aedes): void {
    this.shared = new SharedGroups(broker, this.options.behaviour, this.options.groupDirectory, this.options.log);
    broker.on('subscribe', (subs, client) => {
      const set = this.held.get(client.id) ?? new Set();
      for (const sub of subs as { topic: string }[]) set.add(sub.topic);
      this.held.set(client.id, set);
    });
    broker.on('unsubscribe', (topics, client) => {
      for (const topic of topics) {
        this.held.get(client.id)?.delete(topic);
        this.shared!.leave(client.id, topic);
      }
    });
  }

  /** The session ended: it holds nothing any more. */
  forget(sessionName: string): void {
    this.held.delete(sessionName);
    this.shared?.forget(sessionName);
  }

  /** Puts the gate in front of aedes' handling of this connection's packets (call before any data). */
  track(client: Client): void {
    // Packets pipelined behind the CONNECT reach it only once an accepting CONNACK is out: the screen
    // (namespace-adapter.ts) holds them until then and hands them on in order.
    takeIncoming(client, (packet) => this.judge(client, packet));
  }

  /** Runs a connected client's SUBSCRIBE or PUBLISH through the checks; true when it was answered here in full. */
  private judge(client: Client, packet: IncomingPacket): boolean {
    if (packet.cmd === 'subscribe') return this.subscribe(client, packet as SubscribePacket);
    if (packet.cmd === 'publish') return this.publish(client, packet as mqttPacket.IPublishPacket);
    return false;
  }

  /** The registered client of an accepted connection; a connection without one is closed here. */
  private registered(client: Client, what: string): ClientResource | undefined {
    const registered = this.options.registeredClientOf(client);
    if (registered) return registered;
    this.options.log(`session "${client.id}": ${what} on a connection the namespace did not accept; closed`);
    client.close();
    return undefined;
  }

  private subscribe(client: Client, packet: SubscribePacket): boolean {
    const { behaviour, namespace, limits, log } = this.options;
    const registered = this.registered(client, 'SUBSCRIBE');
    if (!registered) return true;
    const version = protocolVersionOf(client);
    const held = this.held.get(client.id) ?? new Set<string>();
    const adding = new Set<string>();
    const codes: (number | undefined)[] = [];
    const passed: Subscription[] = [];
    const userProperties = packet.properties?.userProperties !== undefined;
    for (const subscription of packet.subscriptions) {
      if (subscription.qos > behaviour.maximumQos) {
        log(`session "${client.id}": QoS ${subscription.qos} is not supported: ${subscription.topic.slice(0, 60)} granted QoS ${behaviour.maximumQos} [L9]`);
        subscription.qos = behaviour.maximumQos;
      }
      const alreadyHeld = held.has(subscription.topic) || adding.has(subscription.topic);
      // M3: a shared subscription is judged on its filter, and held as the whole `$share/...` filter.
      const shared = behaviour.servesSharedSubscriptions ? sharedFilter(subscription.topic) : undefined;
      const context: SubscribeContext = {
        version,
        sessionName: client.id,
        filter: shared?.filter ?? subscription.topic,
        ...(shared ? { sharedGroup: shared.group } : {}),
        ...(userProperties ? { userProperties } : {}),
        qos: subscription.qos,
        held: held.size + adding.size,
        alreadyHeld,
        client: registered,
        namespace,
        limits,
        behaviour,
      };
      const refusal = firstRefusal(behaviour.subscribeChecks, context);
      if (refusal) {
        log(`session "${client.id}": SUBSCRIBE ${subscription.topic.slice(0, 60)} refused [${refusal.rule}]: ${refusal.reason}`);
        codes.push(version === 5 ? refusal.code.reasonCode : SUBACK_311_FAILURE);
      } else if (shared) {
        // Granted here: the group, not aedes, holds it.
        this.shared!.join(client.id, subscription.topic, subscription.qos);
        held.add(subscription.topic);
        this.held.set(client.id, held);
        codes.push(subscription.qos);
      } else {
        codes.push(undefined);
        passed.push(subscription);
        if (!alreadyHeld) adding.add(subscription.topic);
      }
    }
    // aedes answers one code per distinct filter it is handed (it merges repeats): it gets each filter
    // let through once, as its last occurrence asks (a repeat replaces the subscription [MQTT-3.8.4-3]).
    const last = new Map<string, Subscription>();
    for (const subscription of passed) last.set(subscription.topic, subscription);
    if (passed.length === packet.subscriptions.length && last.size === passed.length) return false;
    if (passed.length === 0) {
      mqttPacket.writeToStream({ cmd: 'suback', messageId: packet.messageId, granted: codes as number[] }, client.conn as unknown as NodeJS.WritableStream, { protocolVersion: version });
      return true;
    }
    // The SUBACK carries one code per filter of the SUBSCRIBE, in order [MQTT-3.8.4-6, MQTT-3.9.3-1]: the
    // refused ones and the repeats go back in their places. A repeat aedes did not see is granted what it
    // asked, as the subscription it was replaced by is, unless aedes refused that one.
    const handed = [...last.values()];
    const asked = packet.subscriptions;
    OutgoingPackets.of(client.conn).amendNext('suback', version, (suback) => {
      if (suback.cmd !== 'suback' || suback.messageId !== packet.messageId) return false;
      const granted = suback.granted as number[];
      suback.granted = asked.map((subscription, index) => {
        const refused = codes[index];
        if (refused !== undefined) return refused;
        const kept = last.get(subscription.topic)!;
        const code = granted[handed.indexOf(kept)] ?? SUBACK_311_FAILURE;
        return kept === subscription || code >= FIRST_REFUSAL_CODE ? code : subscription.qos;
      });
      return true;
    });
    packet.subscriptions = handed;
    return false;
  }

  /**
   * L17: the topic an MQTT 5 PUBLISH is for, its Topic Alias resolved as aedes will resolve it after the
   * gate (an alias with a topic sets it for the connection; an empty topic takes the alias's). An alias
   * past the maximum is aedes' to refuse (DISCONNECT 0x94).
   */
  private aliasedTopic(client: Client, packet: mqttPacket.IPublishPacket): string {
    const alias = packet.properties?.topicAlias;
    if (alias === undefined || alias < 1 || alias > this.options.behaviour.topicAliasMaximum) return packet.topic;
    let aliases = this.topicAliases.get(client);
    if (!aliases) this.topicAliases.set(client, (aliases = new Map()));
    if (packet.topic !== '') aliases.set(alias, packet.topic);
    return aliases.get(alias) ?? packet.topic;
  }

  /** Returns true when the packet was answered here (not delivered). */
  private publish(client: Client, packet: mqttPacket.IPublishPacket): boolean {
    const { behaviour, namespace, limits, log } = this.options;
    const registered = this.registered(client, 'PUBLISH');
    if (!registered) return true;
    const version = protocolVersionOf(client);
    const topic = this.aliasedTopic(client, packet);
    let decisions = this.publishDecisions.get(client);
    if (!decisions) this.publishDecisions.set(client, (decisions = new Map()));
    // A retained PUBLISH is judged on its size too (L18).
    const payloadBytes = packet.payload.length;
    const key = `${packet.qos} ${packet.retain ? payloadBytes : '-'} ${topic}`;
    let refusal = decisions.get(key);
    if (!decisions.has(key)) {
      const context: PublishContext = { version, sessionName: client.id, topic, qos: packet.qos, retain: packet.retain, payloadBytes, client: registered, namespace, limits, behaviour };
      refusal = firstRefusal(behaviour.publishChecks, context);
      if (decisions.size >= REMEMBERED_PUBLISH_DECISIONS) decisions.clear();
      decisions.set(key, refusal);
    }
    if (refusal && refusal.code.packet === 'PUBACK' && version === 5) {
      // Not delivered; the connection is kept. A QoS 1 PUBLISH is told why, a QoS 0 one is dropped.
      log(`session "${client.id}": PUBLISH to ${topic.slice(0, 60)} not delivered [${refusal.rule}]: ${refusal.reason}`);
      if (packet.qos === 1 && packet.messageId !== undefined) {
        const puback = { cmd: 'puback' as const, messageId: packet.messageId, reasonCode: refusal.code.reasonCode, properties: { reasonString: refusal.reason } };
        mqttPacket.writeToStream(puback, client.conn as unknown as NodeJS.WritableStream, { protocolVersion: 5 });
      }
      return true;
    }
    if (refusal) {
      log(`session "${client.id}": PUBLISH to ${topic.slice(0, 60)} ends the connection [${refusal.rule}]: ${refusal.reason}`);
      this.options.endReason(client, refusal.code.packet === 'PUBACK' ? 'ClientAuthorizationError' : 'ClientError');
      // aedes sends the DISCONNECT with its code over MQTT 5; over MQTT 3.1.1 it can only close.
      client.disconnect({ reasonCode: refusal.code.reasonCode, properties: { reasonString: refusal.reason } } as never, () => {});
      return true;
    }
    // L12: retained messages are kept, or (a mutant) the flag is dropped.
    if (!behaviour.keepsRetained) packet.retain = false;
    return false;
  }
}
