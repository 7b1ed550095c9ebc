// Steps about permissions (P1-P4): a session subscribes or publishes somewhere, and what the target
// answered in the SUBACK or PUBACK. Refusals are judged by steps/refusal-judgement.ts.
import { Then, When } from '@cucumber/cucumber';
import { refusalCodeFor, REFUSAL } from '../rules/codes.ts';
import { expectObserved } from './observation.ts';
import { describePublication, judgeRefusal, pubackAnswer, subackAnswer, subscribeFor } from './refusal-judgement.ts';
import type { ConformanceWorld } from './world.ts';

async function subscribe(world: ConformanceWorld, sessionName: string, topic: string): Promise<void> {
  // Whatever came (no SUBACK included), the next step judges it.
  world.lastSubscription = { topic, ...(await subscribeFor(world.session(sessionName), topic, 1)) };
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
  const { topic, code, noSuback } = subscription(this);
  const { observed } = subackAnswer(this, code, noSuback);
  expectObserved(this, { step: 'the subscription is granted', expected: `${topic}: granted QoS 0 or 1`, observed }, code !== undefined && code < 0x80);
});

// MQTT 5: 0x87 Not authorized; 3.1.1: 0x80, the only failure code its SUBACK has (rules/codes.ts).
Then('the subscription is refused as not authorized', function (this: ConformanceWorld) {
  const { topic, code, noSuback } = subscription(this);
  judgeRefusal(this, 'the subscription is refused as not authorized', subackAnswer(this, code, noSuback), { code: 'subscribeNotAuthorized', subject: topic });
});

Then('the publication is accepted', function (this: ConformanceWorld) {
  const { topic, outcome } = publication(this);
  const accepted = outcome.acknowledged && outcome.reasonCode < 0x80;
  expectObserved(this, { step: 'the publication is accepted', expected: `${topic}: PUBACK with a success code`, observed: describePublication(this, outcome) }, accepted);
});

// Only MQTT 5 can say why in a PUBACK: over 3.1.1 there is no refusal to judge (Event Grid's answer is
// undocumented), so what the target did is recorded, and the scenario shows the message was not delivered.
Then('the publication is refused as not authorized', function (this: ConformanceWorld) {
  const { topic, outcome } = publication(this);
  const step = 'the publication is refused as not authorized';
  if (refusalCodeFor(this.version, REFUSAL.publishNotAuthorized) === undefined) {
    this.observe({ step, expected: `${topic}: no code exists to check over 3.1.1 (recorded)`, observed: describePublication(this, outcome) });
    return;
  }
  judgeRefusal(this, step, pubackAnswer(this, outcome), { code: 'publishNotAuthorized', subject: topic });
});
