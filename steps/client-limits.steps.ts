// Steps about what a client's own MQTT 5 packets ask of the namespace: the flow control of its CONNECT
// (L16: Maximum Packet Size, Receive Maximum), and what Event Grid does not support: Subscription
// Identifiers (M2), Response Information (M4), User Properties on a CONNECT or SUBSCRIBE (M5).
import { Given, Then, When } from '@cucumber/cucumber';
import { ConformanceFailure } from '../common/errors.ts';
import { within } from '../common/timing.ts';
import type { RawConnection } from '../mqtt-client/raw-client.ts';
import type { MqttVersion } from '../rules/catalogue.ts';
import { REFUSAL } from '../rules/codes.ts';
import { expectObserved } from './observation.ts';
import { disconnectAnswer, judgeRefusal, mustBeRefused, subackAnswer, subscribeFor } from './refusal-judgement.ts';
import { OBSERVER, OBSERVER_PUBLISHES } from './roles.ts';
import { CLIENT_TIMEOUT_MS, type ConformanceWorld } from './world.ts';

/** A payload of exactly `bytes` bytes that starts with its label. */
function payloadOf(label: string, bytes: number): Buffer {
  return Buffer.concat([Buffer.from(label), Buffer.alloc(Math.max(0, bytes - label.length), 0x2e)]);
}

/** The observer's session, which may publish to every client's topics (P1). */
async function publisher(world: ConformanceWorld) {
  const name = 'observer-publisher';
  if (!world.sessions.has(name)) {
    const outcome = await world.connect(OBSERVER, name, { cleanStart: true, sessionExpiry: 0 });
    if (!outcome.accepted) throw new Error(`the observer identity could not connect to publish: ${world.describe(outcome.code)}`);
  }
  return world.session(name);
}

// L16, Maximum Packet Size: mqtt.js announces it and closes its connection on any larger packet, so a
// namespace that ignores it ends the connection as well as sending what it must not.
Given('identity {string} holds session {string} accepting packets of at most {int} bytes over MQTT {version}', async function (this: ConformanceWorld, identityId: string, sessionName: string, bytes: number, version: MqttVersion) {
  this.version = version;
  const outcome = await this.connect(identityId, sessionName, { maximumPacketSize: bytes });
  if (!outcome.accepted) throw new ConformanceFailure(`identity "${identityId}" could not open session "${sessionName}": ${this.describe(outcome.code)} ${outcome.reasonString ?? outcome.message}`);
  await outcome.client.subscribe(this.topic(sessionName), 1);
});

When(OBSERVER_PUBLISHES.largeThenSmall, async function (this: ConformanceWorld, large: number, small: number, sessionName: string) {
  const client = await publisher(this);
  await client.publish(this.topic(sessionName), payloadOf(`${large} bytes `, large), 1);
  await client.publish(this.topic(sessionName), payloadOf(`${small} bytes `, small), 1);
});

// The smaller message follows the larger one; Event Grid does not promise order, so the larger one is
// watched for a while after the smaller one came.
Then('session {string} receives only the message of {int} bytes and is still connected', async function (this: ConformanceWorld, sessionName: string, bytes: number) {
  const client = this.session(sessionName);
  const topic = this.topic(sessionName);
  const small = await client.nextMessage(topic, CLIENT_TIMEOUT_MS).catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const others = client.pending().filter((message) => message.topic === topic);
  const observed = small
    ? `${[small, ...others].map((message) => `${Buffer.byteLength(message.payload)} bytes`).join(', ')}; ${client.connected ? 'still connected' : 'connection closed'}`
    : `nothing; ${client.connected ? 'still connected' : 'connection closed'}`;
  this.observe({ step: "the client's Maximum Packet Size", expected: `only the message of ${bytes} bytes; still connected`, observed });
  if (!small || Buffer.byteLength(small.payload) !== bytes || others.length || !client.connected) {
    throw new ConformanceFailure(`expected session "${sessionName}" to receive only the message of ${bytes} bytes and stay connected, got ${observed}`);
  }
});

// L16, Receive Maximum: a connection written byte by byte, which acknowledges only when told (mqtt.js
// takes no further message while one is unacknowledged).
interface Window {
  connection: RawConnection;
  topic: string;
  allowed: number;
  unacknowledged: { messageId: number; payload: string }[];
  seen: number;
}
const windows = new WeakMap<ConformanceWorld, Window>();

