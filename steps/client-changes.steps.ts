// Steps of the A7 and P5 scenarios: a registered client is changed while it is connected, through the
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
  // The suite's client group takes clients whose role attribute is "client" (eventgrid/suite-contract.ts).
  'moves out of its client group': { attributes: { role: 'retired' } },
};

/** The refusal each change's ending carries (the catalogue's code for its rule). */
const ENDINGS = { disables: 'authenticationEnded', 'changes the credentials of': 'authenticationEnded', 'moves out of its client group': 'accessChanged' } as const;

/** The change each scenario made, for the step that judges its ending. */
const MADE = new WeakMap<ConformanceWorld, keyof typeof ENDINGS>();

When(/^the namespace (disables|changes the credentials of|moves out of its client group) identity "([^"]+)"$/, async function (this: ConformanceWorld, change: keyof typeof ENDINGS, identityId: string) {
  await this.changeClient(identityId, CHANGES[change]!);
  MADE.set(this, change);
});

Then('the connection of session {string} is ended as its client changed', async function (this: ConformanceWorld, sessionName: string) {
  const change = MADE.get(this);
  if (!change) throw new Error('no client was changed before this step');
  const startedAt = performance.now();
  const end = await within(this.session(sessionName).ended.then((ended) => ({ ...ended, afterMs: Math.round(performance.now() - startedAt) })), CLIENT_TIMEOUT_MS);
  judgeRefusal(this, 'its client changed', disconnectAnswer(this, end, CLIENT_TIMEOUT_MS), { code: ENDINGS[change] });
});
