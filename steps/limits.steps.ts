// Steps about Event Grid's limits (L5-L15): names at and past 128 characters or not UTF-8, offline
// queues past 100 messages or 1 MB, QoS 2, subscriptions per session, topic size and depth, retain,
// Keep Alive, the CONNACK's announcements and packet size; and M1's CONNECT with a property given twice.
// Values come from rules/limits.ts, Event Grid's own. What the target does is judged through
// steps/observation.ts and steps/refusal-judgement.ts (a ConformanceFailure with what was observed);
// a plain Error here is the suite's own misuse: a step out of order, or a parameter it cannot use.
import { Then, When } from '@cucumber/cucumber';
import { within } from '../common/timing.ts';
import { LIMITS } from '../rules/limits.ts';
import { REFUSAL, refusalCodeFor, type RefusalName } from '../rules/codes.ts';
import type { RawConnection, RawConnectOutcome } from '../mqtt-client/raw-client.ts';
import type { MqttVersion } from '../rules/catalogue.ts';
import { observerPublisher } from './messages.steps.ts';
import { expectObserved, failObserved } from './observation.ts';
import { describeOutcome, describePublication, describeSuback, disconnectAnswer, judgeRefusal, mustBeRefused, pubackAnswer, subackAnswer, subscribeFor } from './refusal-judgement.ts';
import { OBSERVER_PUBLISHES } from './roles.ts';
import { CLIENT_TIMEOUT_MS, type ConformanceWorld, type ConnectOutcome, type RawRequest } from './world.ts';

/** A ClientID of exactly `length` characters that starts with the scenario's prefix. */
function nameOfLength(world: ConformanceWorld, length: number): string {
  const prefix = world.clientId('');
  return (prefix + 'n'.repeat(Math.max(0, length - prefix.length))).slice(0, length);
}

When('identity {string} connects with a ClientID of {int} characters over MQTT {version}', async function (this: ConformanceWorld, identityId: string, length: number, version: MqttVersion) {
  this.version = version;
  const name = nameOfLength(this, length);
  await this.connect(identityId, `name-${length}`, { rawClientId: name, cleanStart: true, sessionExpiry: 0 });
});

/** A CONNECT written byte by byte; its control (for a refusal step) is `control`, by default the same bytes with a fresh ClientID. */
async function rawConnect(world: ConformanceWorld, identityId: string, request: RawRequest, control?: { what: string; request: RawRequest }): Promise<RawConnectOutcome> {
  return world.connectRaw(identityId, request, control);
}

When('identity {string} connects with a ClientID ending in bytes {string} over MQTT {version}', async function (this: ConformanceWorld, identityId: string, hex: string, version: MqttVersion) {
  this.version = version;
  await rawConnect(this, identityId, { clientId: Buffer.concat([Buffer.from(this.clientId('raw-')), Buffer.from(hex, 'hex')]) }, {
    what: `the same CONNECT without the bytes ${hex || '(none)'}, with a fresh ClientID`,
    request: { clientId: Buffer.from(this.clientId('raw-control')) },
  });
});

When('identity {string} connects with its Username followed by bytes {string} over MQTT {version}', async function (this: ConformanceWorld, identityId: string, hex: string, version: MqttVersion) {
  this.version = version;
  const username = Buffer.concat([Buffer.from(this.identity(identityId).entry.authenticationName), Buffer.from(hex, 'hex')]);
  await rawConnect(this, identityId, { clientId: Buffer.from(this.clientId('raw-user')), username }, {
    what: `the same CONNECT with the identity's own Username (without the bytes ${hex || '(none)'}) and a fresh ClientID`,
    request: { clientId: Buffer.from(this.clientId('raw-user-control')) },
  });
});

/** The last CONNECT, written byte by byte. */
function rawOutcome(world: ConformanceWorld): RawConnectOutcome {
  const outcome = world.lastOutcome;
  if (!outcome) throw new Error('no connection was attempted before this step');
  if (outcome.accepted && !('connection' in outcome)) throw new Error('the last connection was made by a client: this step needs one written byte by byte');
  return outcome as RawConnectOutcome;
}

