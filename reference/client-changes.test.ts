// A7, P5: a registered client changed while it is connected (ReferenceBroker.updateClient and the
// management API the suite's steps use): disabled or given other credentials, its live connections end
// with DISCONNECT 0x87 (MQTT 5) and the life cycle reason ClientAuthenticationError; moved out of its
// client group, with ClientAuthorizationError; other clients, and attributes no group reads, are left as
// they are.
import { afterEach, describe, expect, it } from 'vitest';
import { serverTlsFromPki } from '../certs/manifest.ts';
import { within } from '../common/timing.ts';
import { startTestBroker, type TestBroker } from '../testkit/test-broker.ts';
import { startReferenceBroker, type ReferenceBroker } from './broker.ts';
import { startManagementApi, type ManagementApi } from './management-api.ts';
import { mutatedBehaviour } from './policy/mutants.ts';

let t: TestBroker<ReferenceBroker> | undefined;
let api: ManagementApi | undefined;
afterEach(async () => {
  await api?.stop();
  await t?.stop();
  api = t = undefined;
});

const OTHER_CREDENTIALS = { clientCertificateAuthentication: { validationScheme: 'ThumbprintMatch' as const, allowedThumbprints: ['ab'.repeat(32)] } };

describe.each(['3.1.1', '5'] as const)('a client changed while connected, over MQTT %s (A7)', (version) => {
  it.each([
    ['disabled', { state: 'Disabled' as const }],
    ['given other credentials', OTHER_CREDENTIALS],
  ])('%s: its connection ends (ClientAuthenticationError), another client goes on, and it cannot connect again', async (_what, change) => {
    t = await startTestBroker(startReferenceBroker);
    const reasons: (string | undefined)[] = [];
    t.broker.events.on('event', (event) => reasons.push(event.data.disconnectionReason));
    const changed = await t.open('alpha', 'a1', version);
    const other = await t.open('beta', 'b1', version);
    expect((await t.broker.updateClient('alpha', change)).endedConnections).toBe(1);
    expect((await within(changed.ended, 3000))?.disconnectReasonCode).toBe(version === '5' ? 0x87 : undefined);
    await expect.poll(() => reasons.at(-1)).toBe('ClientAuthenticationError');
    expect(await within(other.ended, 300)).toBeUndefined();
    expect(await t.connect('alpha', 'a2', version)).toMatchObject({ accepted: false });
  });
});

describe('a client moved out of its client group while connected (P5)', () => {
  it('has its connection ended with ClientAuthorizationError', async () => {
    t = await startTestBroker(startReferenceBroker);
    const reasons: (string | undefined)[] = [];
    t.broker.events.on('event', (event) => reasons.push(event.data.disconnectionReason));
    const client = await t.open('alpha', 'a1', '5');
    expect((await t.broker.updateClient('alpha', { attributes: { role: 'retired' } })).endedConnections).toBe(1);
    expect((await within(client.ended, 3000))?.disconnectReasonCode).toBe(0x87);
    await expect.poll(() => reasons.at(-1)).toBe('ClientAuthorizationError');
  });

  it('under the P5 mutant keeps its connection', async () => {
    t = await startTestBroker(startReferenceBroker, {}, { behaviour: mutatedBehaviour(['P5']) });
    const client = await t.open('alpha', 'a1', '5');
    expect((await t.broker.updateClient('alpha', { attributes: { role: 'retired' } })).endedConnections).toBe(0);
    expect(await within(client.ended, 300)).toBeUndefined();
  });
});

describe('what does not end a connection (A7, P5)', () => {
  it('a change to attributes no client group reads, or one that changes nothing, leaves the connection as it is', async () => {
    t = await startTestBroker(startReferenceBroker);
    const client = await t.open('alpha', 'a1', '5');
    expect((await t.broker.updateClient('alpha', { attributes: { role: 'client', floor: 3 } })).endedConnections).toBe(0);
    expect((await t.broker.updateClient('alpha', { state: 'Enabled' })).endedConnections).toBe(0);
    expect(await within(client.ended, 300)).toBeUndefined();
  });

  it("changes only the broker it is made at, though another was started from the same configuration", async () => {
    t = await startTestBroker(startReferenceBroker);
    const shared = t.broker.namespace;
    const other = await startReferenceBroker({ namespace: shared, tls: serverTlsFromPki(t.pki) });
    try {
      await t.broker.updateClient('alpha', { state: 'Disabled' });
      expect(other.namespace.clients.find((client) => client.name === 'alpha')?.state).toBe('Enabled');
      expect(shared.clients.find((client) => client.name === 'alpha')?.state).toBe('Disabled');
    } finally {
      await other.stop();
    }
  });

  it('under the A7 mutant a disabled client keeps its connection', async () => {
    t = await startTestBroker(startReferenceBroker, {}, { behaviour: mutatedBehaviour(['A7']) });
    const client = await t.open('alpha', 'a1', '5');
    expect((await t.broker.updateClient('alpha', { state: 'Disabled' })).endedConnections).toBe(0);
    expect(await within(client.ended, 300)).toBeUndefined();
  });
});

describe('the management API', () => {
  const call = async (name: string, method: string, body?: unknown) => {
    const response = await fetch(`${api!.clientsUrl}${encodeURIComponent(name)}`, { method, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('reads a client, changes it (ending its connection), and says what is wrong with a request', async () => {
    t = await startTestBroker(startReferenceBroker);
    api = await startManagementApi(t.broker);
    const client = await t.open('alpha', 'a1', '5');
    expect(await call('alpha', 'GET')).toMatchObject({ status: 200, body: { name: 'alpha', state: 'Enabled' } });
    expect(await call('alpha', 'PATCH', { state: 'Disabled' })).toMatchObject({ status: 200, body: { client: { state: 'Disabled' }, endedConnections: 1 } });
    expect((await within(client.ended, 3000))?.disconnectReasonCode).toBe(0x87);
    expect(await call('alpha', 'GET')).toMatchObject({ body: { state: 'Disabled' } });
    expect(await call('nobody', 'PATCH', { state: 'Disabled' })).toMatchObject({ status: 404, body: { error: 'the namespace has no client "nobody"' } });
    expect(await call('alpha', 'PATCH', { state: 'Asleep' })).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^client "alpha": state: /) } });
    expect(await call('alpha', 'PATCH', { colour: 'red' })).toMatchObject({ status: 400 });
    expect(await call('alpha', 'PATCH', 'not json')).toMatchObject({ status: 400, body: { error: 'the change is no JSON' } });
    expect(await call('alpha', 'DELETE')).toMatchObject({ status: 405 });
  });
});
