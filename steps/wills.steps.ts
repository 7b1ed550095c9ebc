// Steps about Will Messages: a CONNECT that carries one, judged as the PUBLISH it would become (L9: its
// QoS; P2, P3: its topic), and the will that a lost connection publishes (P1). A will's topic is
// `<a session's topic>/will`, under its client's own topics unless a step says otherwise.
import { Then, When } from '@cucumber/cucumber';
import { ConformanceFailure } from '../common/errors.ts';
import type { WillOptions } from '../mqtt-client/session-client.ts';
import type { MqttVersion } from '../rules/catalogue.ts';
import { mustBeRefused } from './refusal-judgement.ts';
import { CLIENT_TIMEOUT_MS, type ConformanceWorld } from './world.ts';

/** The will topic of a session the identity opens: under the client's own topics. */
function ownWillTopic(world: ConformanceWorld, identityId: string, sessionName: string): string {
  return `${world.topicOf(world.registeredName(world.identity(identityId).entry.authenticationName), sessionName)}/will`;
}

/**
 * A will the suite's clients send: over MQTT 5 with a Will Delay Interval of 1 s (which must stay with
 * the CONNECT: the will's PUBLISH may not carry it) and a Content Type (which it does carry).
 */
function will(world: ConformanceWorld, topic: string, qos: 0 | 1 | 2, sessionName: string): WillOptions {
  return {
    topic,
    payload: `will of ${sessionName}`,
    qos,
    ...(world.version === '5' ? { properties: { willDelayInterval: 1, contentType: 'text/plain' } } : {}),
  };
}

/** The will a session's CONNECT carried, by Gherkin session name, for the steps that wait for it. */
const wills = new WeakMap<ConformanceWorld, Map<string, WillOptions>>();

function sentWill(world: ConformanceWorld, sessionName: string): WillOptions {
  const sent = wills.get(world)?.get(sessionName);
  if (!sent) throw new Error(`session "${sessionName}" connected with no will in this scenario`);
  return sent;
}

async function connectWithWill(world: ConformanceWorld, identityId: string, sessionName: string, sent: WillOptions, control: WillOptions, what: string): Promise<void> {
  const own = wills.get(world) ?? new Map<string, WillOptions>();
  wills.set(world, own);
  own.set(sessionName, sent);
  await world.connect(identityId, sessionName, { will: sent }, { what, options: { will: control } });
}

// L9: a will on the client's own topic at this QoS; a refusal's control is the same CONNECT with a QoS 1 will.
When('identity {string} connects with session {string} and a QoS {int} will over MQTT {version}', async function (this: ConformanceWorld, identityId: string, sessionName: string, qos: number, version: MqttVersion) {
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new Error(`a will of QoS ${qos}: say 0, 1 or 2`);
  this.version = version;
  const topic = ownWillTopic(this, identityId, sessionName);
  await connectWithWill(this, identityId, sessionName, will(this, topic, qos, sessionName), will(this, topic, 1, sessionName), 'the same CONNECT with a QoS 1 will, and a fresh session name');
});

// P1, L9: a will on the topic of another session of the same client (the one that watches for it, so
// that its subscription is on its own session's topic: P4 is not what these scenarios are about).
When('identity {string} connects with session {string} and a QoS {int} will on the topic of session {string} over MQTT {version}', async function (this: ConformanceWorld, identityId: string, sessionName: string, qos: number, watcher: string, version: MqttVersion) {
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new Error(`a will of QoS ${qos}: say 0, 1 or 2`);
  this.version = version;
  const topic = `${this.topic(watcher)}/will`;
  await connectWithWill(this, identityId, sessionName, will(this, topic, qos, sessionName), will(this, topic, 1, sessionName), 'the same CONNECT with a QoS 1 will, and a fresh session name');
});

// P2, P3: a will where the client may not publish; a refusal's control is the same CONNECT with its will on its own topic.
async function connectWithForeignWill(world: ConformanceWorld, identityId: string, sessionName: string, topic: string, where: string): Promise<void> {
  const own = ownWillTopic(world, identityId, sessionName);
  world.refusalCase = 'a Will';
  await connectWithWill(world, identityId, sessionName, will(world, topic, 1, sessionName), will(world, own, 1, sessionName), `the same CONNECT with its will on its own topic (not ${where}), and a fresh session name`);
}

When('identity {string} connects with session {string} and a will on a topic outside the granted topic spaces over MQTT {version}', async function (this: ConformanceWorld, identityId: string, sessionName: string, version: MqttVersion) {
  this.version = version;
  await connectWithForeignWill(this, identityId, sessionName, `${this.topicOutside()}/will`, 'outside the granted topic spaces');
});

When('identity {string} connects with session {string} and a will on a topic of identity {string} over MQTT {version}', async function (this: ConformanceWorld, identityId: string, sessionName: string, other: string, version: MqttVersion) {
  this.version = version;
  const topic = `${this.topicOf(this.registeredName(this.identity(other).entry.authenticationName), `${other}-topic`)}/will`;
  await connectWithForeignWill(this, identityId, sessionName, topic, `on a topic of identity "${other}"`);
});

Then('the connection is refused as QoS not supported', async function (this: ConformanceWorld) {
  await mustBeRefused(this, 'the connection is refused as QoS not supported', { code: 'willQosNotSupported' });
});

When('session {string} subscribes at QoS {int} to the will topic of session {string}', async function (this: ConformanceWorld, sessionName: string, qos: number, other: string) {
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new Error(`a subscription of QoS ${qos}: say 0, 1 or 2`);
  const topic = sentWill(this, other).topic;
  this.lastSubscription = { topic, code: await this.session(sessionName).subscribeCode(topic, qos) };
});

// The will arrives once the connection is gone and the Will Delay Interval (1 s, at most the session
// expiry) has passed. Over MQTT 5 it is a PUBLISH with the will's properties but the Will Delay
// Interval, which a PUBLISH may not carry (MQTT 5 3.1.3.2.2, 2.2.2.2; a strict client such as
// mosquitto_sub drops the connection on it).
Then('session {string} receives the will of session {string} at QoS {int}', async function (this: ConformanceWorld, sessionName: string, other: string, qos: number) {
  const sent = sentWill(this, other);
  const topic = sent.topic;
  const message = await this.session(sessionName).nextMessage(topic, CLIENT_TIMEOUT_MS + 1000).catch(() => undefined);
  const properties = message?.properties ? ` with ${Object.keys(message.properties).sort().join(', ') || 'no properties'}` : '';
  const observed = message ? `"${message.payload}" at QoS ${message.qos}${this.version === '5' ? properties || ' with no properties' : ''}` : 'nothing';
  const expected = `"${sent.payload}" at QoS ${qos}${this.version === '5' ? ' with contentType and no willDelayInterval' : ''}`;
  this.observe({ step: 'receives the will', expected, observed });
  if (!message) throw new ConformanceFailure(`session "${sessionName}" did not receive the will of session "${other}"`);
  if (message.payload !== sent.payload || message.qos !== qos) throw new ConformanceFailure(`expected the will ${expected}, got ${observed}`);
  if (this.version === '5') {
    if (message.properties?.willDelayInterval !== undefined) throw new ConformanceFailure(`the will's PUBLISH carries the Will Delay Interval (${String(message.properties.willDelayInterval)}), which a PUBLISH may not carry`);
    if (message.properties?.contentType !== 'text/plain') throw new ConformanceFailure(`the will's PUBLISH lost the will's Content Type: ${observed}`);
  }
});
