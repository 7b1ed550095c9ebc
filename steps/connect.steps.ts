// Steps that open, end and drop connections.
import { Given, When } from '@cucumber/cucumber';
import type { MqttVersion } from '../rules/catalogue.ts';
import { LIMITS } from '../rules/limits.ts';
import { sessionExpiryProperty } from '../mqtt-client/raw-packets.ts';
import { failObserved } from './observation.ts';
import { describeOutcome } from './refusal-judgement.ts';
import { EXPIRES } from './roles.ts';
import { OWN_USERNAME, type ConformanceWorld } from './world.ts';

async function holdSession(world: ConformanceWorld, identityId: string, sessionName: string): Promise<void> {
  const outcome = await world.connect(identityId, sessionName);
  if (!outcome.accepted) {
    const observation = { step: `identity "${identityId}" holds session "${sessionName}"`, expected: 'accepted', observed: describeOutcome(world, outcome) };
    failObserved(world, observation, `identity "${identityId}" could not open session "${sessionName}": ${world.describe(outcome.code)} ${outcome.reasonString ?? outcome.message}`);
  }
  await outcome.client.subscribe(world.topic(sessionName), 1);
}

Given('identity {string} holds session {string} over MQTT {version}', async function (this: ConformanceWorld, identityId: string, sessionName: string, version: MqttVersion) {
  this.version = version;
  await holdSession(this, identityId, sessionName);
});

/**
 * Runs `task` for each of an identity's sessions up to the limit: one after another against a remote
 * namespace (up to 100 of them, at its pace: this may take a while), all at once on the embedded one.
 */
async function everySession(world: ConformanceWorld, identityId: string, task: (sessionName: string) => Promise<void>): Promise<void> {
  const names = Array.from({ length: world.sessionLimit }, (_, index) => `${identityId}-${index + 1}`);
  if (world.target.pace) for (const name of names) await task(name);
  else await Promise.all(names.map(task));
}

Given('identity {string} holds as many sessions as the namespace allows over MQTT {version}', { timeout: 300_000 }, async function (this: ConformanceWorld, identityId: string, version: MqttVersion) {
  this.version = version;
  // S9's own verdict on a target that caps connections rather than the sessions of one name (the probe
  // saw another identity turned away too): that cap is no limit per authentication name.
  const cap = this.target.connectionCap;
  if (cap !== undefined) {
    const observed = `limited by connections, ${cap}: after ${cap} connections the target turned every identity away, and holds no limit per authentication name (declare --session-limit to judge S9 against one)`;
    failObserved(this, { step: 'the namespace caps the sessions of one authentication name', expected: 'a limit per authentication name, held sessions included', observed }, observed);
  }
  await everySession(this, identityId, (name) => holdSession(this, identityId, name));
});

// After "session ... expires" this CONNECT is retried until the session is gone, each attempt bounded
// by its own timeout and all of them by the expiry in force: up to 8 hours on a real namespace. After
// "session ... has almost expired" it is judged by when it was answered (connectBeforeExpiry).
When('identity {string} connects with session {string}', { timeout: 8 * 3600 * 1000 + 60_000 }, async function (this: ConformanceWorld, identityId: string, sessionName: string) {
  const moment = almostExpired.get(this);
  if (moment?.sessionName === sessionName) return connectBeforeExpiry(this, identityId, moment);
  await this.connect(identityId, sessionName);
  return undefined;
});

When('identity {string} connects with session {string} over MQTT {version}', async function (this: ConformanceWorld, identityId: string, sessionName: string, version: MqttVersion) {
  this.version = version;
  await this.connect(identityId, sessionName);
});

When('identity {string} connects with Username {string} and session {string} over MQTT {version}', async function (this: ConformanceWorld, identityId: string, username: string, sessionName: string, version: MqttVersion) {
  this.version = version;
  await this.connect(identityId, sessionName, { username }, OWN_USERNAME);
});