/** The CONNECT's outcome must be an accepted connection (a verdict on the target): the step goes on with it. */
function acceptedConnection<Outcome extends ConnectOutcome>(world: ConformanceWorld, step: string, outcome: Outcome): Extract<Outcome, { accepted: true }> {
  if (!outcome.accepted) failObserved(world, { step, expected: 'accepted', observed: describeOutcome(world, outcome) });
  return outcome as Extract<Outcome, { accepted: true }>;
}

// MQTT 5: a malformed string makes a malformed packet (0x81); MQTT 3.1.1 closes the connection. The
// control (the same CONNECT without the bad bytes) shows the refusal is for them.
Then('the CONNECT is refused as malformed', async function (this: ConformanceWorld) {
  await mustBeRefused(this, 'the CONNECT is refused as malformed', { code: 'malformedPacket' });
});

// M1: a CONNECT whose Session Expiry Interval property (0x11) is given twice, or once; 0 s each time, so
// that a broker that accepts it (or a library that keeps only the last value, as mqtt-packet does after a
// 0) holds no session afterwards and cannot be harmed by it. (A repeat with other values, which
// mqtt-packet decodes as an array, is the reference's unit tests' and `npm run stress`'s.)
const SESSION_EXPIRY_0 = Buffer.from([0x11, 0, 0, 0, 0]);

When('identity {string} connects with the Session Expiry Interval property given {word} over MQTT {version}', async function (this: ConformanceWorld, identityId: string, times: string, version: MqttVersion) {
  if (times !== 'once' && times !== 'twice') throw new Error(`"given ${times}": say once or twice`);
  this.version = version;
  const properties = times === 'twice' ? Buffer.concat([SESSION_EXPIRY_0, SESSION_EXPIRY_0]) : SESSION_EXPIRY_0;
  await rawConnect(this, identityId, { clientId: Buffer.from(this.clientId(`expiry-${times}`)), properties }, {
    what: 'the same CONNECT with the Session Expiry Interval property given once, and a fresh ClientID',
    request: { clientId: Buffer.from(this.clientId(`expiry-${times}-control`)), properties: SESSION_EXPIRY_0 },
  });
});

// MQTT 5: CONNACK 0x82 Protocol Error, then the connection closed; the control gives the property once.
Then('the CONNECT is refused as a protocol error', async function (this: ConformanceWorld) {
  await mustBeRefused(this, 'the CONNECT is refused as a protocol error', { code: 'protocolError' });
});

Then('that connection is accepted', function (this: ConformanceWorld) {
  const outcome = rawOutcome(this);
  expectObserved(this, { step: 'that connection is accepted', expected: 'accepted', observed: describeOutcome(this, outcome) }, outcome.accepted);
});

// L8: what the observer publishes to a held session, in quantity: a window of QoS 1 PUBLISHes at a
// time, well under Event Grid's 100 in flight, as a hundred round trips one by one may outlast the
// embedded reference's 2 s session expiry on a loaded machine.
const PUBLISH_WINDOW = 16;

async function publishMany(world: ConformanceWorld, sessionName: string, count: number, bytes: number): Promise<void> {
  const client = await observerPublisher(world);
  const publish = (index: number) => {
    const label = `message ${index} `;
    return client.publish(world.topic(sessionName), Buffer.concat([Buffer.from(label), Buffer.alloc(Math.max(0, bytes - label.length), 0x2e)]), 1);
  };
  for (let first = 1; first <= count; first += PUBLISH_WINDOW) {
    await Promise.all(Array.from({ length: Math.min(PUBLISH_WINDOW, count - first + 1) }, (_, offset) => publish(first + offset)));
  }
}

When(OBSERVER_PUBLISHES.messages, { timeout: 120_000 }, async function (this: ConformanceWorld, count: number, sessionName: string) {
  await publishMany(this, sessionName, count, 16);
});

When(OBSERVER_PUBLISHES.messagesOfSize, { timeout: 120_000 }, async function (this: ConformanceWorld, count: number, kib: number, sessionName: string) {
  await publishMany(this, sessionName, count, kib * 1024);
});

