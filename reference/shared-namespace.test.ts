// Two reference brokers on one Redis are one namespace: an intruder at one instance is refused for a
// session live at the other (S6), the owner reconnecting at the other takes it over and the older
// connection ends with DISCONNECT 0x8E (S8), the session limit counts sessions on both (S9), queued
// QoS 1 messages follow the session (L2), messages fan out between instances, a client changed through
// one instance is changed at every instance, its connections ended wherever they are (A7, P5), and a
// broker that stops sends MQTT 5 clients DISCONNECT 0x8B and keeps their sessions for whichever instance
// they resume on.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { within } from '../common/timing.ts';
import { openRawSession, type RawSession } from '../testkit/raw-session.ts';
import { startTestBroker, type TestBroker } from '../testkit/test-broker.ts';
import { redisSkipNotice, REDIS_AVAILABLE, startRedis, type TestRedis } from '../testkit/redis-server.ts';
import { enqueueInOneRoundTrip } from './adapters/redis/shared-namespace.ts';
import { startReferenceBroker, type ReferenceBroker } from './broker.ts';

redisSkipNotice('reference/shared-namespace.test.ts');

let redis: TestRedis | undefined;
const running: TestBroker<ReferenceBroker>[] = [];

beforeAll(async () => {
  if (REDIS_AVAILABLE) redis = await startRedis();
});
afterAll(() => redis?.stop());
afterEach(async () => {
  for (const broker of running.splice(0)) await broker.stop();
});

/** An instance of the namespace kept in the file's Redis (database `db`: a fresh namespace per test). */
async function instance(db: number, limits: { sessions?: number } = {}): Promise<TestBroker<ReferenceBroker>> {
  const broker = await startTestBroker(
    startReferenceBroker,
    limits.sessions ? { maximumClientSessionsPerAuthenticationName: limits.sessions } : {},
    { redis: { url: `${redis!.url}/${db}` } },
  );
  running.push(broker);
  return broker;
}

let databases = 0;
/** Two instances of one fresh namespace. */
async function pair(limits: { sessions?: number } = {}) {
  const db = (databases += 1);
  return [await instance(db, limits), await instance(db, limits)] as const;
}

describe.skipIf(!REDIS_AVAILABLE).each(['5', '3.1.1'] as const)('two instances, one namespace, MQTT %s', (version) => {
  const persistent = version === '5' ? { sessionExpiry: 600 } : {};
  const notAuthorized = version === '5' ? 0x87 : 5;

  it('S6: refuses at B an intruder presenting a session live at A, and accepts it on a name nobody holds', async () => {
    const [a, b] = await pair();
    const owner = await a.open('alpha', 's1', version, persistent);
    const intruder = await b.connect('beta', 's1', version);
    expect(intruder).toMatchObject({ accepted: false, code: notAuthorized });
    expect(owner.connected).toBe(true);
    expect((await b.connect('beta', 'beta-own', version)).accepted).toBe(true);
  });

  it('S8: the owner reconnecting at B takes the session over; the connection at A ends (MQTT 5: DISCONNECT 0x8E)', async () => {
    const [a, b] = await pair();
    const first = await a.open('alpha', 's1', version, persistent);
    const second = await b.open('alpha', 's1', version, persistent);
    expect(second.sessionPresent).toBe(true);
    const end = await first.ended;
    if (version === '5') expect(end.disconnectReasonCode).toBe(0x8e);
    expect(second.connected).toBe(true);
    expect(await a.broker.sessions.find('s1')).toMatchObject({ owner: 'alpha', instance: b.broker.instance });
  });

  it('S9: the session limit counts the sessions of both instances', async () => {
    const [a, b] = await pair({ sessions: 2 });
    await a.open('alpha', 's1', version, persistent);
    await a.open('alpha', 's2', version);
    expect(await b.connect('alpha', 's3', version)).toMatchObject({ accepted: false, code: version === '5' ? 0x97 : 3 });
  });

  it('L2: QoS 1 messages queued while the session was offline at A are delivered when it resumes at B', async () => {
    const [a, b] = await pair();
    const owner = await a.open('alpha', 's1', version, persistent);
    await owner.subscribe('mmc/alpha/s1', 1);
    await owner.disconnect();
    const publisher = await a.open('observer', 'pub', version, { cleanStart: true });
    for (const payload of ['m1', 'm2', 'm3']) await publisher.publish('mmc/alpha/s1', payload, 1);
    const resumed = await b.open('alpha', 's1', version, persistent);
    expect(resumed.sessionPresent).toBe(true);
    const received = [];
    for (let i = 0; i < 3; i += 1) received.push((await resumed.nextMessage('mmc/alpha/s1')).payload);
    expect(received).toEqual(['m1', 'm2', 'm3']);
  });

  it('fans a message published at B out to a subscriber at A, once', async () => {
    const [a, b] = await pair();
    const subscriber = await a.open('alpha', 's1', version, { cleanStart: true });
    await subscriber.subscribe('mmc/alpha/s1', 1);
    const publisher = await b.open('observer', 'pub', version, { cleanStart: true });
    await publisher.publish('mmc/alpha/s1', 'across', 1);
    expect((await subscriber.nextMessage('mmc/alpha/s1')).payload).toBe('across');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(subscriber.pending().filter((message) => message.payload === 'across')).toHaveLength(0);
  });
});