When('identity {string} connects with Username {string} and session {string}', async function (this: ConformanceWorld, identityId: string, username: string, sessionName: string) {
  await this.connect(identityId, sessionName, { username }, OWN_USERNAME);
});

// S1/A2/A4: a good certificate with a Username the namespace cannot know. The control is the same
// CONNECT with the identity's own Username.
When(
  /^identity "([^"]*)" connects with (a Username that names no registered client|an empty Username) and session "([^"]*)" over MQTT (3\.1\.1|5)$/,
  async function (this: ConformanceWorld, identityId: string, kind: string, sessionName: string, version: MqttVersion) {
    this.version = version;
    const username = kind.startsWith('a Username that') ? this.unregisteredUsername() : '';
    this.refusalCase = 'unregistered';
    await this.connect(identityId, sessionName, { username }, OWN_USERNAME);
  },
);

// L6: an identity whose authentication name is the longest allowed, 128 characters, presents it with one
// character more. Its control is the same CONNECT with its own Username (128 characters: accepted), so
// the refusal is for the length, and a broker that cuts the Username to 128 characters lets it in.
When('identity {string} connects with its Username and one more character and session {string} over MQTT {version}', async function (this: ConformanceWorld, identityId: string, sessionName: string, version: MqttVersion) {
  this.version = version;
  const own = this.identity(identityId).entry.authenticationName;
  const longest = LIMITS.nameCharacters.value;
  if ([...own].length !== longest) throw new Error(`identity "${identityId}" has an authentication name of ${[...own].length} characters; this step needs one of ${longest}`);
  await this.connect(identityId, sessionName, { username: `${own}x` }, OWN_USERNAME);
});

// S9: the count is per identity, so a refusal at the limit is controlled by another identity.
Given('a refusal here is controlled by the same CONNECT from identity {string}', function (this: ConformanceWorld, identityId: string) {
  this.controlIdentity = identityId;
});

// S5: several identities race for one new session name; exactly one may win.
When('identities {string}, {string} and {string} connect at once with session {string} over MQTT {version}', async function (this: ConformanceWorld, first: string, second: string, third: string, sessionName: string, version: MqttVersion) {
  this.version = version;
  this.race = await Promise.all([first, second, third].map(async (identityId) => ({ identityId, ...(await this.attempt(identityId, sessionName)) })));
});

When('a client without a certificate connects as identity {string} with session {string} over MQTT {version}', async function (this: ConformanceWorld, identityId: string, sessionName: string, version: MqttVersion) {
  this.version = version;
  await this.connect(identityId, sessionName, { withoutCertificate: true }, { what: 'an identical CONNECT with the certificate, and a fresh session name', options: { withoutCertificate: false } });
});

When('identity {string} connects as {string} with session {string} over MQTT {version}', async function (this: ConformanceWorld, identityId: string, claimed: string, sessionName: string, version: MqttVersion) {
  this.version = version;
  await this.connect(identityId, sessionName, { username: this.identity(claimed).entry.authenticationName }, OWN_USERNAME);
});

// S5-S8: an intruder of any shape (or the owner in another letter case): Clean Start / Clean Session 0
// or 1, with its own Username, that Username in upper case (the same client, A4), or none (named by its
// certificate, on a namespace with alternative name sources). A refusal's control is the same CONNECT
// with a fresh session name.
When(
  /^identity "([^"]*)" connects with session "([^"]*)", Clean Start (0|1) and (its own Username|its Username in upper case|no Username)$/,
  async function (this: ConformanceWorld, identityId: string, sessionName: string, clean: string, username: string) {
    const own = this.identity(identityId).entry.authenticationName;
    const presented = username === 'no Username' ? null : username === 'its own Username' ? own : own.toUpperCase();
    await this.connect(identityId, sessionName, { cleanStart: clean === '1', username: presented });
  },
);

When('identity {string} connects with session {string} and Clean Start', async function (this: ConformanceWorld, identityId: string, sessionName: string) {
  await this.connect(identityId, sessionName, { cleanStart: true });
});

// L2 (MQTT 5): Clean Start 0 and no Session Expiry Interval property: the session resumes, and ends with this connection.
When('identity {string} connects with session {string} and no Session Expiry Interval', async function (this: ConformanceWorld, identityId: string, sessionName: string) {
  if (this.version !== '5') throw new Error('only MQTT 5 has a Session Expiry Interval');
  await this.connect(identityId, sessionName, { cleanStart: false, sessionExpiry: undefined });
});

When('identity {string} connects with session {string} asking for a session expiry of {int} seconds over MQTT {version}', async function (this: ConformanceWorld, identityId: string, sessionName: string, seconds: number, version: MqttVersion) {
  this.version = version;
  await this.connect(identityId, sessionName, { sessionExpiry: seconds });
});

When('identity {string} connects with an empty session name over MQTT {version}', async function (this: ConformanceWorld, identityId: string, version: MqttVersion) {
  this.version = version;
  // mqtt.js sends an empty ClientID only with Clean Start; the next step sends Clean Start 0 by hand.
  await this.connect(identityId, '', { rawClientId: '', cleanStart: true });
});

When('identity {string} connects with an empty session name and Clean Start 0 over MQTT {version}', async function (this: ConformanceWorld, identityId: string, version: MqttVersion) {
  this.version = version;
  const request = { clientId: Buffer.alloc(0), cleanStart: false, ...(version === '5' ? { properties: sessionExpiryProperty(this.target.shortSessionExpirySeconds) } : {}) };
  await this.connectRaw(identityId, request, { what: 'the same CONNECT bytes with a fresh ClientID', request: { ...request, clientId: Buffer.from(this.clientId('empty-control')) } });
});

// S3: the ClientID must be the bare authentication name, so it cannot carry the run prefix; Clean
// Start with no expiry leaves nothing behind to collide with a later run.
When('identity {string} connects without a Username with session named as its authentication name over MQTT {version}', async function (this: ConformanceWorld, identityId: string, version: MqttVersion) {
  this.version = version;
  const name = this.identity(identityId).entry.authenticationName;
  await this.connect(identityId, name, { rawClientId: name, username: null, cleanStart: true, sessionExpiry: 0 });
});

// S3: refused because the ClientID is not the authentication name; the control puts it back.
When('identity {string} connects without a Username with session {string}', async function (this: ConformanceWorld, identityId: string, sessionName: string) {
  const name = this.identity(identityId).entry.authenticationName;
  await this.connect(identityId, sessionName, { username: null, cleanStart: true, sessionExpiry: 0 }, {
    what: 'an identical CONNECT whose ClientID is the authentication name',
    sessionName: name,
    options: { rawClientId: name },
  });
});

When('identity {string} connects without a Username with session {string} over MQTT {version}', async function (this: ConformanceWorld, identityId: string, sessionName: string, version: MqttVersion) {
  this.version = version;
  await this.connect(identityId, sessionName, { username: null, cleanStart: true, sessionExpiry: 0 });
});

When('the connection of session {string} drops without a DISCONNECT', async function (this: ConformanceWorld, sessionName: string) {
  await this.session(sessionName).drop();
});

// S3: the bare-name session ends first, so that the refusal's control (the same name again) needs no takeover.
When('that connection disconnects', async function (this: ConformanceWorld) {
  const outcome = this.lastClientOutcome();
  // Suite misuse, not a verdict: a scenario asserts the acceptance before it disconnects.
  if (!outcome.accepted) throw new Error('the last connection was not accepted');
  await outcome.client.disconnect();
});

When('session {string} disconnects', async function (this: ConformanceWorld, sessionName: string) {
  await this.session(sessionName).disconnect();
});

When('every session of identity {string} disconnects', { timeout: 300_000 }, async function (this: ConformanceWorld, identityId: string) {
  await everySession(this, identityId, (name) => this.session(name).disconnect());
});

/** A session left to almost expire (S7), which another identity is to ask for before it does. */
interface AlmostExpired {
  sessionName: string;
  ownerIdentityId: string;
  /** How its client left it, so that a further try leaves its session alike. */
  how: 'disconnect' | 'drop';
}

/** Per scenario: the session "has almost expired" waited on, until the next CONNECT for it. */
const almostExpired = new WeakMap<ConformanceWorld, AlmostExpired>();

/** Tries of "still held just before it expires" answered too late to judge, before the scenario is skipped as not judged. */
const ALMOST_EXPIRED_TRIES = 3;

/**
 * Waits until the session is about to expire: a wait by design (the point is the moment, not the
 * expiry), from when the session was left (this follows its disconnect or drop), leaving a quarter of
 * the interval (at least 0.8 s on short ones) for the next CONNECT to arrive in time.
 */
async function untilAlmostExpired(world: ConformanceWorld, sessionName: string): Promise<AlmostExpired> {
  const left = world.session(sessionName).left;
  if (!left) throw new Error(`session "${sessionName}" was not left before "has almost expired": disconnect or drop it first`);
  const owner = [...world.accepted].reverse().find((session) => session.name === world.clientId(sessionName));
  if (!owner?.expirySeconds) throw new Error(`session "${sessionName}" is not one held once left (a session with an expiry) before "has almost expired"`);
  const seconds = owner.expirySeconds;
  const margin = Math.max(seconds * 250, Math.min(800, seconds * 400));
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000 - margin));
  return { sessionName, ownerIdentityId: owner.identityId, how: left.how };
}