Then('session {string} receives {int} messages', { timeout: 60_000 }, async function (this: ConformanceWorld, sessionName: string, count: number) {
  const client = this.session(sessionName);
  let received = 0;
  while (received < count) {
    const message = await client.nextMessage(this.topic(sessionName), CLIENT_TIMEOUT_MS).catch(() => undefined);
    if (!message) break;
    received += 1;
  }
  const observation = { step: 'receives queued messages', expected: `${count} messages`, observed: `${received} messages${received < count ? `, then none within ${CLIENT_TIMEOUT_MS} ms` : ''}` };
  expectObserved(this, observation, received >= count, `session "${sessionName}" received ${received} of the ${count} messages queued for it`);
});

// L9-L11: SUBSCRIBE and PUBLISH on a connected session.
/** Subscribes to one filter of the session: a refusal goes to the judgement, a grant is compared with the QoS the step expects. */
async function subscribeFilter(world: ConformanceWorld, sessionName: string, filter: string, qos: 0 | 1 | 2) {
  const { code, noSuback } = await subscribeFor(world.session(sessionName), filter, qos);
  const answer = subackAnswer(world, code, noSuback);
  // Topics reach 256 bytes here: a failure names the filter by its start.
  return { answer, subject: `${filter.slice(0, 50)}…` };
}

async function expectGranted(world: ConformanceWorld, sessionName: string, filter: string, qos: 0 | 1 | 2, granted: number, step: string): Promise<void> {
  const { answer, subject } = await subscribeFilter(world, sessionName, filter, qos);
  const expected = describeSuback(world, granted);
  expectObserved(world, { step, expected, observed: answer.observed }, answer.code === granted, `${subject}: expected ${expected}, got ${answer.observed}`);
}

async function expectRefused(world: ConformanceWorld, sessionName: string, filter: string, code: RefusalName, step: string): Promise<void> {
  const { answer, subject } = await subscribeFilter(world, sessionName, filter, 1);
  judgeRefusal(world, step, answer, { code, subject });
}

Then('session {string} subscribing at QoS {int} is granted QoS {int}', async function (this: ConformanceWorld, sessionName: string, asked: number, granted: number) {
  await expectGranted(this, sessionName, `${this.topic(sessionName)}/qos${asked}`, asked as 0 | 1 | 2, granted, `subscribing at QoS ${asked}`);
});

/** n distinct filters of the session (besides the inbox it subscribed to when opened). */
const filterNumber = (world: ConformanceWorld, sessionName: string, n: number) => `${world.topic(sessionName)}/f${n}`;

When('session {string} subscribes to {int} more topic filters', { timeout: 60_000 }, async function (this: ConformanceWorld, sessionName: string, count: number) {
  for (let n = 1; n <= count; n += 1) await expectGranted(this, sessionName, filterNumber(this, sessionName, n), 1, 1, 'subscribing within the limit');
});

Then('session {string} subscribing to one more topic filter is refused as over quota', async function (this: ConformanceWorld, sessionName: string) {
  await expectRefused(this, sessionName, filterNumber(this, sessionName, 1000), 'subscriptionQuotaExceeded', 'one subscription more than the limit');
});

Then('session {string} subscribing again to a topic filter it holds is granted', async function (this: ConformanceWorld, sessionName: string) {
  await expectGranted(this, sessionName, filterNumber(this, sessionName, 1), 1, 1, 'a repeated subscription takes no new place');
});

/** A topic of the session's own with exactly that many bytes, or that many levels. */
function topicOf(world: ConformanceWorld, sessionName: string, size: number, unit: string): string {
  const base = world.topic(sessionName);
  if (unit === 'levels') return [base, ...Array.from({ length: size - base.split('/').length }, (_, i) => `l${i}`)].join('/');
  return `${base}/${'t'.repeat(size - base.length - 1)}`;
}

Then('session {string} subscribing to a topic filter of {int} {word} is granted', async function (this: ConformanceWorld, sessionName: string, size: number, unit: string) {
  await expectGranted(this, sessionName, topicOf(this, sessionName, size, unit), 1, 1, `a topic filter of ${size} ${unit}`);
});

Then('session {string} subscribing to a topic filter of {int} {word} is refused as invalid', async function (this: ConformanceWorld, sessionName: string, size: number, unit: string) {
  await expectRefused(this, sessionName, topicOf(this, sessionName, size, unit), 'topicFilterInvalid', `a topic filter of ${size} ${unit}`);
});

