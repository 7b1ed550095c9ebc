// Steps of the token scenarios (features/token-authentication.feature, T1-T6): CONNECTs that present a
// token that is wrong in one way, each controlled by the identical CONNECT with the identity's good one.
import { defineParameterType, When } from '@cucumber/cucumber';
import { issueToken, type TokenRequest } from '../certs/tokens.ts';
import type { MqttVersion } from '../rules/catalogue.ts';
import type { ConformanceWorld } from './world.ts';

/** Each bad token a step can present: how the local issuer makes it (certs/tokens.ts). */
const BAD_TOKENS: Record<string, Omit<TokenRequest, 'identity'>> = {
  'an expired token': { expiresInSeconds: -60 },
  'a token not yet valid': { notBeforeInSeconds: 3600 },
  'a token of another issuer': { claims: { iss: 'https://another-issuer.mqtt-multisession-conformance.test/' } },
  'a token for another audience': { claims: { aud: 'https://another-audience.mqtt-multisession-conformance.test/' } },
  'a token signed by a key the namespace does not trust': { untrusted: true },
  'a token with no subject': { claims: { sub: '' } },
};

defineParameterType({ name: 'badToken', regexp: new RegExp(Object.keys(BAD_TOKENS).join('|')), transformer: (text) => text });

const GOOD_TOKEN = { what: "an identical CONNECT with the identity's good token and a fresh session name", options: { token: undefined } };

When('identity {string} connects with session {string} presenting {badToken} over MQTT {version}', async function (this: ConformanceWorld, identityId: string, sessionName: string, kind: string, version: MqttVersion) {
  this.version = version;
  // T1 expects its code of a token with no subject (the catalogue's case).
  if (kind === 'a token with no subject') this.refusalCase = kind;
  const data = await issueToken(this.pki, { identity: identityId, ...BAD_TOKENS[kind] });
  await this.connect(identityId, sessionName, { token: { method: 'CUSTOM-JWT', data } }, GOOD_TOKEN);
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
