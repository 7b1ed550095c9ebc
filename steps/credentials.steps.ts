// Steps of the token and webhook scenarios (features/token-authentication.feature, T1-T8, L22;
// features/webhook-authentication.feature, W1-W3): CONNECTs that present a token that is wrong in one
// way, or a password the test webhook does not allow, each controlled by the identical CONNECT with the
// identity's good credentials; re-authentication with AUTH 0x19, and a token's expiry.
import { defineParameterType, Given, Then, When } from '@cucumber/cucumber';
import { decodeJwt } from 'jose';
import { issueToken, type TokenRequest } from '../certs/tokens.ts';
import { within } from '../common/timing.ts';
import { WEBHOOK_PASSWORDS } from '../reference/webhook-service.ts';
import type { MqttVersion } from '../rules/catalogue.ts';
import { LIMITS } from '../rules/limits.ts';
import { expectObserved } from './observation.ts';
import { disconnectAnswer, judgeRefusal } from './refusal-judgement.ts';
import { CLIENT_TIMEOUT_MS, type ConformanceWorld } from './world.ts';

/** Each bad token a step can present: how the local issuer makes it (certs/tokens.ts). */
const BAD_TOKENS: Record<string, Omit<TokenRequest, 'identity'>> = {
  'an expired token': { expiresInSeconds: -60 },
  'a token not yet valid': { notBeforeInSeconds: 3600 },
  'a token of another issuer': { claims: { iss: 'https://another-issuer.mqtt-multisession-conformance.test/' } },
  'a token for another audience': { claims: { aud: 'https://another-audience.mqtt-multisession-conformance.test/' } },
  'a token signed by a key the namespace does not trust': { untrusted: true },
  'a token with no subject': { claims: { sub: '' } },
  'an Entra ID token of another tenant': { method: 'OAUTH2-JWT', claims: { iss: 'https://sts.windows.net/11111111-1111-4111-8111-111111111111/' } },
};

defineParameterType({ name: 'badToken', regexp: new RegExp(Object.keys(BAD_TOKENS).join('|')), transformer: (text) => text });

const GOOD_TOKEN = { what: "an identical CONNECT with the identity's good token and a fresh session name", options: { token: undefined } };

When('identity {string} connects with session {string} presenting {badToken} over MQTT {version}', async function (this: ConformanceWorld, identityId: string, sessionName: string, kind: string, version: MqttVersion) {
  this.version = version;
  // T1 expects its code of a token with no subject (the catalogue's case).
  if (kind === 'a token with no subject') this.refusalCase = kind;
  const request = BAD_TOKENS[kind]!;
  const data = await issueToken(this.pki, { identity: identityId, ...request });
  await this.connect(identityId, sessionName, { token: { method: request.method ?? 'CUSTOM-JWT', data } }, GOOD_TOKEN);
});

When('identity {string} connects with session {string} presenting its token under the Authentication Method {string} over MQTT {version}', async function (this: ConformanceWorld, identityId: string, sessionName: string, method: string, version: MqttVersion) {
  this.version = version;
  await this.connect(identityId, sessionName, { token: { method, data: await this.tokenFor(identityId) } }, { ...GOOD_TOKEN, what: 'an identical CONNECT under the Authentication Method CUSTOM-JWT with a fresh session name' });
});

When('identity {string} connects with session {string} presenting its token as its password over MQTT {version}', async function (this: ConformanceWorld, identityId: string, sessionName: string, version: MqttVersion) {
  this.version = version;
  // Over MQTT 3.1.1 a token can only be the password (mqtt-client/session-client.ts).
  await this.connect(
    identityId,
    sessionName,
    { token: { method: 'CUSTOM-JWT', data: await this.tokenFor(identityId) } },
    { what: "an identical CONNECT presenting the identity's certificate instead of a token, with a fresh session name", options: { token: null } },
  );
});

/** The identity that holds a session of this scenario. */
function ownerOf(world: ConformanceWorld, sessionName: string): string {
  const clientId = world.clientId(sessionName);
  const owner = [...world.accepted].reverse().find((session) => session.name === clientId);
  if (!owner) throw new Error(`no connection was accepted for session "${sessionName}" in this scenario`);
  return owner.identityId;
}

