// Steps about permissions (P1-P4): a session subscribes or publishes somewhere, and what the target
// answered in the SUBACK or PUBACK.
import { Then, When } from '@cucumber/cucumber';
import { ConformanceFailure } from '../common/errors.ts';
import { describeRefusalCode, REFUSAL, refusalCodeFor } from '../rules/codes.ts';
import type { ConformanceWorld } from './world.ts';

async function subscribe(world: ConformanceWorld, sessionName: string, topic: string): Promise<void> {
  const code = await world.session(sessionName).subscribeCode(topic, 1);
  world.lastSubscription = { topic, code };
}

async function publish(world: ConformanceWorld, sessionName: string, payload: string, topic: string): Promise<void> {
  world.lastPublication = { topic, outcome: await world.session(sessionName).tryPublish(topic, payload) };
}

function subscription(world: ConformanceWorld) {
  if (!world.lastSubscription) throw new Error('no SUBSCRIBE was made before this step');
  return world.lastSubscription;
}

function publication(world: ConformanceWorld) {
  if (!world.lastPublication) throw new Error('no PUBLISH was made before this step');
  return world.lastPublication;
}

const describeSuback = (world: ConformanceWorld, code: number | undefined) =>
  code === undefined ? 'no SUBACK code' : code < 0x80 ? `granted QoS ${code}` : world.version === '5' ? `SUBACK ${world.describe(code)}` : `SUBACK 0x${code.toString(16)} (Failure)`;

function describePublication(world: ConformanceWorld): string {
  const { outcome } = publication(world);
  if (!outcome.acknowledged) return outcome.closed ? 'no PUBACK: the connection closed' : `no PUBACK: ${outcome.message}`;
  return `PUBACK ${world.version === '5' ? world.describe(outcome.reasonCode) : '(3.1.1, no reason code)'}`;
}

When('session {string} subscribes to its own topic', async function (this: ConformanceWorld, sessionName: string) {
  await subscribe(this, sessionName, this.topic(sessionName));
});

When('session {string} subscribes to the topic of session {string}', async function (this: ConformanceWorld, sessionName: string, other: string) {
  await subscribe(this, sessionName, this.topic(other));
});

When('session {string} subscribes to a topic of identity {string}', async function (this: ConformanceWorld, sessionName: string, identityId: string) {
  await subscribe(this, sessionName, this.topicOf(this.registeredName(this.identity(identityId).entry.authenticationName), `${identityId}-topic`));
});

When('session {string} subscribes to a topic outside the granted topic spaces', async function (this: ConformanceWorld, sessionName: string) {
  await subscribe(this, sessionName, this.topicOutside());
});

When('session {string} publishes {string} to its own topic', async function (this: ConformanceWorld, sessionName: string, payload: string) {
  await publish(this, sessionName, payload, this.topic(sessionName));
});

When('session {string} publishes {string} to the topic of session {string}', async function (this: ConformanceWorld, sessionName: string, payload: string, other: string) {
  await publish(this, sessionName, payload, this.topic(other));
});

When('session {string} publishes {string} to a topic outside the granted topic spaces', async function (this: ConformanceWorld, sessionName: string, payload: string) {
  await publish(this, sessionName, payload, this.topicOutside());
});

Then('the subscription is granted', function (this: ConformanceWorld) {
  const { topic, code } = subscription(this);
  const observed = describeSuback(this, code);
  this.observe({ step: 'the subscription is granted', expected: `${topic}: granted QoS 0 or 1`, observed });
  if (code === undefined || code >= 0x80) throw new ConformanceFailure(`expected the subscription to ${topic} to be granted, got ${observed}`);
});

// MQTT 5: 0x87 Not authorized; 3.1.1: 0x80, the only failure code its SUBACK has (rules/codes.ts).
Then('the subscription is refused as not authorized', function (this: ConformanceWorld) {
  const { topic, code } = subscription(this);
  const expectedCode = refusalCodeFor(this.version, REFUSAL.subscribeNotAuthorized);
  const expected = describeRefusalCode(this.version, REFUSAL.subscribeNotAuthorized);
  const observed = describeSuback(this, code);
  this.observe({ step: 'the subscription is refused as not authorized', expected: `${topic}: ${expected}`, observed });
  if (code !== expectedCode) throw new ConformanceFailure(`expected the subscription to ${topic} to be refused with ${expected}, got ${observed}`);
});

Then('the publication is accepted', function (this: ConformanceWorld) {
  const { topic, outcome } = publication(this);
  const observed = describePublication(this);
  this.observe({ step: 'the publication is accepted', expected: `${topic}: PUBACK with a success code`, observed });
  if (!outcome.acknowledged || outcome.reasonCode >= 0x80) throw new ConformanceFailure(`expected a successful PUBACK for ${topic}, got ${observed}`);
});

// Only MQTT 5 can say why in a PUBACK; over 3.1.1 what the target did is recorded, and the scenario
// shows the message was not delivered.
Then('the publication is refused as not authorized', function (this: ConformanceWorld) {
  const { topic, outcome } = publication(this);
  const observed = describePublication(this);
  const expectedCode = refusalCodeFor(this.version, REFUSAL.publishNotAuthorized);
  const expected = expectedCode === undefined ? 'no code exists to check over 3.1.1 (recorded)' : describeRefusalCode(this.version, REFUSAL.publishNotAuthorized);
  this.observe({ step: 'the publication is refused as not authorized', expected: `${topic}: ${expected}`, observed });
  if (expectedCode !== undefined && !(outcome.acknowledged && outcome.reasonCode === expectedCode)) {
    throw new ConformanceFailure(`expected ${expected} for ${topic}, got ${observed}`);
  }
});
