// Limits on SUBSCRIBE and PUBLISH (L9-L11, L18) as ordered checks with rule ids, which the packet gate
// (reference/packet-gate.ts) runs before aedes sees the packet, and on the PUBLISH a CONNECT's Will
// would become (L9), which the CONNECT decision runs; and the mutants that break them.
import type { ReferenceLimits } from '../../eventgrid/namespace.ts';
import { LIMITS } from '../../rules/limits.ts';
import type { ConnectContext, Mutant, PacketContext, PublishContext, SubscribeContext } from './behaviour.ts';
import { withoutCheck, type Check } from './check.ts';
import { refuse } from './refusal.ts';

function topicProblem(topic: string, limits: ReferenceLimits): string | undefined {
  const bytes = Buffer.byteLength(topic, 'utf8');
  if (bytes > limits.topicBytes) return `has ${bytes} bytes; at most ${limits.topicBytes} are allowed`;
  const levels = topic.split('/').length;
  if (levels > limits.topicLevels) return `has ${levels} levels; at most ${limits.topicLevels} are allowed`;
  return undefined;
}

const FILTER_SIZE: Check<SubscribeContext> = {
  name: 'topic filters are at most 256 bytes and 15 levels',
  rule: 'L11',
  run({ filter, limits }) {
    const problem = topicProblem(filter, limits);
    return problem ? refuse('L11', `topic filter "${filter.slice(0, 40)}…" ${problem}`, 'SUBSCRIBE') : undefined;
  },
};

const SUBSCRIPTIONS_PER_SESSION: Check<SubscribeContext> = {
  name: 'a session holds at most 50 subscriptions',
  rule: 'L10',
  run({ held, alreadyHeld, limits }) {
    if (alreadyHeld || held < limits.subscriptionsPerSession) return undefined;
    return refuse('L10', `the session already holds ${held} subscriptions, the most allowed`);
  },
};

/** L11 on a SUBSCRIBE filter: whether it can be a topic filter at all (first in Behaviour's subscribeChecks). */
export const SUBSCRIBE_TOPIC_CHECKS: readonly Check<SubscribeContext>[] = [FILTER_SIZE];
/** L10 on a SUBSCRIBE filter: the session's quota (last in Behaviour's subscribeChecks). */
export const SUBSCRIBE_QUOTA_CHECKS: readonly Check<SubscribeContext>[] = [SUBSCRIPTIONS_PER_SESSION];

// L9: a PUBLISH above the maximum QoS ends the connection (rules/codes.ts: a DISCONNECT) (the maximum is Behaviour's maximumQos).
const QOS_SUPPORTED: Check<PublishContext> = {
  name: 'a PUBLISH is at most the maximum QoS',
  rule: 'L9',
  run: ({ qos, behaviour }) => (qos > behaviour.maximumQos ? refuse('L9', `a QoS ${qos} PUBLISH: QoS ${behaviour.maximumQos} is the most supported`, 'a QoS 2 PUBLISH') : undefined),
};

// L9: an MQTT 5 CONNECT whose Will asks more than the maximum QoS is refused [MQTT-3.2.2-12]. MQTT 3.1.1
// has no code for it: its will is accepted and published at the maximum QoS (the aedes adapter lowers it).
const WILL_QOS_SUPPORTED: Check<ConnectContext> = {
  name: 'an MQTT 5 Will is at most the maximum QoS',
  rule: 'L9',
  run: ({ request, behaviour }) =>
    request.protocolVersion === 5 && request.will && request.will.qos > behaviour.maximumQos
      ? refuse('L9', `a Will of QoS ${request.will.qos}: QoS ${behaviour.maximumQos} is the most supported`, 'a Will of QoS 2')
      : undefined,
};

/** L9 on a CONNECT's Will: whether it is a PUBLISH the namespace serves (after the session checks, in Behaviour's connectChecks). */
export const CONNECT_WILL_CHECKS: readonly Check<ConnectContext>[] = [WILL_QOS_SUPPORTED];

