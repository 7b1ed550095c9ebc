// Steps of the A7 scenarios: a registered client is changed while it is connected, through the
// reference's management API (steps/world.ts changeClient), and its live connection is ended; another
// client's connection, the control, goes on.
import { Then, When } from '@cucumber/cucumber';
import { within } from '../common/timing.ts';
import type { ClientChange } from '../eventgrid/namespace.ts';
import { disconnectAnswer, judgeRefusal } from './refusal-judgement.ts';
import { CLIENT_TIMEOUT_MS, type ConformanceWorld } from './world.ts';

/** A SHA-256 thumbprint no certificate of the set has: the credentials a changed client is given. */
const FOREIGN_THUMBPRINT = 'ab'.repeat(32);

/** Each change a step can make, as the management API (and an ARM client update) takes it. */
const CHANGES: Record<string, ClientChange> = {
  disables: { state: 'Disabled' },
  'changes the credentials of': { clientCertificateAuthentication: { validationScheme: 'ThumbprintMatch', allowedThumbprints: [FOREIGN_THUMBPRINT] } },
};

When(/^the namespace (disables|changes the credentials of) identity "([^"]+)"$/, async function (this: ConformanceWorld, change: string, identityId: string) {
  await this.changeClient(identityId, CHANGES[change]!);
});

Then('the connection of session {string} is ended as its client changed', async function (this: ConformanceWorld, sessionName: string) {
  const startedAt = performance.now();
  const end = await within(this.session(sessionName).ended.then((ended) => ({ ...ended, afterMs: Math.round(performance.now() - startedAt) })), CLIENT_TIMEOUT_MS);
  judgeRefusal(this, 'its client changed', disconnectAnswer(this, end, CLIENT_TIMEOUT_MS), { code: 'authenticationEnded' });
});