/** A QoS 1 PUBLISH the target must acknowledge (the PUBACK's code is another step's: 3.1.1's has none). */
async function expectAcknowledged(world: ConformanceWorld, sessionName: string, topic: string, payload: string, step: string): Promise<void> {
  const failure = await world.session(sessionName).publish(topic, payload, 1).then(() => undefined, (error: Error) => error.message);
  expectObserved(world, { step, expected: 'PUBACK', observed: failure === undefined ? 'PUBACK' : `no PUBACK: ${failure}` }, failure === undefined);
}

Then('session {string} publishing at QoS 1 to a topic of {int} {word} is acknowledged', async function (this: ConformanceWorld, sessionName: string, size: number, unit: string) {
  await expectAcknowledged(this, sessionName, topicOf(this, sessionName, size, unit), 'within the limit', `publishing to a topic of ${size} ${unit}`);
});

Then('session {string} publishing at QoS 1 to the inbox is acknowledged', async function (this: ConformanceWorld, sessionName: string) {
  await expectAcknowledged(this, sessionName, `${this.topic(sessionName)}/qos1`, 'QoS 1', 'publishing at QoS 1');
});

/** How long a PUBLISH past a limit may take to end its connection. */
const END_WITHIN_MS = 3000;

/** Sends a PUBLISH past a limit and judges how its connection ended (a DISCONNECT with `code` over MQTT 5). */
async function endsConnection(world: ConformanceWorld, sessionName: string, send: () => void, code: RefusalName, step: string): Promise<void> {
  const client = world.session(sessionName);
  const sentAt = performance.now();
  send();
  const end = await within(client.ended.then((ended) => ({ ...ended, afterMs: Math.round(performance.now() - sentAt) })), END_WITHIN_MS);
  judgeRefusal(world, step, disconnectAnswer(world, end, END_WITHIN_MS), { code });
}

Then('session {string} publishing at QoS 2 ends its connection', async function (this: ConformanceWorld, sessionName: string) {
  await endsConnection(this, sessionName, () => this.session(sessionName).sendPublish(`${this.topic(sessionName)}/qos2`, 'QoS 2', 2), 'qosNotSupported', 'publishing at QoS 2');
});

Then('session {string} publishing to a topic of {int} {word} ends its connection', async function (this: ConformanceWorld, sessionName: string, size: number, unit: string) {
  const topic = topicOf(this, sessionName, size, unit);
  await endsConnection(this, sessionName, () => this.session(sessionName).sendPublish(topic, 'past the limit', 1), 'topicNameInvalid', `publishing to a topic of ${size} ${unit}`);
});

// L12: retain, supported since 2025.
Then('a retained message published by session {string} reaches its later subscription', async function (this: ConformanceWorld, sessionName: string) {
  const client = this.session(sessionName);
  const topic = `${this.topic(sessionName)}/retained`;
  await client.publish(topic, 'last known value', 1, { retain: true });
  await client.subscribe(topic, 1);
  const message = await client.nextMessage(topic, 3000).catch(() => undefined);
  // Clear it: an empty retained payload deletes the retained message.
  await client.publish(topic, '', 1, { retain: true }).catch(() => undefined);
  const observation = { step: 'a retained message reaches a later subscription', expected: '"last known value"', observed: message ? `"${message.payload}"` : 'nothing within 3000 ms' };
  expectObserved(this, observation, message?.payload === 'last known value', 'the retained message did not reach the later subscription');
});

// L18: a retained message past 64 KB (RETAIN). Each payload starts with its size, so that what a later
// subscriber gets names the message it was.
const retainedTopic = (world: ConformanceWorld, sessionName: string) => `${world.topic(sessionName)}/retained-size`;
const sizedPayload = (bytes: number) => Buffer.concat([Buffer.from(`${bytes} bytes `), Buffer.alloc(bytes - `${bytes} bytes `.length, 0x2e)]);

When('session {string} publishes a retained message of {int} bytes, then one of {int} bytes to the same topic', async function (this: ConformanceWorld, sessionName: string, kept: number, past: number) {
  const client = this.session(sessionName);
  const topic = retainedTopic(this, sessionName);
  const first = await client.tryPublish(topic, sizedPayload(kept), { retain: true });
  const acknowledged = first.acknowledged && first.reasonCode < 0x80;
  expectObserved(this, { step: `a retained message of ${kept} bytes`, expected: 'PUBACK', observed: describePublication(this, first) }, acknowledged);
  this.lastPublication = { topic, outcome: await client.tryPublish(topic, sizedPayload(past), { retain: true }) };
});

