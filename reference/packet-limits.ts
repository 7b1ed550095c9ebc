// Limits on SUBSCRIBE and PUBLISH (L9-L12), as ordered checks that see each packet before aedes does.
// Authorization (the `access` branch) sits on aedes' authorize hooks; these checks are a separate gate
// in front of it, so the two compose: a packet refused here never reaches authorization.
import type { Client } from 'aedes';
import mqttPacket from 'mqtt-packet';
import { LIMIT_CODES } from '../rules/codes.ts';
import type { RuleId } from '../rules/catalogue.ts';
import type { ReferenceLimits } from '../eventgrid/namespace.ts';
import type { DisconnectionReason } from './lifecycle.ts';
import { type Check, firstRefusal, type Mutant, without } from './limit-check.ts';

export interface SubscribeContext {
  version: 4 | 5;
  filter: string;
  qos: number;
  /** Distinct filters the session holds, with those accepted earlier in this packet. */
  held: number;
  /** The session already holds this filter (a repeat replaces it, taking no new place). */
  alreadyHeld: boolean;
  limits: ReferenceLimits;
}

/** A subscription refused (with its MQTT 5 SUBACK code; 3.1.1 has only 0x80), or granted a lower QoS. */
export type SubscribeVerdict =
  | { rule: RuleId; reason: string; refuse: number }
  | { rule: RuleId; reason: string; grantQos: 0 | 1 };

export interface PublishContext {
  version: 4 | 5;
  topic: string;
  qos: number;
  limits: ReferenceLimits;
}

/** A PUBLISH that ends its connection: the MQTT 5 DISCONNECT code and the life cycle reason. */
export interface PublishRefusal {
  rule: RuleId;
  reason: string;
  disconnect: number;
  lifecycle: DisconnectionReason;
}

function topicProblem(topic: string, limits: ReferenceLimits): string | undefined {
  const bytes = Buffer.byteLength(topic, 'utf8');
  if (bytes > limits.topicBytes) return `has ${bytes} bytes; at most ${limits.topicBytes} are allowed`;
  const levels = topic.split('/').length;
  if (levels > limits.topicLevels) return `has ${levels} levels; at most ${limits.topicLevels} are allowed`;
  return undefined;
}

export const SUBSCRIBE_CHECKS: readonly Check<SubscribeContext, SubscribeVerdict>[] = [
  {
    name: 'topic filters are at most 256 bytes and 8 levels',
    rule: 'L11',
    run({ filter, limits }) {
      const problem = topicProblem(filter, limits);
      return problem ? { rule: 'L11', reason: `topic filter "${filter.slice(0, 40)}…" ${problem}`, refuse: LIMIT_CODES.topicFilterInvalid } : undefined;
    },
  },
  {
    name: 'a session holds at most 50 subscriptions',
    rule: 'L10',
    run({ held, alreadyHeld, limits }) {
      if (alreadyHeld || held < limits.subscriptionsPerSession) return undefined;
      return { rule: 'L10', reason: `the session already holds ${held} subscriptions, the most allowed`, refuse: LIMIT_CODES.quotaExceeded };
    },
  },
  {
    name: 'QoS 2 subscriptions are granted QoS 1',
    rule: 'L9',
    run({ qos }) {
      return qos > 1 ? { rule: 'L9', reason: 'QoS 2 is not supported: granted QoS 1', grantQos: 1 } : undefined;
    },
  },
];

export const PUBLISH_CHECKS: readonly Check<PublishContext, PublishRefusal>[] = [
  {
    name: 'QoS 2 PUBLISH ends the connection',
    rule: 'L9',
    run({ qos }) {
      return qos > 1 ? { rule: 'L9', reason: 'a QoS 2 PUBLISH: QoS 2 is not supported', disconnect: LIMIT_CODES.qosNotSupported, lifecycle: 'ClientError' } : undefined;
    },
  },
  {
    name: 'topics are at most 256 bytes and 8 levels',
    rule: 'L11',
    run({ topic, limits }) {
      const problem = topicProblem(topic, limits);
      return problem ? { rule: 'L11', reason: `topic "${topic.slice(0, 40)}…" ${problem}`, disconnect: LIMIT_CODES.topicNameInvalid, lifecycle: 'ClientError' } : undefined;
    },
  },
];

