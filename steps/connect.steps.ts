// Steps that open, end and drop connections.
import { ConformanceFailure } from '../common/errors.ts';
import { Given, When } from '@cucumber/cucumber';
import type { MqttVersion } from '../rules/catalogue.ts';
import type { ConformanceWorld } from './world.ts';

async function holdSession(world: ConformanceWorld, identityId: string, sessionName: string): Promise<void> {
  const outcome = await world.connect(identityId, sessionName);
  if (!outcome.accepted) {
    throw new ConformanceFailure(`identity "${identityId}" could not open session "${sessionName}": ${world.describe(outcome.code)} ${outcome.reasonString ?? outcome.message}`);
  }
  await outcome.client.subscribe(world.topic(sessionName), 1);
}

Given('identity {string} holds session {string} over MQTT {version}', async function (this: ConformanceWorld, identityId: string, sessionName: string, version: MqttVersion) {
  this.version = version;
  await holdSession(this, identityId, sessionName);
});

// One connection after another, up to 100 on a real namespace: this step may take a while.
Given('identity {string} holds as many sessions as the namespace allows over MQTT {version}', { timeout: 300_000 }, async function (this: ConformanceWorld, identityId: string, version: MqttVersion) {
  this.version = version;
  for (let index = 1; index <= this.target.sessionLimit; index += 1) await holdSession(this, identityId, `${identityId}-${index}`);
});

When('identity {string} connects with session {string}', async function (this: ConformanceWorld, identityId: string, sessionName: string) {
  await this.connect(identityId, sessionName);
});

When('identity {string} connects with session {string} over MQTT {version}', async function (this: ConformanceWorld, identityId: string, sessionName: string, version: MqttVersion) {
  this.version = version;
  await this.connect(identityId, sessionName);
});

When('identity {string} connects with Username {string} and session {string} over MQTT {version}', async function (this: ConformanceWorld, identityId: string, username: string, sessionName: string, version: MqttVersion) {
  this.version = version;
  await this.connect(identityId, sessionName, { username });
});

When('a client without a certificate connects as identity {string} with session {string} over MQTT {version}', async function (this: ConformanceWorld, identityId: string, sessionName: string, version: MqttVersion) {
  this.version = version;
  await this.connect(identityId, sessionName, { withoutCertificate: true });
});

When('identity {string} connects as {string} with session {string} over MQTT {version}', async function (this: ConformanceWorld, identityId: string, claimed: string, sessionName: string, version: MqttVersion) {
  this.version = version;
  await this.connect(identityId, sessionName, { username: this.identity(claimed).entry.authenticationName });
});

When('identity {string} connects with session {string} and Clean Start', async function (this: ConformanceWorld, identityId: string, sessionName: string) {
  await this.connect(identityId, sessionName, { cleanStart: true });
});

When('identity {string} connects with session {string} asking for a session expiry of {int} seconds over MQTT {version}', async function (this: ConformanceWorld, identityId: string, sessionName: string, seconds: number, version: MqttVersion) {
  this.version = version;
  await this.connect(identityId, sessionName, { sessionExpiry: seconds });
});

When('identity {string} connects with an empty session name over MQTT {version}', async function (this: ConformanceWorld, identityId: string, version: MqttVersion) {
  this.version = version;
  // mqtt.js sends an empty ClientID only with Clean Start; the reference's own tests cover clean=0.
  await this.connect(identityId, '', { rawClientId: '', cleanStart: true });
});

// S3: the ClientID must be the bare authentication name, so it cannot carry the run prefix; Clean
// Start with no expiry leaves nothing behind to collide with a later run.
When('identity {string} connects without a Username with session named as its authentication name over MQTT {version}', async function (this: ConformanceWorld, identityId: string, version: MqttVersion) {
  this.version = version;
  const name = this.identity(identityId).entry.authenticationName;
  await this.connect(identityId, name, { rawClientId: name, username: null, cleanStart: true, sessionExpiry: 0 });
});

When('identity {string} connects without a Username with session {string}', async function (this: ConformanceWorld, identityId: string, sessionName: string) {
  await this.connect(identityId, sessionName, { username: null, cleanStart: true, sessionExpiry: 0 });
});

When('identity {string} connects without a Username with session {string} over MQTT {version}', async function (this: ConformanceWorld, identityId: string, sessionName: string, version: MqttVersion) {
  this.version = version;
  await this.connect(identityId, sessionName, { username: null, cleanStart: true, sessionExpiry: 0 });
});

When('the connection of session {string} drops without a DISCONNECT', async function (this: ConformanceWorld, sessionName: string) {
  await this.session(sessionName).drop();
});

When('session {string} disconnects', async function (this: ConformanceWorld, sessionName: string) {
  await this.session(sessionName).disconnect();
});

When('every session of identity {string} disconnects', { timeout: 300_000 }, async function (this: ConformanceWorld, identityId: string) {
  for (let index = 1; index <= this.target.sessionLimit; index += 1) await this.session(`${identityId}-${index}`).disconnect();
});

// As long as the namespace's maximum session expiry: up to 8 hours on a real namespace (@slow there).
When('session {string} expires', { timeout: 8 * 3600 * 1000 + 60_000 }, async function (this: ConformanceWorld, _sessionName: string) {
  // MQTT 5 sessions asked for the short interval; 3.1.1 persistent sessions live for the maximum.
  const seconds = this.version === '5' ? Math.min(this.target.shortSessionExpirySeconds, this.target.maxSessionExpirySeconds) : this.target.maxSessionExpirySeconds;
  // A margin for a broker that sweeps expired sessions now and then rather than to the millisecond.
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000 * 1.02 + 1000));
});