Then('the retained message of {int} bytes is refused as over quota', function (this: ConformanceWorld, bytes: number) {
  const publication = this.lastPublication;
  if (!publication) throw new Error('no PUBLISH was made before this step');
  const step = `a retained message of ${bytes} bytes`;
  // MQTT 3.1.1 has no negative PUBACK: what the target did is recorded, and the later subscriber judges.
  if (refusalCodeFor(this.version, REFUSAL.retainedTooLarge) === undefined) {
    this.observe({ step, expected: 'no code exists to check over 3.1.1 (recorded)', observed: describePublication(this, publication.outcome) });
    return;
  }
  judgeRefusal(this, step, pubackAnswer(this, publication.outcome), { code: 'retainedTooLarge', subject: publication.topic });
});

Then('a later subscription of identity {string} to the topic of session {string} gets the retained message of {int} bytes', async function (this: ConformanceWorld, identityId: string, sessionName: string, bytes: number) {
  const topic = retainedTopic(this, sessionName);
  const outcome = await this.connect(identityId, `${sessionName}-reader`, { cleanStart: true, sessionExpiry: 0 });
  if (!outcome.accepted) failObserved(this, { step: 'a later subscriber connects', expected: 'accepted', observed: describeOutcome(this, outcome) });
  const reader = outcome.client;
  await reader.subscribe(topic, 1);
  const message = await reader.nextMessage(topic, 3000).catch(() => undefined);
  // Clear it: an empty retained payload deletes the retained message.
  await reader.publish(topic, '', 1, { retain: true }).catch(() => undefined);
  const observed = message ? `a message of ${Buffer.byteLength(message.payload)} bytes ("${message.payload.slice(0, 16)}…")` : 'nothing within 3000 ms';
  const size = message ? Buffer.byteLength(message.payload) : undefined;
  expectObserved(this, { step: 'a later subscription gets the retained message', expected: `the message of ${bytes} bytes`, observed }, size === bytes);
});

// L13, L15: what an MQTT 5 CONNACK announces.
When('identity {string} connects with session {string} asking for a Keep Alive of {int} seconds over MQTT {version}', async function (this: ConformanceWorld, identityId: string, sessionName: string, seconds: number, version: MqttVersion) {
  this.version = version;
  await this.connect(identityId, sessionName, { keepAlive: seconds, cleanStart: true, sessionExpiry: 0 });
});

/** A property of the last CONNECT's CONNACK, which must have accepted it. */
function connackProperty(world: ConformanceWorld, step: string, name: string): unknown {
  return acceptedConnection(world, step, world.lastClientOutcome()).client.connackProperties[name];
}

/** Judges a CONNACK property: `value` undefined expects it absent. */
function expectConnackProperty(world: ConformanceWorld, step: string, name: string, value: number | undefined): void {
  const seen = connackProperty(world, step, name);
  const expected = value === undefined ? `no ${name}` : `${name} ${value}`;
  expectObserved(world, { step, expected, observed: `${name} ${seen === undefined ? 'absent' : String(seen)}` }, seen === value, `expected the CONNACK to carry ${expected}, got ${String(seen ?? 'none')}`);
}

Then('the CONNACK carries {word} {int}', function (this: ConformanceWorld, name: string, value: number) {
  expectConnackProperty(this, `the CONNACK carries ${name}`, name, value);
});

Then('the CONNACK carries no {word}', function (this: ConformanceWorld, name: string) {
  expectConnackProperty(this, `the CONNACK carries no ${name}`, name, undefined);
});

Then('the CONNACK announces Event Grid\'s Maximum Packet Size', function (this: ConformanceWorld) {
  expectConnackProperty(this, 'the CONNACK announces the Maximum Packet Size', 'maximumPacketSize', LIMITS.maximumPacketSize.value);
});