export interface PacketBehaviour {
  subscribeChecks: readonly Check<SubscribeContext, SubscribeVerdict>[];
  publishChecks: readonly Check<PublishContext, PublishRefusal>[];
  /** L12: retained messages are kept (Event Grid since 2025) or the flag is dropped. */
  retain: 'kept' | 'dropped';
}

export const PACKET_MUTANTS: readonly Mutant<PacketBehaviour>[] = [
  {
    rule: 'L9',
    breaks: 'QoS 2 is served: QoS 2 subscriptions are granted as asked and a QoS 2 PUBLISH is handled',
    apply: (b) => ({
      ...b,
      subscribeChecks: without(b.subscribeChecks, 'QoS 2 subscriptions are granted QoS 1'),
      publishChecks: without(b.publishChecks, 'QoS 2 PUBLISH ends the connection'),
    }),
  },
  {
    rule: 'L10',
    breaks: 'no limit on subscriptions per session',
    apply: (b) => ({ ...b, subscribeChecks: without(b.subscribeChecks, 'a session holds at most 50 subscriptions') }),
  },
  {
    rule: 'L11',
    breaks: 'topics and topic filters of any size and depth are accepted',
    apply: (b) => ({
      ...b,
      subscribeChecks: without(b.subscribeChecks, 'topic filters are at most 256 bytes and 8 levels'),
      publishChecks: without(b.publishChecks, 'topics are at most 256 bytes and 8 levels'),
    }),
  },
  {
    rule: 'L12',
    breaks: 'the retain flag is dropped, as Event Grid did before 2025',
    apply: (b) => ({ ...b, retain: 'dropped' }),
  },
];

interface SubscribePacket {
  cmd: 'subscribe';
  messageId: number;
  subscriptions: { topic: string; qos: number }[];
}

/** SUBACKs to complete: for a packet some of whose filters were refused here, the codes by position. */
const subackMerges = new WeakMap<object, Map<number, (number | undefined)[]>>();
let mergeInstalled = false;

/** aedes answers only the filters that were let through; put the refused ones back in their places. */
function installSubackMerge(): void {
  if (mergeInstalled) return;
  mergeInstalled = true;
  const original = mqttPacket.writeToStream;
  const wrapper = ((packet: mqttPacket.Packet, stream: NodeJS.WritableStream, options?: mqttPacket.IPacket) => {
    if (packet.cmd === 'suback' && packet.messageId !== undefined) {
      const pending = subackMerges.get(stream);
      const codes = pending?.get(packet.messageId);
      if (codes) {
        pending!.delete(packet.messageId);
        const granted = [...(packet.granted as number[])];
        packet.granted = codes.map((code) => code ?? granted.shift() ?? LIMIT_CODES.suback311Failure) as number[];
      }
    }
    return original(packet, stream, options);
  }) as typeof mqttPacket.writeToStream;
  Object.defineProperty(wrapper, 'cacheNumbers', {
    get: () => original.cacheNumbers,
    set: (value: boolean) => {
      original.cacheNumbers = value;
    },
  });
  mqttPacket.writeToStream = wrapper;
}

export interface PacketGateOptions {
  behaviour: PacketBehaviour;
  limits: ReferenceLimits;
  log: (line: string) => void;
  /** The life cycle reason to report when this connection ends. */
  endReason: (client: Client, reason: DisconnectionReason) => void;
}

/** Runs the checks on each SUBSCRIBE and PUBLISH of a connection before aedes handles it. */
export class PacketGate {
  /** Distinct topic filters each session holds (what aedes stored), for L10. */
  private readonly held = new Map<string, Set<string>>();

  constructor(private readonly options: PacketGateOptions) {
    installSubackMerge();
  }

  /** Keeps the subscription count of each session as aedes stores and removes subscriptions. */
  attach(broker: { on(event: 'subscribe' | 'unsubscribe', listener: (subs: unknown[], client: Client) => void): unknown }): void {
    broker.on('subscribe', (subs, client) => {
      const set = this.held.get(client.id) ?? new Set();
      for (const sub of subs as { topic: string }[]) set.add(sub.topic);
      this.held.set(client.id, set);
    });
    broker.on('unsubscribe', (topics, client) => {
      for (const topic of topics as string[]) this.held.get(client.id)?.delete(topic);
    });
  }

