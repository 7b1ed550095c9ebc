// A7, P5 across instances: on a namespace kept in Redis, a registered client changed through one
// instance is changed at every instance: its live connections end wherever they are (DISCONNECT 0x87,
// the life cycle reason at the instance that held them), the change is answered once each instance has
// it (a CONNECT anywhere right after is judged on the client as changed), an instance that starts later
// reads it, another namespace in the same Redis is left alone, and two changes racing from two
// instances both hold.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { within } from '../common/timing.ts';
import { startTestBroker, type TestBroker } from '../testkit/test-broker.ts';
import { redisSkipNotice, REDIS_AVAILABLE, startRedis, type TestRedis } from '../testkit/redis-server.ts';
import { startReferenceBroker, type ReferenceBroker } from './broker.ts';

redisSkipNotice('reference/redis-client-changes.test.ts');

let redis: TestRedis | undefined;
const running: TestBroker<ReferenceBroker>[] = [];

beforeAll(async () => {
  if (REDIS_AVAILABLE) redis = await startRedis();
});
afterAll(() => redis?.stop());
afterEach(async () => {
  for (const broker of running.splice(0)) await broker.stop();
});

let databases = 0;
/** `count` instances of one fresh namespace (a database of its own), and a way to start one more. */
async function instances(count: number) {
  const url = `${redis!.url}/${(databases += 1)}`;
  const start = async () => {
    const broker = await startTestBroker(startReferenceBroker, {}, { redis: { url } });
    running.push(broker);
    return broker;
  };
  const started: TestBroker<ReferenceBroker>[] = [];
  for (let i = 0; i < count; i += 1) started.push(await start());
  return { started, start };
}

const stateAt = (t: TestBroker<ReferenceBroker>, name: string) => t.broker.namespace.clients.find((client) => client.name === name);

describe.skipIf(!REDIS_AVAILABLE)('a client changed through one instance of a namespace in Redis', () => {
  it.each(['5', '3.1.1'] as const)('A7 over MQTT %s: disabled at B, its connection at A ends; it is refused at both, and accepted at both once enabled again', async (version) => {
    const { started: [a, b] } = await instances(2);
    const reasons: (string | undefined)[] = [];
    a!.broker.events.on('event', (event) => reasons.push(event.data.disconnectionReason));
    const changed = await a!.open('alpha', 'a1', version);
    const other = await a!.open('beta', 'b1', version);
    expect((await b!.broker.updateClient('alpha', { state: 'Disabled' })).endedConnections).toBe(1);
    expect((await within(changed.ended, 3000))?.disconnectReasonCode).toBe(version === '5' ? 0x87 : undefined);
    await expect.poll(() => reasons.at(-1)).toBe('ClientAuthenticationError');
    expect(await within(other.ended, 300)).toBeUndefined();
    // Answered once both have it: a CONNECT at either right after is judged on the client as changed.
    expect(await a!.connect('alpha', 'a2', version)).toMatchObject({ accepted: false });
    expect(await b!.connect('alpha', 'a3', version)).toMatchObject({ accepted: false });
    expect((await a!.broker.updateClient('alpha', { state: 'Enabled' })).endedConnections).toBe(0);
    expect(await b!.connect('alpha', 'a4', version)).toMatchObject({ accepted: true });
  });

  it('P5: moved out of its client group at B, its connection at A ends with ClientAuthorizationError', async () => {
    const { started: [a, b] } = await instances(2);
    const reasons: (string | undefined)[] = [];
    a!.broker.events.on('event', (event) => reasons.push(event.data.disconnectionReason));
    const client = await a!.open('alpha', 'a1', '5');
    expect((await b!.broker.updateClient('alpha', { attributes: { role: 'retired' } })).endedConnections).toBe(1);
    expect((await within(client.ended, 3000))?.disconnectReasonCode).toBe(0x87);
    await expect.poll(() => reasons.at(-1)).toBe('ClientAuthorizationError');
    expect(stateAt(a!, 'alpha')?.attributes).toEqual({ role: 'retired' });
  });

  it('counts the connections ended at every instance, and an instance started after the change applies it', async () => {
    const { started: [a, b], start } = await instances(2);
    const atA = await a!.open('alpha', 'a1', '5');
    const atB = await b!.open('alpha', 'a2', '5');
    expect((await a!.broker.updateClient('alpha', { state: 'Disabled' })).endedConnections).toBe(2);
    await Promise.all([within(atA.ended, 3000), within(atB.ended, 3000)]);
    const c = await start();
    expect(stateAt(c, 'alpha')?.state).toBe('Disabled');
    expect(await c.connect('alpha', 'a3', '5')).toMatchObject({ accepted: false });
  });

  it('leaves alone another namespace kept in another database of the same Redis (pub/sub reaches every database)', async () => {
    const { started: [a] } = await instances(1);
    const { started: [other] } = await instances(1);
    const connected = await other!.open('alpha', 'a1', '5');
    await a!.broker.updateClient('alpha', { state: 'Disabled' });
    expect(stateAt(other!, 'alpha')?.state).toBe('Enabled');
    expect(await within(connected.ended, 300)).toBeUndefined();
  });

  it('two changes to one client racing from two instances both hold, at both', async () => {
    const { started: [a, b] } = await instances(2);
    await Promise.all([a!.broker.updateClient('alpha', { state: 'Disabled' }), b!.broker.updateClient('alpha', { attributes: { role: 'client', floor: 3 } })]);
    for (const instance of [a!, b!]) expect(stateAt(instance, 'alpha')).toMatchObject({ state: 'Disabled', attributes: { role: 'client', floor: 3 } });
  });
});