const TOPIC_SIZE: Check<PublishContext> = {
  name: 'topics are at most 256 bytes and 15 levels',
  rule: 'L11',
  run({ topic, limits }) {
    const problem = topicProblem(topic, limits);
    return problem ? refuse('L11', `topic "${topic.slice(0, 40)}…" ${problem}`, 'PUBLISH') : undefined;
  },
};

/** L9, L11 on a PUBLISH: whether it is a PUBLISH the namespace serves at all (first in Behaviour's publishChecks). */
export const PUBLISH_PACKET_CHECKS: readonly Check<PublishContext>[] = [QOS_SUPPORTED, TOPIC_SIZE];

// L18: a retained message is at most 64 KB (RETAIN); a larger retained PUBLISH is neither kept nor
// delivered (rules/codes.ts: a PUBACK refusal), and the retained message from before stays.
const RETAINED_SIZE: Check<PublishContext> = {
  name: 'a retained message is at most 64 KB',
  rule: 'L18',
  run: ({ retain, payloadBytes, limits }) =>
    retain && payloadBytes > limits.retainedMessageBytes ? refuse('L18', `a retained message of ${payloadBytes} bytes; at most ${limits.retainedMessageBytes} are kept`) : undefined,
};

/** L18 on a PUBLISH: the retained message quota (last in Behaviour's publishChecks). */
export const PUBLISH_QUOTA_CHECKS: readonly Check<PublishContext>[] = [RETAINED_SIZE];

// L22: Authentication Data past 8 KB, on a CONNECT or an AUTH, whatever the method (a packet check:
// before any authenticator reads it).
const AUTHENTICATION_DATA_SIZE: Check<PacketContext> = {
  name: 'Authentication Data is at most 8 KB',
  rule: 'L22',
  run({ packet }) {
    const data = packet.properties?.authenticationData;
    if ((packet.cmd !== 'connect' && packet.cmd !== 'auth') || !Buffer.isBuffer(data) || data.length <= LIMITS.authenticationDataBytes.value) return undefined;
    const what = packet.cmd === 'connect' ? 'a CONNECT' : 'an AUTH';
    return refuse('L22', `${what} carries Authentication Data of ${data.length} bytes; at most ${LIMITS.authenticationDataBytes.value} are allowed`, what);
  },
};

/** L22 on every packet, after the protocol checks. */
export const PACKET_SIZE_CHECKS: readonly Check<PacketContext>[] = [AUTHENTICATION_DATA_SIZE];

export const PACKET_MUTANTS: readonly Mutant[] = [
  {
    rule: 'L22',
    breaks: 'Authentication Data of any size is read',
    apply: (behaviour) => ({ ...behaviour, packetChecks: withoutCheck(behaviour.packetChecks, AUTHENTICATION_DATA_SIZE) }),
  },
  {
    rule: 'L9',
    breaks: 'QoS 2 is served: no Maximum QoS in CONNACK, QoS 2 subscriptions granted as asked, a QoS 2 PUBLISH handled, a QoS 2 Will accepted as it is',
    apply: (behaviour) => ({ ...behaviour, maximumQos: 2 }),
  },
  {
    rule: 'L10',
    breaks: 'no limit on subscriptions per session',
    apply: (behaviour) => ({ ...behaviour, subscribeChecks: withoutCheck(behaviour.subscribeChecks, SUBSCRIPTIONS_PER_SESSION) }),
  },
  {
    rule: 'L18',
    breaks: 'a retained message of any size is kept',
    apply: (behaviour) => ({ ...behaviour, publishChecks: withoutCheck(behaviour.publishChecks, RETAINED_SIZE) }),
  },
  {
    rule: 'L11',
    breaks: 'topics and topic filters of any size and depth are accepted',
    apply: (behaviour) => ({
      ...behaviour,
      subscribeChecks: withoutCheck(behaviour.subscribeChecks, FILTER_SIZE),
      publishChecks: withoutCheck(behaviour.publishChecks, TOPIC_SIZE),
    }),
  },
];