/** How often a short-lived token's CONNECT is made again when the token ran out, or nearly, before its answer came. */
const TOKEN_CONNECT_ATTEMPTS = 3;
/**
 * The least of a short-lived token's life an accepted CONNECT must leave for the steps after it (T7's
 * re-authentication): a CONNACK that came later, on a machine too busy to answer within the token's
 * life (1.5 s for a CONNECT as a run starts, with its namespaces in Redis), is made again.
 */
const TOKEN_LIFE_LEFT_MS = 500;

/** When each session's first token expires, for the step that waits past it. */
const SHORT_TOKENS = new WeakMap<ConformanceWorld, Map<string, number>>();

Given('identity {string} connects with session {string} and a token that expires in {int} second(s) over MQTT {version}', async function (this: ConformanceWorld, identityId: string, sessionName: string, seconds: number, version: MqttVersion) {
  this.version = version;
  let exp: number;
  for (let attempt = 1; ; attempt += 1) {
    // exp is in whole seconds from the current one: a second more, so that the token lives at least `seconds`.
    const data = await issueToken(this.pki, { identity: identityId, expiresInSeconds: seconds + 1 });
    exp = decodeJwt(data).exp!;
    // A session that ends with its connection: nothing is left held once its token has ended it.
    const outcome = await this.connect(identityId, sessionName, { token: { method: 'CUSTOM-JWT', data }, cleanStart: true, sessionExpiry: 0 });
    // A refusal that came after the token's exp may be the token's own end, on a machine too busy to
    // connect within its life: only a refusal while the token was still valid is the target's.
    const leftMs = exp * 1000 - Date.now();
    if (attempt === TOKEN_CONNECT_ATTEMPTS || (outcome.accepted ? leftMs >= TOKEN_LIFE_LEFT_MS : leftMs > 0)) break;
    if (outcome.accepted) outcome.client.close();
  }
  const expiries = SHORT_TOKENS.get(this) ?? new Map<string, number>();
  expiries.set(sessionName, exp * 1000);
  SHORT_TOKENS.set(this, expiries);
});

When('session {string} re-authenticates with a fresh token', async function (this: ConformanceWorld, sessionName: string) {
  const answer = await this.session(sessionName).reauthenticate({ method: 'CUSTOM-JWT', data: await issueToken(this.pki, { identity: ownerOf(this, sessionName) }) });
  const observed = answer === undefined ? 'no answer' : 'authReasonCode' in answer ? `AUTH ${this.describe(answer.authReasonCode)}` : `the connection ended (${answer.ended.disconnectReasonCode === undefined ? 'no DISCONNECT' : `DISCONNECT ${this.describe(answer.ended.disconnectReasonCode)}`})`;
  const kept = answer !== undefined && 'authReasonCode' in answer && answer.authReasonCode === 0;
  expectObserved(this, { step: 're-authenticates with a fresh token', expected: `AUTH ${this.describe(0)}, the connection kept`, observed }, kept, `re-authentication with a fresh token was not accepted: ${observed}`);
});

Then('session {string} re-authenticating with {badToken} ends its connection', async function (this: ConformanceWorld, sessionName: string, kind: string) {
  const data = await issueToken(this.pki, { identity: ownerOf(this, sessionName), ...BAD_TOKENS[kind] });
  const answer = await this.session(sessionName).reauthenticate({ method: 'CUSTOM-JWT', data });
  const end = answer && 'ended' in answer ? { ...answer.ended, afterMs: answer.afterMs } : undefined;
  judgeRefusal(this, `re-authenticating with ${kind}`, disconnectAnswer(this, end, CLIENT_TIMEOUT_MS), { code: 'authenticationEnded' });
});

Then('the connection of session {string} is ended when its token expires', async function (this: ConformanceWorld, sessionName: string) {
  const expiresAt = SHORT_TOKENS.get(this)?.get(sessionName);
  if (expiresAt === undefined) throw new Error(`session "${sessionName}" did not connect with a short-lived token in this scenario`);
  const client = this.session(sessionName);
  const waitMs = Math.max(expiresAt - Date.now(), 0) + this.target.tokenExpiryMarginMs;
  const startedAt = performance.now();
  const end = await within(client.ended.then((ended) => ({ ...ended, afterMs: Math.round(performance.now() - startedAt) })), waitMs);
  judgeRefusal(this, 'its token expires', disconnectAnswer(this, end, waitMs), { code: 'authenticationEnded' });
});