function windowOf(world: ConformanceWorld): Window {
  const window = windows.get(world);
  if (!window) throw new Error('no connection with a Receive Maximum was opened in this scenario');
  return window;
}

When('identity {string} connects with session {string} allowing {int} unacknowledged messages over MQTT {version}', async function (this: ConformanceWorld, identityId: string, sessionName: string, allowed: number, version: MqttVersion) {
  this.version = version;
  // Receive Maximum, property 0x21, a two-byte integer.
  const receiveMaximum = Buffer.from([0x21, allowed >> 8, allowed & 0xff]);
  const outcome = await this.connectRaw(identityId, { clientId: Buffer.from(this.clientId(sessionName)), properties: receiveMaximum });
  if (!outcome.accepted) throw new ConformanceFailure(`identity "${identityId}" could not connect with a Receive Maximum of ${allowed}: ${this.describe(outcome.code)} ${outcome.reasonString ?? outcome.message}`);
  const topic = this.topicOf(this.registeredName(this.identity(identityId).entry.authenticationName), sessionName);
  const code = await outcome.connection.subscribe(topic, 1, CLIENT_TIMEOUT_MS);
  if (code !== 1) throw new ConformanceFailure(`the subscription to ${topic} was not granted QoS 1 (SUBACK ${code === undefined ? 'none' : `0x${code.toString(16)}`}): does a permission binding grant it?`);
  windows.set(this, { connection: outcome.connection, topic, allowed, unacknowledged: [], seen: 0 });
});

When(OBSERVER_PUBLISHES.toThatConnection, async function (this: ConformanceWorld, count: number) {
  const { topic } = windowOf(this);
  const client = await publisher(this);
  for (let n = 1; n <= count; n += 1) await client.publish(topic, `message ${n}`, 1);
});

function take(window: Window, packets: { messageId?: number; payload: Buffer | string }[]): void {
  for (const packet of packets) window.unacknowledged.push({ messageId: packet.messageId ?? 0, payload: packet.payload.toString() });
  window.seen += packets.length;
}

Then('that connection is sent {int} of them while it acknowledges none', async function (this: ConformanceWorld, count: number) {
  const window = windowOf(this);
  // Waits for one more than allowed, for as long as a message may take.
  take(window, await window.connection.received(count + 1, 2000));
  const observed = `${window.seen} sent with none acknowledged`;
  this.observe({ step: "the client's Receive Maximum", expected: `${count} sent with none acknowledged`, observed });
  if (window.seen !== count) throw new ConformanceFailure(`a client allowing ${window.allowed} unacknowledged messages was sent ${window.seen} of them before acknowledging any, expected ${count}`);
});

Then('acknowledging each, it is sent all {int}', { timeout: 60_000 }, async function (this: ConformanceWorld, total: number) {
  const window = windowOf(this);
  let most = window.unacknowledged.length;
  while (window.unacknowledged.length) {
    window.connection.acknowledge(window.unacknowledged.shift()!.messageId);
    take(window, await window.connection.received(window.seen < total ? 1 : 0, window.seen < total ? CLIENT_TIMEOUT_MS : 0));
    most = Math.max(most, window.unacknowledged.length);
  }
  const observed = `${window.seen} sent, at most ${most} unacknowledged at once`;
  this.observe({ step: 'acknowledging each', expected: `${total} sent, at most ${window.allowed} unacknowledged at once`, observed });
  if (window.seen !== total || most > window.allowed) throw new ConformanceFailure(`expected all ${total} messages with at most ${window.allowed} unacknowledged at once, got ${observed}`);
});

// M2: what the CONNACK says, and a SUBSCRIBE that carries an identifier anyway.
Then('the CONNACK of session {string} says Subscription Identifiers are not available', function (this: ConformanceWorld, sessionName: string) {
  const seen = this.session(sessionName).connackProperties.subscriptionIdentifiersAvailable;
  const observed = seen === undefined ? 'absent (available)' : String(seen);
  this.observe({ step: 'the CONNACK announces Subscription Identifiers', expected: 'subscriptionIdentifiersAvailable false', observed: `subscriptionIdentifiersAvailable ${observed}` });
  if (seen !== false) throw new ConformanceFailure(`expected the CONNACK to say Subscription Identifiers are not available, it says ${observed}`);
});

