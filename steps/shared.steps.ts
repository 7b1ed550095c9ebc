// Steps about shared subscriptions (M3): sessions of one identity join a group on a topic of that
// identity's, the observer publishes there, and what each session received is counted: every message
// once across a group, and once in each group.
import { Then, When } from '@cucumber/cucumber';
import { within } from '../common/timing.ts';
import { observerPublisher } from './messages.steps.ts';
import { expectObserved } from './observation.ts';
import { disconnectAnswer, judgeRefusal, subscribeFor } from './refusal-judgement.ts';
import { OBSERVER_PUBLISHES } from './roles.ts';
import { CLIENT_TIMEOUT_MS, type ConformanceWorld } from './world.ts';

/** How long after the last expected message the suite waits for any copy too many. */
const SETTLE_MS = 500;

/** The topic the groups of a scenario share: one of the identity's own. */
function sharedTopic(world: ConformanceWorld, identityId: string): string {
  return world.topicOf(world.registeredName(world.identity(identityId).entry.authenticationName), 'shared');
}

const sessionsOf = (list: string) => list.split(',').map((name) => name.trim());

When('sessions {string} join group {string} on a shared topic of identity {string}', async function (this: ConformanceWorld, list: string, group: string, identityId: string) {
  for (const sessionName of sessionsOf(list)) {
    const filter = `$share/${group}/${sharedTopic(this, identityId)}`;
    const { code } = await subscribeFor(this.session(sessionName), filter, 1);
    expectObserved(this, { step: 'joins a shared group', expected: `${filter}: granted QoS 0 or 1`, observed: code === undefined ? 'no SUBACK' : `0x${code.toString(16)}` }, code !== undefined && code < 0x80, `session "${sessionName}" was not granted ${filter}`);
  }
});

When(OBSERVER_PUBLISHES.toSharedTopic, { timeout: 60_000 }, async function (this: ConformanceWorld, count: number, identityId: string) {
  const publisher = await observerPublisher(this);
  const topic = sharedTopic(this, identityId);
  await Promise.all(Array.from({ length: count }, (_, index) => publisher.publish(topic, `shared ${index + 1}`, 1)));
});

Then('sessions {string} together receive each of the {int} messages of identity {string} exactly once', { timeout: 60_000 }, async function (this: ConformanceWorld, list: string, count: number, identityId: string) {
  const sessions = sessionsOf(list).map((name) => this.session(name));
  const topic = sharedTopic(this, identityId);
  const received = (): string[] => sessions.flatMap((session) => session.pending().filter((message) => message.topic === topic).map((message) => String(message.payload)));
  const deadline = Date.now() + CLIENT_TIMEOUT_MS;
  while (received().length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const payloads = received();
  const copies = new Map<string, number>();
  for (const payload of payloads) copies.set(payload, (copies.get(payload) ?? 0) + 1);
  const missing = Array.from({ length: count }, (_, index) => `shared ${index + 1}`).filter((payload) => !copies.has(payload));
  const repeated = [...copies].filter(([, times]) => times > 1).map(([payload]) => payload);
  const perSession = sessions.map((session, index) => `${sessionsOf(list)[index]}: ${session.pending().filter((message) => message.topic === topic).length}`).join(', ');
  // Taken, so that a later step counts only what came after.
  for (const session of sessions) while (session.pending().some((message) => message.topic === topic)) await session.nextMessage(topic, 0);
  const observed = `${payloads.length} deliveries (${perSession}); ${missing.length} missing, ${repeated.length} delivered more than once`;
  expectObserved(this, { step: 'each message once across the group', expected: `${count} deliveries, each message once`, observed }, missing.length === 0 && repeated.length === 0, `sessions ${list}: ${observed}`);
});

When('session {string} subscribes to a topic outside the granted topic spaces in group {string}', async function (this: ConformanceWorld, sessionName: string, group: string) {
  const topic = `$share/${group}/${this.topicOutside()}`;
  this.lastSubscription = { topic, ...(await subscribeFor(this.session(sessionName), topic, 1)) };
});

/** How long a SUBSCRIBE the namespace ends the connection for may take to end it. */
const END_WITHIN_MS = 3000;

// MQTT 3.1.1: "clients attempting $share/... will be disconnected" (SHARED).
Then('session {string} joining group {string} on a shared topic of identity {string} ends its connection', async function (this: ConformanceWorld, sessionName: string, group: string, identityId: string) {
  const client = this.session(sessionName);
  const filter = `$share/${group}/${sharedTopic(this, identityId)}`;
  const sentAt = performance.now();
  void subscribeFor(client, filter, 1);
  const end = await within(client.ended.then((ended) => ({ ...ended, afterMs: Math.round(performance.now() - sentAt) })), END_WITHIN_MS);
  judgeRefusal(this, `joining ${filter}`, disconnectAnswer(this, end, END_WITHIN_MS), { code: 'sharedSubscriptionOverMqtt311', subject: filter });
});

// Retained messages: MQTT 5 sends none to a session that joins a group (4.8.2); a plain subscription gets them.
const RETAINED = 'retained for the group';

When(OBSERVER_PUBLISHES.retainedToSharedTopic, async function (this: ConformanceWorld, identityId: string) {
  const publisher = await observerPublisher(this);
  const topic = sharedTopic(this, identityId);
  await publisher.publish(topic, RETAINED, 1, { retain: true });
  // A PUBACK can come before the message is retained (aedes acknowledges a QoS 1 PUBLISH, then stores
  // it): a group joined in between would be sent nothing, whatever the broker does on joining. A plain
  // subscription of a session of the identity's own, sent the message as retained, shows it is held.
  const checkName = 'retained-check';
  const outcome = await this.connect(identityId, checkName, { cleanStart: true, sessionExpiry: 0 });
  const check = outcome.accepted ? outcome.client : undefined;
  await check?.subscribe(topic, 1);
  const held = await check?.nextMessage(topic).catch(() => undefined);
  check?.close();
  const observed = !check ? 'the checking session was refused' : held ? `sent "${held.payload}", RETAIN ${held.retain ? 1 : 0}` : 'nothing';
  expectObserved(this, { step: 'the message is retained', expected: `a plain subscription is sent "${RETAINED}", RETAIN 1`, observed }, held?.payload === RETAINED && held.retain, `the retained message was not held: ${observed}`);
});

Then('session {string} is sent no retained message on the shared topic of identity {string}, and a plain subscription to it is', async function (this: ConformanceWorld, sessionName: string, identityId: string) {
  const client = this.session(sessionName);
  const topic = sharedTopic(this, identityId);
  // Sent because it was retained: the RETAIN flag (the publication itself, racing the join, has none).
  const retained = () => client.pending().filter((message) => message.topic === topic && message.retain);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const sentOnJoining = retained().length;
  // The control: a plain subscription to the same topic on the same connection gets the retained
  // message, one more than were there; any beyond it was sent on joining, later than the settling.
  await client.subscribe(topic, 1);
  const deadline = Date.now() + CLIENT_TIMEOUT_MS;
  while (retained().length <= sentOnJoining && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  const all = retained();
  const plain = all.length > sentOnJoining ? all.at(-1) : undefined;
  const joined = plain ? all.length - 1 : all.length;
  await (await observerPublisher(this)).publish(topic, '', 1, { retain: true }).catch(() => undefined);
  const observed = `${joined} sent on joining the group; the plain subscription ${plain ? `got "${plain.payload}"` : 'got nothing'}`;
  expectObserved(this, { step: 'no retained message on joining a group', expected: 'none sent on joining the group; the plain subscription gets it', observed }, joined === 0 && plain?.payload === RETAINED);
});