Then('session {string} is still connected once its first token has expired', async function (this: ConformanceWorld, sessionName: string) {
  const expiresAt = SHORT_TOKENS.get(this)?.get(sessionName);
  if (expiresAt === undefined) throw new Error(`session "${sessionName}" did not connect with a short-lived token in this scenario`);
  const client = this.session(sessionName);
  const waitMs = Math.max(expiresAt - Date.now(), 0) + this.target.tokenExpiryMarginMs;
  const end = await within(client.ended, waitMs);
  const observed = end === undefined ? `connected ${waitMs} ms on` : `ended (${end.disconnectReasonCode === undefined ? 'no DISCONNECT' : `DISCONNECT ${this.describe(end.disconnectReasonCode)}`})`;
  expectObserved(this, { step: 'still connected once its first token expired', expected: 'connected', observed }, end === undefined, `the re-authenticated connection was ended: ${observed}`);
});

// W2, W3: the test webhook's answer is chosen by the password (reference/webhook-service.ts).
const WEBHOOK_ANSWERS: Record<string, string> = {
  'denies': WEBHOOK_PASSWORDS.deny,
  'answers too late': WEBHOOK_PASSWORDS.slow,
  'answers nonsense': WEBHOOK_PASSWORDS.nonsense,
  'answers with a fault': WEBHOOK_PASSWORDS.fail,
};

When(/^identity "([^"]+)" connects with session "([^"]+)" and a password the webhook (denies|answers too late|answers nonsense|answers with a fault) over MQTT (3\.1\.1|5)$/, async function (this: ConformanceWorld, identityId: string, sessionName: string, answer: string, version: MqttVersion) {
  this.version = version;
  await this.connect(identityId, sessionName, { password: WEBHOOK_ANSWERS[answer] }, { what: 'an identical CONNECT with the password the webhook allows and a fresh session name', options: { password: undefined } });
});

// L22: Authentication Data past 8 KB. A base64url segment cannot be every length, so the tokens are the
// identity's own, padded with a claim to the largest length the limit allows and the smallest past it.
const AUTHENTICATION_DATA_LIMIT = LIMITS.authenticationDataBytes.value;

async function paddedToken(world: ConformanceWorld, identityId: string, fits: boolean): Promise<string> {
  const issue = (pad: number) => issueToken(world.pki, { identity: identityId, claims: { pad: 'x'.repeat(pad) } });
  const base = (await issue(0)).length;
  // Three characters of claim are four of base64url.
  const estimate = Math.floor(((AUTHENTICATION_DATA_LIMIT - base) * 3) / 4);
  const tokens = await Promise.all(Array.from({ length: 9 }, (_, index) => issue(Math.max(0, estimate - 4 + index))));
  const found = fits ? tokens.filter((token) => token.length <= AUTHENTICATION_DATA_LIMIT).at(-1) : tokens.find((token) => token.length > AUTHENTICATION_DATA_LIMIT);
  if (!found) throw new Error(`no padded token ${fits ? 'within' : 'past'} ${AUTHENTICATION_DATA_LIMIT} bytes`);
  return found;
}

When('identity {string} connects with session {string} presenting a token just past 8 KB over MQTT {version}', async function (this: ConformanceWorld, identityId: string, sessionName: string, version: MqttVersion) {
  this.version = version;
  const past = await paddedToken(this, identityId, false);
  const within = await paddedToken(this, identityId, true);
  this.refusalCase = 'a CONNECT';
  await this.connect(identityId, sessionName, { token: { method: 'CUSTOM-JWT', data: past } }, {
    what: `an identical CONNECT whose token is padded to ${within.length} bytes instead of ${past.length}, with a fresh session name`,
    options: { token: { method: 'CUSTOM-JWT', data: within } },
  });
});