// L15: a QoS 1 PUBLISH whose whole packet (fixed header included) is exactly this many bytes.
function publishOfSize(world: ConformanceWorld, sessionName: string, bytes: number): { topic: string; payload: string } {
  const topic = `${world.topic(sessionName)}/size`;
  // Type byte, Remaining Length (3 bytes from 16 KiB to 2 MiB), topic with its length, packet identifier, MQTT 5's empty properties.
  const overhead = 1 + 3 + 2 + Buffer.byteLength(topic) + 2 + (world.version === '5' ? 1 : 0);
  if (bytes - overhead < 16384) throw new Error(`a PUBLISH of ${bytes} bytes is too small for this step`);
  return { topic, payload: '.'.repeat(bytes - overhead) };
}

Then('session {string} publishing a packet of {int} bytes is acknowledged', { timeout: 30_000 }, async function (this: ConformanceWorld, sessionName: string, bytes: number) {
  const { topic, payload } = publishOfSize(this, sessionName, bytes);
  await expectAcknowledged(this, sessionName, topic, payload, `publishing a packet of ${bytes} bytes`);
});

Then('session {string} publishing a packet of {int} bytes ends its connection', { timeout: 30_000 }, async function (this: ConformanceWorld, sessionName: string, bytes: number) {
  const { topic, payload } = publishOfSize(this, sessionName, bytes);
  await endsConnection(this, sessionName, () => this.session(sessionName).sendPublish(topic, payload, 1), 'packetTooLarge', `publishing a packet of ${bytes} bytes`);
});

// L14: byte-level clients side by side: one never pings, the other pings on time; the second must
// outlive the first by a Keep Alive, so that a broker that ignores PINGREQ fails.
When('identity {string} connects with session {string} and a Keep Alive of {int} second(s) over MQTT {version}', async function (this: ConformanceWorld, identityId: string, sessionName: string, seconds: number, version: MqttVersion) {
  this.version = version;
  const outcome = await rawConnect(this, identityId, { clientId: Buffer.from(this.clientId(sessionName)), keepAlive: seconds });
  if (outcome.accepted) {
    keepAlives.set(outcome.connection, seconds);
    openedBy.set(outcome.connection, identityId);
  }
});

/** The identity that opened each such connection: a silent one is timed again as it was made. */
const openedBy = new WeakMap<RawConnection, string>();

/** The Keep Alive each connection asked for. */
const keepAlives = new WeakMap<RawConnection, number>();
/** Per scenario: the connection that pings, and its Keep Alive. */
const pingers = new WeakMap<ConformanceWorld, { connection: RawConnection; keepAliveMs: number }>();

When('that connection sends PINGREQ every half Keep Alive', function (this: ConformanceWorld) {
  const outcome = acceptedConnection(this, 'the connection that is to ping is accepted', rawOutcome(this));
  const keepAliveMs = (keepAlives.get(outcome.connection) ?? 0) * 1000;
  if (!keepAliveMs) throw new Error('the connection that is to ping has no Keep Alive');
  const timer = setInterval(() => outcome.connection.pingreq(), keepAliveMs / 2);
  // It pings until its connection ends: the scenario's clean-up ends it at the latest.
  void outcome.connection.ended.then(() => clearInterval(timer));
  pingers.set(this, { connection: outcome.connection, keepAliveMs });
});

/** Further silent connections tried before a close outside the window fails L14 (a timing verdict is taken more than once). */
const SILENCE_RETRIES = 2;

/**
 * When a connection silent since its CONNACK may be closed: not before one and a half Keep Alives less
 * the round trip its CONNECT took (the server counts from the CONNECT), and not later than that plus
 * a Keep Alive and a second (a broker checks on a timer of its own, often in whole seconds) and the round
 * trip again (the close has to travel back).
 */
function silenceWindow(keepAliveMs: number, roundTripMs: number): { earliest: number; latest: number } {
  return { earliest: Math.max(0, 1.5 * keepAliveMs - roundTripMs - 50), latest: 2.5 * keepAliveMs + 1000 + 2 * roundTripMs };
}

