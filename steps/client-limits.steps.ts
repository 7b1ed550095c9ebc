// Steps about what a client's own MQTT 5 packets ask of the namespace: Subscription Identifiers, which
// Event Grid does not support (M2).
import { Then } from '@cucumber/cucumber';
import { ConformanceFailure } from '../common/errors.ts';
import { within } from '../common/timing.ts';
import { REFUSAL } from '../rules/codes.ts';
import type { ConformanceWorld } from './world.ts';

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
