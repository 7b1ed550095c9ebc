// Steps about messages: published by the observer identity, received (or not) by sessions.
import { ConformanceFailure } from '../common/errors.ts';
import { Then, When } from '@cucumber/cucumber';
import { SessionClient } from '../mqtt-client/session-client.ts';
import { expectObserved, failObserved } from './observation.ts';
import { describeOutcome } from './refusal-judgement.ts';
import { OBSERVER, OBSERVER_PUBLISHES } from './roles.ts';
import { CLIENT_TIMEOUT_MS, type ConformanceWorld } from './world.ts';

/** The observer's client that publishes to the scenario's sessions, connected on first use. */
export async function observerPublisher(world: ConformanceWorld): Promise<SessionClient> {
  const publisherSession = 'observer-publisher';
  if (!world.sessions.has(publisherSession)) {
    const outcome = await world.connect(OBSERVER, publisherSession, { cleanStart: true, sessionExpiry: 0 });
    if (!outcome.accepted) {
      const observed = describeOutcome(world, outcome);
      failObserved(world, { step: 'the observer connects to publish', expected: 'accepted', observed }, `the observer identity could not connect to publish: ${observed}`);
    }
  }
  return world.session(publisherSession);
}

async function publish(world: ConformanceWorld, sessionName: string, payload: string): Promise<void> {
  await (await observerPublisher(world)).publish(world.topic(sessionName), payload, 1);
}

When(OBSERVER_PUBLISHES.message, async function (this: ConformanceWorld, payload: string, sessionName: string) {
  await publish(this, sessionName, payload);
});

async function receives(world: ConformanceWorld, client: SessionClient, sessionName: string, payload: string): Promise<void> {
  const message = await client.nextMessage(world.topic(sessionName), CLIENT_TIMEOUT_MS).catch(() => undefined);
  world.observe({ step: 'receives', expected: `"${payload}" at QoS 1`, observed: message ? `"${message.payload}" at QoS ${message.qos}` : 'nothing' });
  if (!message) throw new ConformanceFailure(`session "${sessionName}" did not receive "${payload}"`);
  if (message.payload !== payload) throw new ConformanceFailure(`session "${sessionName}" received "${message.payload}", expected "${payload}"`);
}

Then('session {string} receives {string}', async function (this: ConformanceWorld, sessionName: string, payload: string) {
  await receives(this, this.session(sessionName), sessionName, payload);
});

Then(OBSERVER_PUBLISHES.receivesToo, async function (this: ConformanceWorld, sessionName: string) {
  const client = this.session(sessionName);
  await client.subscribe(this.topic(sessionName), 1);
  await publish(this, sessionName, `to ${sessionName}`);
  await receives(this, client, sessionName, `to ${sessionName}`);
});

Then(OBSERVER_PUBLISHES.stillReceives, async function (this: ConformanceWorld, identityId: string, sessionName: string) {
  const client = this.session(sessionName);
  const stillConnected = (when: string) => {
    if (client.connected) return;
    const observation = { step: `still connected ${when}`, expected: 'connected', observed: 'the connection ended' };
    failObserved(this, observation, `identity "${identityId}" lost its connection on session "${sessionName}"`);
  };
  stillConnected('before a message');
  await publish(this, sessionName, `still for ${identityId}`);
  await receives(this, client, sessionName, `still for ${identityId}`);
  stillConnected('after a message');
});

// A message queued for an earlier session would be delivered on connect, before anything published
// now: so publish a marker and check that it is the first message to arrive.
Then(OBSERVER_PUBLISHES.doesNotReceive, async function (this: ConformanceWorld, sessionName: string, payload: string) {
  const client = this.session(sessionName);
  await client.subscribe(this.topic(sessionName), 1);
  const marker = `marker after "${payload}"`;
  await publish(this, sessionName, marker);
  const first = await client.nextMessage(this.topic(sessionName), CLIENT_TIMEOUT_MS).catch(() => undefined);
  const observation = { step: 'does not receive', expected: `only "${marker}"`, observed: first ? `"${first.payload}" first` : `nothing within ${CLIENT_TIMEOUT_MS} ms` };
  const failure = first
    ? `session "${sessionName}" received "${first.payload}" (watching for "${payload}"): state of the session before it was kept`
    : `session "${sessionName}" did not receive "${marker}"`;
  expectObserved(this, observation, first?.payload === marker, failure);
  // A session taken by another identity has other topics: a message queued on the old owner's counts too.
  const stray = client.pending().find((message) => message.payload === payload);
  if (stray) {
    const observation = { step: 'does not receive', expected: `no "${payload}"`, observed: `"${payload}" on ${stray.topic}` };
    failObserved(this, observation, `session "${sessionName}" received "${payload}" on ${stray.topic}: state of the session before it was kept`);
  }
});