Then('the connection stays silent and is closed after one and a half Keep Alives', { timeout: 60_000 }, async function (this: ConformanceWorld) {
  const first = acceptedConnection(this, 'the silent connection is accepted', rawOutcome(this)).connection;
  const keepAliveMs = (keepAlives.get(first) ?? 1) * 1000;
  const attempts: string[] = [];
  let connection = first;
  for (let attempt = 0; ; attempt += 1) {
    const { earliest, latest } = silenceWindow(keepAliveMs, connection.roundTripMs);
    const end = await within(connection.ended, latest + 500);
    const inWindow = end !== undefined && end.afterMs >= earliest && end.afterMs <= latest;
    attempts.push(`${end ? `closed after ${end.afterMs} ms` : `still open after ${latest + 500} ms`} (window ${Math.round(earliest)}-${Math.round(latest)} ms, round trip ${connection.roundTripMs} ms)`);
    if (!end) connection.close();
    if (inWindow || attempt === SILENCE_RETRIES) {
      const observation = { step: 'a silent connection is closed', expected: `closed within the window of 1.5 x ${keepAliveMs} ms (by the round trip; up to ${SILENCE_RETRIES + 1} tries)`, observed: attempts.join('; ') };
      expectObserved(this, observation, inWindow, `expected the silent connection to be closed after about ${1.5 * keepAliveMs} ms: ${attempts.join('; ')}`);
      return;
    }
    // Another silent connection, as the first was made: the scenario's identity, a fresh session name.
    const retry = await rawConnect(this, openedBy.get(first)!, { clientId: Buffer.from(this.clientId(`silent-retry-${attempt + 1}`)), keepAlive: keepAliveMs / 1000 });
    if (!retry.accepted) failObserved(this, { step: 'a silent connection is closed', expected: 'another silent connection accepted, to time again', observed: describeOutcome(this, retry) });
    connection = retry.connection;
  }
});

Then('the connection that pings is still open a Keep Alive later', { timeout: 10_000 }, async function (this: ConformanceWorld) {
  const pinger = pingers.get(this);
  if (!pinger) throw new Error('no connection was sending PINGREQ in this scenario');
  const end = await within(pinger.connection.ended, pinger.keepAliveMs);
  const observed = end ? `closed after ${end.afterMs} ms` : `open ${pinger.keepAliveMs} ms after the silent one closed`;
  const observation = { step: 'a connection that pings stays', expected: `open ${pinger.keepAliveMs} ms after the silent one closed`, observed };
  expectObserved(this, observation, !end, `a connection that pinged every ${pinger.keepAliveMs / 2} ms was closed after ${end?.afterMs} ms`);
});

/** Packet identifiers of the PUBLISHes written with a Topic Alias, far from those mqtt.js gives. */
const ALIAS_MESSAGE_ID = 60_000;

// L17: Topic Alias Maximum 10. An alias at the maximum is taken: a PUBLISH that sets it reaches the
// session's own subscription, and so does one that gives the alias alone (empty topic).
Then('session {string} publishing to its own topic with Topic Alias {int}, then with the alias alone, receives both', async function (this: ConformanceWorld, sessionName: string, alias: number) {
  const client = this.session(sessionName);
  const topic = `${this.topic(sessionName)}/aliased`;
  await client.subscribe(topic, 1);
  client.sendPublishWithAlias(topic, 'with its topic', alias, ALIAS_MESSAGE_ID);
  const first = await client.nextMessage(topic, CLIENT_TIMEOUT_MS).catch(() => undefined);
  client.sendPublishWithAlias('', 'by the alias alone', alias, ALIAS_MESSAGE_ID + 1);
  const second = await client.nextMessage(topic, CLIENT_TIMEOUT_MS).catch(() => undefined);
  const observed = [first, second].map((message) => (message ? `"${message.payload}"` : 'nothing')).join(', then ');
  const step = `publishing with Topic Alias ${alias}`;
  expectObserved(this, { step, expected: '"with its topic", then "by the alias alone"', observed }, first?.payload === 'with its topic' && second?.payload === 'by the alias alone', `Topic Alias ${alias} was not taken: ${observed}`);
});

Then('session {string} publishing with Topic Alias {int} ends its connection', async function (this: ConformanceWorld, sessionName: string, alias: number) {
  const topic = `${this.topic(sessionName)}/aliased`;
  await endsConnection(this, sessionName, () => this.session(sessionName).sendPublishWithAlias(topic, 'past the maximum', alias, ALIAS_MESSAGE_ID + 2), 'topicAliasInvalid', `publishing with Topic Alias ${alias}`);
});