/**
 * S7: another identity's CONNECT just before the session expires. Refused, or accepted before its expiry
 * could have ended (the target then freed it early), it is the next step's to judge. Accepted later, it
 * proves nothing: on a busy machine, or a slow target, it may have reached the target after the expiry.
 * The try is then made again with a fresh session, held and left as this one was; when no try is
 * answered in time, the scenario is skipped as not judged, never failed. The wait is not shortened
 * instead: a broker that frees a session at half its expiry would then pass.
 */
async function connectBeforeExpiry(world: ConformanceWorld, identityId: string, first: AlmostExpired): Promise<'skipped' | undefined> {
  almostExpired.delete(world);
  const late: string[] = [];
  let moment = first;
  for (let tries = 1; ; tries += 1) {
    const outcome = await world.connect(identityId, moment.sessionName);
    const afterMs = outcome.accepted ? world.acceptedAfterHeldExpiry(identityId, world.clientId(moment.sessionName), outcome.client) : undefined;
    if (afterMs === undefined) return undefined;
    late.push(`${afterMs} ms`);
    world.log(`the CONNECT for session "${moment.sessionName}" was accepted ${afterMs} ms after its expiry could have ended: not judged by it`);
    await world.endAccepted(world.clientId(moment.sessionName));
    if (tries === ALMOST_EXPIRED_TRIES) {
      world.log(`skipped: in ${tries} tries, the CONNECT just before the session's expiry was answered only after it (${late.join(', ')} after): too slow to judge here`);
      return 'skipped';
    }
    const fresh = `${first.sessionName}-again-${tries}`;
    await holdSession(world, moment.ownerIdentityId, fresh);
    await (moment.how === 'drop' ? world.session(fresh).drop() : world.session(fresh).disconnect());
    moment = await untilAlmostExpired(world, fresh);
  }
}

When('session {string} has almost expired', { timeout: 8 * 3600 * 1000 + 60_000 }, async function (this: ConformanceWorld, sessionName: string) {
  almostExpired.set(this, await untilAlmostExpired(this, sessionName));
});

// Observed, not waited for by a formula: the next CONNECT for the name is retried until the target
// frees it, within the expiry in force plus a margin (up to 8 hours on a real namespace: @slow there).
// When the owner is the one to ask, EXPIRY_PROBERS ask first (steps/roles.ts).
When(EXPIRES, function (this: ConformanceWorld, sessionName: string) {
  this.expectExpiry(sessionName);
});