describe.skipIf(!REDIS_AVAILABLE)('a session that ends at A just as its owner connects at B', () => {
  /** A TLS connection of `identity` to the instance, its CONNECT not sent yet. */
  async function rawAt(at: TestBroker<ReferenceBroker>, identity: string): Promise<RawSession> {
    const { certificatePem, keyPem } = at.pki.identities.get(identity)!;
    const raw = await openRawSession({ port: at.broker.port, ca: at.pki.rootCaPem, cert: certificatePem, key: keyPem });
    raws.push(raw);
    return raw;
  }
  const raws: RawSession[] = [];
  afterEach(() => {
    for (const raw of raws.splice(0)) raw.end();
  });

  it('L2: a CONNECT at B sent right after an MQTT 5 DISCONNECT with Session Expiry 0 at A starts a new session (Session Present 0)', async () => {
    const [a, b] = await pair();
    // A takes its time to record the end in the store, as a loaded instance does: B decides before it has.
    const close = a.broker.sessions.close.bind(a.broker.sessions);
    a.broker.sessions.close = async (...args) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return close(...args);
    };
    const publisher = await b.open('observer', 'pub', '5', { cleanStart: true });
    for (let round = 1; round <= 3; round += 1) {
      const first = await rawAt(a, 'alpha');
      first.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 's1', clean: true, keepalive: 30, username: 'alpha', properties: { sessionExpiryInterval: 600 } });
      expect(await first.next(5000)).toMatchObject({ cmd: 'connack', reasonCode: 0 });
      first.sendPacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'mmc/alpha/s1', qos: 1 }] });
      expect(await first.next()).toMatchObject({ cmd: 'suback' });
      // The session ends with this DISCONNECT, which A reads; the next CONNECT, at B, comes at once.
      const second = await rawAt(b, 'alpha');
      first.sendPacket({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
      await new Promise((resolve) => setTimeout(resolve, 20));
      second.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 's1', clean: false, keepalive: 30, username: 'alpha', properties: { sessionExpiryInterval: 600 } });
      expect(await second.next(5000), `round ${round}`).toMatchObject({ cmd: 'connack', reasonCode: 0, sessionPresent: false });
      // Nothing of the ended session goes on: its subscription went with it.
      await publisher.publish('mmc/alpha/s1', 'after', 1);
      expect(await second.next(300)).toBeUndefined();
      second.end();
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
  });
});