Then('session {string} subscribing with a Subscription Identifier ends its connection with Subscription Identifiers not supported', async function (this: ConformanceWorld, sessionName: string) {
  const client = this.session(sessionName);
  const expectedCode = REFUSAL.subscriptionIdentifiersNotSupported.reasonCode;
  client.sendSubscribeWithIdentifier(`${this.topic(sessionName)}/with-identifier`, 1, 1);
  const end = await within(client.ended, 3000);
  const observed = end === undefined ? 'still connected' : end.disconnectReasonCode === undefined ? 'closed with no DISCONNECT' : `DISCONNECT ${this.describe(end.disconnectReasonCode)}`;
  this.observe({ step: 'a SUBSCRIBE with a Subscription Identifier', expected: `DISCONNECT ${this.describe(expectedCode)}`, observed });
  if (end?.disconnectReasonCode !== expectedCode) throw new ConformanceFailure(`expected DISCONNECT ${this.describe(expectedCode)}, got ${observed}`);
});

// M4: Response Information, which Event Grid documents it does not return even when asked.
When('identity {string} connects with session {string} asking for Response Information over MQTT {version}', async function (this: ConformanceWorld, identityId: string, sessionName: string, version: MqttVersion) {
  this.version = version;
  await this.connect(identityId, sessionName, { requestResponseInformation: true, cleanStart: true, sessionExpiry: 0 });
});

// M5: User Properties where Event Grid documents that the request fails. The control of each is the
// same request without them.
const USER_PROPERTIES = { purpose: 'conformance' };

When('identity {string} connects with session {string} carrying User Properties over MQTT {version}', async function (this: ConformanceWorld, identityId: string, sessionName: string, version: MqttVersion) {
  this.version = version;
  await this.connect(identityId, sessionName, { userProperties: USER_PROPERTIES, cleanStart: true, sessionExpiry: 0 }, { what: 'an identical CONNECT without User Properties, with a fresh session name', options: { userProperties: undefined } });
});

Then('the CONNECT is refused as not supported', async function (this: ConformanceWorld) {
  await mustBeRefused(this, 'a CONNECT carrying User Properties', { code: 'userPropertiesNotSupported' });
});

Then('session {string} subscribing with User Properties is refused as not supported, and without them is granted', async function (this: ConformanceWorld, sessionName: string) {
  const client = this.session(sessionName);
  const filter = `${this.topic(sessionName)}/with-user-properties`;
  const refused = await subscribeFor(client, filter, 1, USER_PROPERTIES);
  judgeRefusal(this, 'a SUBSCRIBE carrying User Properties', subackAnswer(this, refused.code, refused.noSuback), { code: 'subscribeUserPropertiesNotSupported', subject: filter });
  // The control: the same filter, without User Properties, on the same connection.
  const granted = await subscribeFor(client, filter, 1);
  const answer = subackAnswer(this, granted.code, granted.noSuback);
  expectObserved(this, { step: 'the same SUBSCRIBE without User Properties', expected: 'granted QoS 1', observed: answer.observed }, granted.code === 1);
});

Then('acknowledging the first without User Properties keeps the connection, and the second with them ends it', async function (this: ConformanceWorld) {
  const window = windowOf(this);
  take(window, await window.connection.received(2, CLIENT_TIMEOUT_MS));
  const [first, second] = window.unacknowledged.splice(0);
  if (!first || !second) throw new ConformanceFailure(`expected 2 messages to acknowledge, got ${window.seen}`);
  window.connection.acknowledge(first.messageId);
  const kept = await within(window.connection.ended, 500);
  expectObserved(this, { step: 'a PUBACK without User Properties', expected: 'still connected', observed: kept ? 'the connection ended' : 'still connected' }, kept === undefined);
  const sentAt = performance.now();
  window.connection.acknowledge(second.messageId, USER_PROPERTIES);
  const end = await within(window.connection.ended.then((ended) => ({ ...ended, afterMs: Math.round(performance.now() - sentAt) })), 3000);
  judgeRefusal(this, 'a PUBACK carrying User Properties', disconnectAnswer(this, end, 3000), { code: 'userPropertiesEndConnection' });
});
