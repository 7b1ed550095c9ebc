// Webhook authentication on the reference broker (W1-W3), with the test webhook (reference/webhook-service.ts):
// each outcome Event Grid documents, and a webhook that is slow, down or talks nonsense refused within the
// timeout, never a hang.
import { afterEach, describe, expect, it } from 'vitest';
import type { MqttVersion } from '../rules/catalogue.ts';
import { closedPort } from '../common/test-support.ts';
import { startTestBroker, type TestBroker } from '../testkit/test-broker.ts';
import { startReferenceBroker, type ReferenceBroker } from './broker.ts';
import { startWebhookService, WEBHOOK_PASSWORDS, type WebhookService } from './webhook-service.ts';

const TIMEOUT_MS = 400;
let t: TestBroker<ReferenceBroker>;
let webhook: WebhookService | undefined;
afterEach(async () => {
  await t?.stop();
  await webhook?.stop();
  webhook = undefined;
});

async function start(endpointUrl?: string, decisionSeconds?: number) {
  webhook = await startWebhookService({ decisionSeconds, attributesOf: (name) => (name === 'alpha' ? { role: 'client' } : undefined) });
  t = await startTestBroker(startReferenceBroker, {
    webhookAuthentication: { endpointUrl: endpointUrl ?? webhook.url },
    reference: { webhookTimeoutMs: TIMEOUT_MS },
  });
}

const connect = (password: string, version: MqttVersion = '5', sessionName = 's1') => t.connect('alpha', sessionName, version, { password, cleanStart: true });

describe('webhook authentication', () => {
  for (const version of ['3.1.1', '5'] as const) {
    it(`W1 over MQTT ${version}: "allow" accepts a CONNECT with no certificate, named by the decision`, async () => {
      await start();
      const outcome = await connect(WEBHOOK_PASSWORDS.allow, version);
      expect(outcome.accepted).toBe(true);
      expect(t.log).toContainEqual(expect.stringMatching(/^accepted session "s1" for client "alpha" \(name from webhook/));
      expect(webhook!.calls).toBe(1);
    });

    it(`W2 over MQTT ${version}: "deny" is refused as not authorized`, async () => {
      await start();
      expect(await connect(WEBHOOK_PASSWORDS.deny, version)).toMatchObject({ accepted: false, code: version === '5' ? 0x87 : 5 });
      expect(t.log).toContainEqual(expect.stringMatching(/\[W2\] .*the webhook denied the client: the test webhook denies this password/));
    });
  }

  const failures: [string, () => Promise<string | undefined>, string, RegExp][] = [
    ['slow', async () => undefined, WEBHOOK_PASSWORDS.slow, new RegExp(`did not answer within ${TIMEOUT_MS} ms`)],
    ['nonsense', async () => undefined, WEBHOOK_PASSWORDS.nonsense, /answered no JSON object/],
    ['failing', async () => undefined, WEBHOOK_PASSWORDS.fail, /answered HTTP 500/],
    ['down', async () => `http://127.0.0.1:${await closedPort()}/authenticate`, WEBHOOK_PASSWORDS.allow, /could not be reached \(ECONNREFUSED\)/],
  ];
  for (const [what, url, password, reason] of failures) {
    it(`W3: a ${what} webhook is refused as server unavailable (0x88) within its timeout; the same CONNECT is accepted when it answers`, async () => {
      await start(await url());
      const started = performance.now();
      expect(await connect(password)).toMatchObject({ accepted: false, code: 0x88 });
      expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + 1500);
      expect(t.log).toContainEqual(expect.stringMatching(new RegExp(`\\[W3\\] 0x88 Server unavailable: the webhook ${reason.source}`)));
      if (what !== 'down') expect((await connect(WEBHOOK_PASSWORDS.allow, '5', 's2')).accepted).toBe(true);
    });
  }

  it("ends a connection when the webhook's decision expires (ClientAuthenticationError)", async () => {
    await start(undefined, 1);
    const reasons: (string | undefined)[] = [];
    t.broker.events.on('event', (event) => reasons.push(event.data.disconnectionReason));
    const outcome = await connect(WEBHOOK_PASSWORDS.allow);
    if (!outcome.accepted) throw new Error('refused');
    expect(await outcome.client.ended).toEqual({ disconnectReasonCode: 0x87 });
    expect(reasons.at(-1)).toBe('ClientAuthenticationError');
  });
});