describe.skipIf(!REDIS_AVAILABLE)('a client changed through one instance (A7, P5)', () => {
  const stateAt = (t: TestBroker<ReferenceBroker>, name: string) => t.broker.namespace.clients.find((client) => client.name === name);

  it.each(['5', '3.1.1'] as const)('A7 over MQTT %s: disabled at B, its connection at A ends; it is refused at both, and accepted at both once enabled again', async (version) => {
    const [a, b] = await pair();
    const reasons: (string | undefined)[] = [];
    a.broker.events.on('event', (event) => reasons.push(event.data.disconnectionReason));
    const changed = await a.open('alpha', 'a1', version);
    const other = await a.open('beta', 'b1', version);
    expect((await b.broker.updateClient('alpha', { state: 'Disabled' })).endedConnections).toBe(1);
    expect((await within(changed.ended, 3000))?.disconnectReasonCode).toBe(version === '5' ? 0x87 : undefined);
    await expect.poll(() => reasons.at(-1)).toBe('ClientAuthenticationError');
    expect(await within(other.ended, 300)).toBeUndefined();
    // Answered once both have it: a CONNECT at either right after is judged on the client as changed.
    expect(await a.connect('alpha', 'a2', version)).toMatchObject({ accepted: false });
    expect(await b.connect('alpha', 'a3', version)).toMatchObject({ accepted: false });
    expect((await a.broker.updateClient('alpha', { state: 'Enabled' })).endedConnections).toBe(0);
    expect(await b.connect('alpha', 'a4', version)).toMatchObject({ accepted: true });
  });

  it('P5: moved out of its client group at B, its connection at A ends with ClientAuthorizationError', async () => {
    const [a, b] = await pair();
    const reasons: (string | undefined)[] = [];
    a.broker.events.on('event', (event) => reasons.push(event.data.disconnectionReason));
    const client = await a.open('alpha', 'a1', '5');
    expect((await b.broker.updateClient('alpha', { attributes: { role: 'retired' } })).endedConnections).toBe(1);
    expect((await within(client.ended, 3000))?.disconnectReasonCode).toBe(0x87);
    await expect.poll(() => reasons.at(-1)).toBe('ClientAuthorizationError');
    expect(stateAt(a, 'alpha')?.attributes).toEqual({ role: 'retired' });
  });

  it('counts the connections ended at every instance, and an instance started after the change applies it', async () => {
    const db = (databases += 1);
    const [a, b] = [await instance(db), await instance(db)];
    const atA = await a.open('alpha', 'a1', '5');
    const atB = await b.open('alpha', 'a2', '5');
    expect((await a.broker.updateClient('alpha', { state: 'Disabled' })).endedConnections).toBe(2);
    await Promise.all([within(atA.ended, 3000), within(atB.ended, 3000)]);
    const c = await instance(db);
    expect(stateAt(c, 'alpha')?.state).toBe('Disabled');
    expect(await c.connect('alpha', 'a3', '5')).toMatchObject({ accepted: false });
  });

  it('leaves alone another namespace kept in another database of the same Redis (pub/sub reaches every database)', async () => {
    const a = await instance((databases += 1));
    const other = await instance((databases += 1));
    const connected = await other.open('alpha', 'a1', '5');
    await a.broker.updateClient('alpha', { state: 'Disabled' });
    expect(stateAt(other, 'alpha')?.state).toBe('Enabled');
    expect(await within(connected.ended, 300)).toBeUndefined();
  });

  it('two changes to one client racing from two instances both hold, at both', async () => {
    const [a, b] = await pair();
    await Promise.all([a.broker.updateClient('alpha', { state: 'Disabled' }), b.broker.updateClient('alpha', { attributes: { role: 'client', floor: 3 } })]);
    for (const instance of [a, b]) expect(stateAt(instance, 'alpha')).toMatchObject({ state: 'Disabled', attributes: { role: 'client', floor: 3 } });
  });
});