  /** The session ended: it holds nothing any more. */
  forget(sessionName: string): void {
    this.held.delete(sessionName);
  }

  /** Puts the gate in front of aedes' handling of this connection's packets (call before any data). */
  track(client: Client): void {
    const parser = (client as unknown as { _parser: { emit(event: string, ...args: unknown[]): boolean } })._parser;
    const emit = parser.emit;
    parser.emit = (event: string, ...args: unknown[]) => {
      const packet = args[0] as { cmd?: string } | undefined;
      const connected = (client as unknown as { connackSent?: boolean }).connackSent === true;
      if (event === 'packet' && connected && packet?.cmd === 'subscribe' && this.subscribe(client, packet as SubscribePacket)) return true;
      if (event === 'packet' && connected && packet?.cmd === 'publish' && this.publish(client, packet as mqttPacket.IPublishPacket)) return true;
      return emit.call(parser, event, ...args);
    };
  }

  private version(client: Client): 4 | 5 {
    return (client as unknown as { version?: number }).version === 5 ? 5 : 4;
  }

  /** Returns true when the packet was answered here in full. */
  private subscribe(client: Client, packet: SubscribePacket): boolean {
    const version = this.version(client);
    const held = this.held.get(client.id) ?? new Set<string>();
    const adding = new Set<string>();
    const codes: (number | undefined)[] = [];
    const passed: SubscribePacket['subscriptions'] = [];
    for (const subscription of packet.subscriptions) {
      const alreadyHeld = held.has(subscription.topic) || adding.has(subscription.topic);
      const context = { version, filter: subscription.topic, qos: subscription.qos, held: held.size + adding.size, alreadyHeld, limits: this.options.limits };
      // Every check runs: a refusal ends the list, a lower grant is applied and the list goes on.
      let verdict: SubscribeVerdict | undefined;
      for (const check of this.options.behaviour.subscribeChecks) {
        const outcome = check.run({ ...context, qos: subscription.qos });
        if (!outcome) continue;
        if ('refuse' in outcome) {
          verdict = outcome;
          break;
        }
        subscription.qos = outcome.grantQos;
        this.options.log(`session "${client.id}": ${outcome.reason} [${outcome.rule}]`);
      }
      if (verdict && 'refuse' in verdict) {
        this.options.log(`session "${client.id}": SUBSCRIBE ${subscription.topic.slice(0, 60)} refused [${verdict.rule}]: ${verdict.reason}`);
        codes.push(version === 5 ? verdict.refuse : LIMIT_CODES.suback311Failure);
      } else {
        codes.push(undefined);
        passed.push(subscription);
        if (!alreadyHeld) adding.add(subscription.topic);
      }
    }
    if (passed.length === packet.subscriptions.length) return false;
    if (passed.length === 0) {
      mqttPacket.writeToStream({ cmd: 'suback', messageId: packet.messageId, granted: codes as number[] }, client.conn as unknown as NodeJS.WritableStream, { protocolVersion: version });
      return true;
    }
    const pending = subackMerges.get(client.conn) ?? new Map();
    pending.set(packet.messageId, codes);
    subackMerges.set(client.conn, pending);
    packet.subscriptions = passed;
    return false;
  }

  /** Returns true when the packet ended the connection here. */
  private publish(client: Client, packet: mqttPacket.IPublishPacket): boolean {
    const version = this.version(client);
    const refusal = firstRefusal(this.options.behaviour.publishChecks, { version, topic: packet.topic, qos: packet.qos, limits: this.options.limits });
    if (refusal) {
      this.options.log(`session "${client.id}": PUBLISH to ${packet.topic.slice(0, 60)} ends the connection [${refusal.rule}]: ${refusal.reason}`);
      this.options.endReason(client, refusal.lifecycle);
      client.disconnect({ reasonCode: refusal.disconnect, properties: { reasonString: refusal.reason } } as never, () => {});
      return true;
    }
    if (this.options.behaviour.retain === 'dropped') packet.retain = false;
    return false;
  }
}