describe.skipIf(!REDIS_AVAILABLE)('an instance that stops', () => {
  it('sends MQTT 5 clients DISCONNECT 0x8B and keeps their sessions, queues and all, for the next instance', async () => {
    const db = (databases += 1);
    const a = await instance(db);
    const owner = await a.open('alpha', 's1', '5', { sessionExpiry: 600 });
    await owner.subscribe('mmc/alpha/s1', 1);
    const listener = await a.open('beta', 'b1', '3.1.1', { cleanStart: true });
    running.splice(running.indexOf(a), 1);
    // The broker alone (the harness's stop would end the clients first).
    await a.broker.stop();
    expect((await owner.ended).disconnectReasonCode).toBe(0x8b);
    await listener.ended;
    const b = await instance(db);
    const publisher = await b.open('observer', 'pub', '5', { cleanStart: true });
    await publisher.publish('mmc/alpha/s1', 'kept', 1);
    const resumed = await b.open('alpha', 's1', '5', { sessionExpiry: 600 });
    expect(resumed.sessionPresent).toBe(true);
    expect((await resumed.nextMessage('mmc/alpha/s1')).payload).toBe('kept');
  });
});

describe.skipIf(!REDIS_AVAILABLE)('two namespaces in two databases of one Redis server (pub/sub has no databases)', () => {
  it("do not deliver each other's messages", async () => {
    const [a, b] = [await instance((databases += 1)), await instance((databases += 1))];
    const subscriber = await a.open('alpha', 's1', '5');
    await subscriber.subscribe('mmc/alpha/apart', 1);
    const publisher = await b.open('observer', 'p1', '5');
    await publisher.publish('mmc/alpha/apart', 'elsewhere', 1);
    await expect(subscriber.nextMessage('mmc/alpha/apart', 500)).rejects.toThrow();
  });

  it("do not end each other's connections of the same ClientID", async () => {
    const [a, b] = [await instance((databases += 1)), await instance((databases += 1))];
    const first = await a.open('alpha', 'same', '5');
    await b.open('beta', 'same', '5');
    expect(await within(first.ended, 500)).toBeUndefined();
  });
});

describe.skipIf(!REDIS_AVAILABLE)('a database the Redis server does not have', () => {
  it('is refused at start, rather than used as database 0 (ioredis goes on there)', async () => {
    await expect(startTestBroker(startReferenceBroker, {}, { redis: { url: `${redis!.url}/99` } })).rejects.toThrow(/^cannot reach Redis at .*\/99: ERR DB index is out of range/);
  });
});

describe.skipIf(!REDIS_AVAILABLE)("aedes-persistence-redis's shape", () => {
  it('enqueueInOneRoundTrip writes the keys and values its own outgoingEnqueueCombi writes', async () => {
    const { Redis } = await import('ioredis');
    const { createRequire } = await import('node:module');
    const AsyncPersistence = createRequire(import.meta.url)('aedes-persistence-redis/asyncPersistence.js') as new (options: { conn: InstanceType<typeof Redis> }) => {
      outgoingEnqueueCombi(subs: { clientId: string }[], packet: object): Promise<void>;
    };
    const packet = { cmd: 'publish', topic: 't/1', payload: Buffer.from('m'), qos: 1, retain: false, dup: false, brokerId: 'b1', brokerCounter: 7 };
    const subs = [{ clientId: 'c1' }, { clientId: 'c2' }];
    const written = async (db: number, ours: boolean) => {
      const conn = new Redis(`${redis!.url}/${db}`);
      const persistence = new AsyncPersistence({ conn });
      if (ours) enqueueInOneRoundTrip(persistence, conn);
      await persistence.outgoingEnqueueCombi(subs, { ...packet });
      const keys = (await conn.keys('*')).filter((key) => key.startsWith('packet:') || key.startsWith('outgoing:')).sort();
      const values = await Promise.all(keys.map(async (key) => ((await conn.type(key)) === 'list' ? (await conn.lrange(key, 0, -1)).join(',') : (await conn.getBuffer(key))!.toString('hex'))));
      conn.disconnect();
      return Object.fromEntries(keys.map((key, index) => [key, values[index]]));
    };
    const theirs = await written(14, false);
    expect(Object.keys(theirs)).toEqual(['outgoing:c1', 'outgoing:c2', 'packet:b1:7', 'packet:b1:7:offlineCount']);
    expect(await written(15, true)).toEqual(theirs);
  });
});
