// Two reference brokers on one Redis are one namespace: an intruder at one instance is refused for a
// session live at the other (S6), the owner reconnecting at the other takes it over and the older
// connection ends with DISCONNECT 0x8E (S8), the session limit counts sessions on both (S9), queued
// QoS 1 messages follow the session (L2), messages fan out between instances, a client changed through
// one instance is changed at every instance, its connections ended wherever they are (A7, P5), and a
// broker that stops sends MQTT 5 clients DISCONNECT 0x8B and keeps their sessions for whichever instance
// they resume on.
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { within } from '../common/timing.ts';
import { openRawSession, type RawSession } from '../testkit/raw-session.ts';
import { startTestBroker, type TestBroker } from '../testkit/test-broker.ts';
import { redisSkipNotice, REDIS_AVAILABLE, slowRequests, startRedis, type TestRedis } from '../testkit/redis-server.ts';
import { ConnectReads } from './adapters/redis/connect-reads.ts';
import { joinSharedNamespace } from './adapters/redis/shared-namespace.ts';
import { redisPersistence, subscriptionsKey, type PersistenceWrites } from './adapters/redis/redis-persistence.ts';
import { WritesInFlight } from './adapters/redis/writes-in-flight.ts';
import { startReferenceBroker, type ReferenceBroker } from './broker.ts';
import type { Behaviour } from './policy/behaviour.ts';
import { EVENT_GRID } from './policy/event-grid.ts';
import { mutatedBehaviour } from './policy/mutants.ts';

redisSkipNotice('reference/shared-namespace.test.ts');

/** The Redis connection each instance's aedes persistence was given, and the persistence, in the order the instances started. */
const wiring = vi.hoisted(() => ({ persistenceConnections: [] as unknown[], persistences: [] as unknown[] }));
vi.mock('./adapters/redis/redis-persistence.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('./adapters/redis/redis-persistence.ts')>();
  return {
    ...original,
    redisPersistence: (...args: Parameters<typeof original.redisPersistence>) => {
      wiring.persistenceConnections.push(args[0]);
      const persistence = original.redisPersistence(...args);
      wiring.persistences.push(persistence);
      return persistence;
    },
  };
});

let redis: TestRedis | undefined;
const running: TestBroker<ReferenceBroker>[] = [];

beforeAll(async () => {
  if (REDIS_AVAILABLE) redis = await startRedis();
});
afterAll(() => redis?.stop());
afterEach(async () => {
  for (const broker of running.splice(0)) await broker.stop();
});

const persistenceConnectionOf = new Map<TestBroker<ReferenceBroker>, Redis>();
/** What aedes asks an instance's persistence for the sessions to queue a message for (its index of subscriptions). */
const persistenceOf = new Map<TestBroker<ReferenceBroker>, { subscriptionsByTopic(topic: string): Promise<unknown[]> }>();

/** An instance of the namespace kept in the file's Redis (database `db`: a fresh namespace per test). */
async function instance(db: number, limits: { sessions?: number } = {}, behaviour?: Behaviour): Promise<TestBroker<ReferenceBroker>> {
  const started = wiring.persistenceConnections.length;
  const broker = await startTestBroker(
    startReferenceBroker,
    limits.sessions ? { maximumClientSessionsPerAuthenticationName: limits.sessions } : {},
    { redis: { url: `${redis!.url}/${db}` }, ...(behaviour ? { behaviour } : {}) },
  );
  running.push(broker);
  persistenceConnectionOf.set(broker, wiring.persistenceConnections[started] as Redis);
  persistenceOf.set(broker, wiring.persistences[started] as { subscriptionsByTopic(topic: string): Promise<unknown[]> });
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
  /** The instance takes its time to record a connection's end in the store, as a loaded one does: the other decides before it has. */
  function slowToRecordEnds(at: TestBroker<ReferenceBroker>): void {
    const close = at.broker.sessions.close.bind(at.broker.sessions);
    at.broker.sessions.close = async (...args) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return close(...args);
    };
  }

  it('L2: a CONNECT at B sent right after an MQTT 5 DISCONNECT with Session Expiry 0 at A starts a new session (Session Present 0)', async () => {
    const [a, b] = await pair();
    slowToRecordEnds(a);
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

  it("S7: another identity's CONNECT at B right after a DISCONNECT at A ended the session held there is judged on that end, not refused 0x87", async () => {
    const [a, b] = await pair();
    // B reads the session as still connected at A.
    slowToRecordEnds(a);
    const first = await rawAt(a, 'beta');
    first.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 's1', clean: false, keepalive: 30, username: 'beta', properties: { sessionExpiryInterval: 0 } });
    expect(await first.next(5000)).toMatchObject({ cmd: 'connack', reasonCode: 0 });
    const second = await rawAt(b, 'alpha');
    first.sendPacket({ cmd: 'disconnect', reasonCode: 0 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    second.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 's1', clean: false, keepalive: 30, username: 'alpha', properties: { sessionExpiryInterval: 600 } });
    expect(await second.next(5000)).toMatchObject({ cmd: 'connack', reasonCode: 0, sessionPresent: false });
    // The session is alpha's now, connected at B: beta at A is refused as an intruder (B answers that it still holds it).
    expect(await a.connect('beta', 's1', '5')).toMatchObject({ accepted: false, code: 0x87 });
  });

  it("S5: a name freed by A's sweep of an expired session, taken at B before A wiped that session's state, starts afresh: nothing of it is resumed", async () => {
    const [a, b] = await pair();
    // A sweeps first, and takes its time between removing the session from the store and wiping what
    // aedes stored of it, as a loaded instance does; B's own sweep comes later.
    let swept = false;
    const sweepAtA = a.broker.sessions.sweep.bind(a.broker.sessions);
    a.broker.sessions.sweep = async () => {
      const removed = await sweepAtA();
      if (removed.some((record) => record.name === 's1')) {
        swept = true;
        await new Promise((resolve) => setTimeout(resolve, 1500));
      }
      return removed;
    };
    const sweepAtB = b.broker.sessions.sweep.bind(b.broker.sessions);
    b.broker.sessions.sweep = async () => {
      await new Promise((resolve) => setTimeout(resolve, 3000));
      return sweepAtB();
    };
    const owner = await a.open('alpha', 's1', '5', { sessionExpiry: 1 });
    await owner.subscribe('mmc/alpha/s1', 1);
    await owner.disconnect();
    const publisher = await a.open('observer', 'pub', '5', { cleanStart: true });
    await publisher.publish('mmc/alpha/s1', 'kept', 1);
    await expect.poll(() => swept, { timeout: 5000 }).toBe(true);
    const newOwner = await b.open('beta', 's1', '5', { cleanStart: false, sessionExpiry: 600 });
    expect(newOwner.sessionPresent).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(newOwner.pending().map((message) => message.payload)).toEqual([]);
  });
});

describe.skipIf(!REDIS_AVAILABLE)("the wipe of an ended session's stored state, at whichever instance", () => {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const views: Redis[] = [];
  const raws: RawSession[] = [];
  afterEach(() => {
    for (const view of views.splice(0)) view.disconnect();
    for (const raw of raws.splice(0)) raw.end();
  });
  /** A connection of the test's own to the namespace's database, to see what is stored there. */
  async function storedIn(db: number): Promise<Redis> {
    const { Redis } = await import('ioredis');
    const view = new Redis(`${redis!.url}/${db}`);
    views.push(view);
    return view;
  }
  /** The instance's sweep of expired sessions comes `ms` late: the other instance sweeps first. */
  function lateToSweep(at: TestBroker<ReferenceBroker>, ms: number): void {
    const sweep = at.broker.sessions.sweep.bind(at.broker.sessions);
    at.broker.sessions.sweep = async () => {
      await sleep(ms);
      return sweep();
    };
  }
  /** `then` runs once the instance's sweep removed session `name` from the store, before the instance wipes its state. */
  function onSweepOf(at: TestBroker<ReferenceBroker>, name: string, then: () => unknown): void {
    const sweep = at.broker.sessions.sweep.bind(at.broker.sessions);
    at.broker.sessions.sweep = async () => {
      const removed = await sweep();
      if (removed.some((record) => record.name === name)) await then();
      return removed;
    };
  }
  /** Session s1 of alpha at A, subscribed at QoS 1 to mmc/alpha/s1, held offline with a 1-second expiry. */
  async function heldAt(a: TestBroker<ReferenceBroker>): Promise<void> {
    const owner = await a.open('alpha', 's1', '5', { sessionExpiry: 1 });
    await owner.subscribe('mmc/alpha/s1', 1);
    await owner.disconnect();
  }

  it("S5: a name claimed at B the moment A's slow wipe of its expired session has removed the subscriptions starts afresh: the wipe is one step, the queue went with them", async () => {
    const db = (databases += 1);
    const [a, b] = [await instance(db), await instance(db)];
    const stored = await storedIn(db);
    lateToSweep(b, 5000);
    // From A's sweep of s1 on, each of A's requests to Redis takes 1.5 s: its wipe of s1 takes seconds.
    onSweepOf(a, 's1', () => slowRequests(persistenceConnectionOf.get(a)!, 1500));
    await heldAt(a);
    const publisher = await b.open('observer', 'pub', '5', { cleanStart: true });
    await publisher.publish('mmc/alpha/s1', 'kept', 1);
    // A's wipe has removed the old session's subscriptions. Done in steps (as aedes-persistence-redis
    // removes them, then the queue), its next request, 1.5 s later, would remove the queue.
    await expect.poll(() => stored.exists('client:s1'), { timeout: 8000 }).toBe(0);
    const newOwner = await b.open('beta', 's1', '5', { cleanStart: false, sessionExpiry: 600 });
    expect(newOwner.sessionPresent).toBe(false);
    await sleep(500);
    expect(newOwner.pending().map((message) => message.payload)).toEqual([]);
  });

  it("S5: A's wipe of the expired session, come after B's claim of the name, leaves the new session's subscriptions and queue alone", async () => {
    const db = (databases += 1);
    const [a, b] = [await instance(db), await instance(db)];
    lateToSweep(b, 5000);
    let swept = false;
    onSweepOf(a, 's1', async () => {
      swept = true;
      await sleep(1500);
    });
    await heldAt(a);
    const publisher = await b.open('observer', 'pub', '5', { cleanStart: true });
    await publisher.publish('mmc/alpha/s1', 'old', 1);
    await expect.poll(() => swept, { timeout: 5000 }).toBe(true);
    const newOwner = await b.open('beta', 's1', '5', { cleanStart: false, sessionExpiry: 600 });
    expect(newOwner.sessionPresent).toBe(false);
    await newOwner.subscribe('mmc/beta/s1', 1);
    // A's wipe comes and goes.
    await sleep(2000);
    await newOwner.disconnect();
    await publisher.publish('mmc/beta/s1', 'new', 1);
    const resumed = await a.open('beta', 's1', '5', { cleanStart: false, sessionExpiry: 600 });
    expect(resumed.sessionPresent).toBe(true);
    expect((await resumed.nextMessage('mmc/beta/s1')).payload).toBe('new');
    await sleep(300);
    expect(resumed.pending().map((message) => message.payload)).toEqual([]);
  });

  it("S5: the expired session's subscriptions wiped at B are gone from A's index too: A queues nothing of them for the name's new session", async () => {
    const db = (databases += 1);
    const [a, b] = [await instance(db), await instance(db)];
    lateToSweep(a, 10_000);
    await heldAt(a);
    const publisher = await a.open('observer', 'pub', '5', { cleanStart: true });
    await sleep(2000);
    // Past its expiry: the CONNECT at B removes it and wipes its state; the new session subscribes to nothing.
    const newOwner = await b.open('beta', 's1', '5', { cleanStart: false, sessionExpiry: 600 });
    expect(newOwner.sessionPresent).toBe(false);
    await newOwner.disconnect();
    await publisher.publish('mmc/alpha/s1', 'for the old session', 1);
    const resumed = await b.open('beta', 's1', '5', { cleanStart: false, sessionExpiry: 600 });
    await sleep(500);
    expect(resumed.pending().map((message) => message.payload)).toEqual([]);
  });

  it("L3: a wipe at B of a session whose messages A sent or queued leaves none of their payloads (packet:…) in Redis", async () => {
    const db = (databases += 1);
    const [a, b] = [await instance(db), await instance(db)];
    const stored = await storedIn(db);
    lateToSweep(a, 10_000);
    const { certificatePem, keyPem } = a.pki.identities.get('alpha')!;
    const owner = await openRawSession({ port: a.broker.port, ca: a.pki.rootCaPem, cert: certificatePem, key: keyPem });
    raws.push(owner);
    owner.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 's1', clean: true, keepalive: 30, username: 'alpha', properties: { sessionExpiryInterval: 1 } });
    expect(await owner.next(5000)).toMatchObject({ cmd: 'connack', reasonCode: 0 });
    owner.sendPacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'mmc/alpha/s1', qos: 1 }] });
    expect(await owner.next()).toMatchObject({ cmd: 'suback' });
    const publisher = await a.open('observer', 'pub', '5', { cleanStart: true });
    await publisher.publish('mmc/alpha/s1', 'sent', 1);
    // Sent by A, never acknowledged: A alone knows which stored message its packet identifier stands for.
    expect(await owner.next(3000)).toMatchObject({ cmd: 'publish', qos: 1 });
    owner.end();
    await expect.poll(async () => (await b.broker.sessions.find('s1'))?.connectionId, { timeout: 3000 }).toBeUndefined();
    for (const payload of ['queued 1', 'queued 2']) await publisher.publish('mmc/alpha/s1', payload, 1);
    expect((await stored.keys('packet:*')).length).toBeGreaterThan(0);
    // Past its expiry, unswept (A's sweep is late): the CONNECT at B removes it and wipes its state first.
    await sleep(2000);
    const newOwner = await b.open('beta', 's1', '5', { cleanStart: false, sessionExpiry: 600 });
    expect(newOwner.sessionPresent).toBe(false);
    expect(await stored.exists('client:s1', 'outgoing:s1')).toBe(0);
    expect(await stored.keys('packet:*')).toEqual([]);
  });
});

describe.skipIf(!REDIS_AVAILABLE)('a QoS 1 message delivered live to a session it was not queued for', () => {
  it("leaves no packet identifiers in Redis (packet:…:ids) once the connection ends without acknowledging it", async () => {
    const db = (databases += 1);
    const [a, b] = [await instance(db), await instance(db)];
    const { Redis: Connection } = await import('ioredis');
    const stored = new Connection(`${redis!.url}/${db}`);
    const { certificatePem, keyPem } = a.pki.identities.get('alpha')!;
    const owner = await openRawSession({ port: a.broker.port, ca: a.pki.rootCaPem, cert: certificatePem, key: keyPem });
    try {
      // B has not heard of the subscription made at A yet (its index is updated through the fan-out):
      // it queues its messages for no session, and A delivers them live.
      persistenceOf.get(b)!.subscriptionsByTopic = async () => [];
      owner.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 's1', clean: false, keepalive: 30, username: 'alpha', properties: { sessionExpiryInterval: 600 } });
      expect(await owner.next(5000)).toMatchObject({ cmd: 'connack', reasonCode: 0 });
      owner.sendPacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'mmc/alpha/s1', qos: 1 }] });
      expect(await owner.next()).toMatchObject({ cmd: 'suback' });
      const publisher = await b.open('observer', 'pub', '5', { cleanStart: true });
      for (let index = 0; index < 5; index += 1) await publisher.publish('mmc/alpha/s1', `live ${index}`, 1);
      for (let index = 0; index < 5; index += 1) expect(await owner.next(3000)).toMatchObject({ cmd: 'publish', qos: 1, dup: false });
      // Never acknowledged: the connection ends first, and the session is held.
      owner.end();
      await expect.poll(async () => (await b.broker.sessions.find('s1'))?.connectionId, { timeout: 3000 }).toBeUndefined();
      expect(await stored.keys('packet:*')).toEqual([]);
    } finally {
      owner.end();
      stored.disconnect();
    }
  });
});

describe.skipIf(!REDIS_AVAILABLE)("a QoS 1 message queued for a persistent subscriber and held for a shared group's member (M3)", () => {
  it('stays queued for the member once the subscriber acknowledged it: its count of the sessions holding it is raised, not reset, by the hold', async () => {
    const db = (databases += 1);
    const a = await instance(db);
    const { Redis: Connection } = await import('ioredis');
    const stored = new Connection(`${redis!.url}/${db}`);
    try {
      const subscriber = await a.open('alpha', 's1', '5', { sessionExpiry: 600 });
      await subscriber.subscribe('mmc/alpha/stream', 1);
      await subscriber.disconnect();
      const member = await a.open('alpha', 'w1', '5', { sessionExpiry: 600 });
      expect(await member.subscribeCode('$share/workers/mmc/alpha/stream', 1)).toBe(1);
      await member.disconnect();
      const publisher = await a.open('observer', 'pub', '5', { cleanStart: true });
      await publisher.publish('mmc/alpha/stream', 'both', 1);
      // Queued for s1 as aedes queues a message, then held for w1 (no member of the group connected).
      await expect.poll(() => stored.llen('outgoing:w1'), { timeout: 3000 }).toBe(1);
      expect(await stored.llen('outgoing:s1')).toBe(1);
      const resumed = await a.open('alpha', 's1', '5', { sessionExpiry: 600 });
      expect((await resumed.nextMessage('mmc/alpha/stream')).payload).toBe('both');
      // Its PUBACK cleared it from s1's queue.
      await expect.poll(() => stored.llen('outgoing:s1'), { timeout: 3000 }).toBe(0);
      const memberBack = await a.open('alpha', 'w1', '5', { sessionExpiry: 600 });
      expect((await memberBack.nextMessage('mmc/alpha/stream')).payload).toBe('both');
    } finally {
      stored.disconnect();
    }
  });
});

describe.skipIf(!REDIS_AVAILABLE)('a QoS 2 message to a persistent session, where QoS 2 is served (the L9 mutant: Event Grid serves at most QoS 1)', () => {
  const servingQos2: Behaviour = { ...EVENT_GRID, maximumQos: 2 };
  const raws: RawSession[] = [];
  afterEach(() => {
    for (const raw of raws.splice(0)) raw.end();
  });
  /** A raw MQTT 5 connection of `identity` at the instance, its CONNECT for `name` (Session Expiry 600) answered: the CONNACK, then the connection. */
  async function rawConnect(at: TestBroker<ReferenceBroker>, identity: string, name: string, clean: boolean) {
    const { certificatePem, keyPem } = at.pki.identities.get(identity)!;
    const raw = await openRawSession({ port: at.broker.port, ca: at.pki.rootCaPem, cert: certificatePem, key: keyPem });
    raws.push(raw);
    raw.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: name, clean, keepalive: 30, username: identity, properties: { sessionExpiryInterval: 600 } });
    const connack = await raw.next(5000);
    expect(connack).toMatchObject({ cmd: 'connack', reasonCode: 0 });
    return { raw, connack: connack as { sessionPresent: boolean } };
  }
  /** The packets the connection is sent within `ms`, as `cmd messageId`. */
  async function sentWithin(raw: RawSession, ms: number): Promise<string[]> {
    const sent: string[] = [];
    for (let packet = await raw.next(ms); packet; packet = await raw.next(ms)) sent.push(`${packet.cmd} ${(packet as { messageId?: number }).messageId}`);
    return sent;
  }

  describe.each(['a restart', 'a takeover at B'] as const)('across %s', (move) => {
    it.each(['PUBLISH not yet received (no PUBREC)', 'PUBREC sent, PUBREL not yet completed (no PUBCOMP)'] as const)('delivers it exactly once when the flow stood at %s', async (stage) => {
      const db = (databases += 1);
      const a = await instance(db, {}, servingQos2);
      const { raw: owner } = await rawConnect(a, 'alpha', 's1', true);
      owner.sendPacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'mmc/alpha/s1', qos: 2 }] });
      expect(await owner.next(3000)).toMatchObject({ cmd: 'suback', granted: [2] });
      const { raw: publisher } = await rawConnect(a, 'observer', 'pub', true);
      publisher.sendPacket({ cmd: 'publish', topic: 'mmc/alpha/s1', payload: Buffer.from('once'), qos: 2, messageId: 1, retain: false, dup: false });
      expect(await publisher.next(3000)).toMatchObject({ cmd: 'pubrec', messageId: 1 });
      publisher.sendPacket({ cmd: 'pubrel', messageId: 1 });
      expect(await publisher.next(3000)).toMatchObject({ cmd: 'pubcomp', messageId: 1 });
      const delivered = (await owner.next(3000)) as { cmd: string; messageId: number; qos: number; payload: Buffer };
      expect(delivered).toMatchObject({ cmd: 'publish', qos: 2 });
      expect(delivered.payload.toString()).toBe('once');
      const id = delivered.messageId;
      if (stage.startsWith('PUBREC')) {
        owner.sendPacket({ cmd: 'pubrec', messageId: id });
        expect(await owner.next(3000)).toMatchObject({ cmd: 'pubrel', messageId: id });
      }
      let next: TestBroker<ReferenceBroker>;
      if (move === 'a restart') {
        running.splice(running.indexOf(a), 1);
        await a.broker.stop();
        next = await instance(db, {}, servingQos2);
      } else {
        next = await instance(db, {}, servingQos2);
      }
      const { raw: resumed, connack } = await rawConnect(next, 'alpha', 's1', false);
      expect(connack.sessionPresent).toBe(true);
      if (stage.startsWith('PUBLISH')) {
        const again = (await resumed.next(3000)) as { cmd: string; messageId: number; dup: boolean; payload: Buffer };
        expect(again).toMatchObject({ cmd: 'publish', messageId: id, dup: true });
        expect(again.payload.toString()).toBe('once');
        resumed.sendPacket({ cmd: 'pubrec', messageId: id });
      }
      // The PUBREL, resent on resuming or answering the PUBREC just sent; then nothing more.
      expect(await resumed.next(3000)).toMatchObject({ cmd: 'pubrel', messageId: id });
      resumed.sendPacket({ cmd: 'pubcomp', messageId: id });
      expect(await sentWithin(resumed, 500)).toEqual([]);
      resumed.end();
      // Completed: the next connection of the session is sent nothing of it.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const { raw: later, connack: laterConnack } = await rawConnect(move === 'a restart' ? next : a, 'alpha', 's1', false);
      expect(laterConnack.sessionPresent).toBe(true);
      expect(await sentWithin(later, 500)).toEqual([]);
    });
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

describe.skipIf(!REDIS_AVAILABLE)('a PUBACK only for a stored message', () => {
  it('answers no PUBACK, and closes the connection, when Redis refuses to queue the message (aedes has gone on before the answer)', async () => {
    const [a] = await pair();
    const owner = await a.open('alpha', 's1', '5', { sessionExpiry: 600 });
    await owner.subscribe('mmc/alpha/s1', 1);
    const publisher = await a.open('observer', 'pub', '5', { cleanStart: true });
    await publisher.publish('mmc/alpha/s1', 'stored', 1);
    const { Redis } = await import('ioredis');
    const admin = new Redis(redis!.url);
    // Redis past its memory limit refuses every write (OOM) and still answers PING.
    await admin.config('SET', 'maxmemory', '1');
    try {
      const outcome = await publisher.publish('mmc/alpha/s1', 'refused', 1).then(
        () => 'acknowledged',
        () => 'not acknowledged',
      );
      expect(outcome).toBe('not acknowledged');
      await publisher.ended;
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      admin.disconnect();
    }
  });
});

describe.skipIf(!REDIS_AVAILABLE)("a QoS 1 PUBLISH aedes' own authorizePublish refuses (the P2 mutant lets a $SYS topic past the packet gate)", () => {
  it('is answered PUBACK 0x87 without waiting for a store (it has no message to store), and the connection goes on', async () => {
    const at = await instance((databases += 1), {}, mutatedBehaviour(['P2']));
    const { certificatePem, keyPem } = at.pki.identities.get('observer')!;
    const raw = await openRawSession({ port: at.broker.port, ca: at.pki.rootCaPem, cert: certificatePem, key: keyPem, protocolVersion: 5 });
    try {
      raw.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'pub', clean: true, keepalive: 30, username: 'observer' });
      expect(await raw.next(5000)).toMatchObject({ cmd: 'connack', reasonCode: 0 });
      raw.sendPacket({ cmd: 'publish', topic: '$SYS/x', payload: Buffer.from('m'), qos: 1, messageId: 1, dup: false, retain: false });
      // Held for want of a store, it went nowhere until the connection ended, 10 s on.
      expect(await raw.next(5000)).toMatchObject({ cmd: 'puback', messageId: 1, reasonCode: 0x87 });
      raw.sendPacket({ cmd: 'publish', topic: 'mmc/alpha/x', payload: Buffer.from('m'), qos: 1, messageId: 2, dup: false, retain: false });
      expect(await raw.next(5000)).toMatchObject({ cmd: 'puback', messageId: 2 });
    } finally {
      raw.end();
    }
  });
});

describe.skipIf(!REDIS_AVAILABLE)("a wipe here of a session whose claim here read its subscriptions for aedes", () => {
  it("forgets the read: aedes reads the subscriptions from Redis, as the wipe left them (a Clean Start takeover's wipe here comes before its own claim, while the connection it takes over has not ended)", async () => {
    const { Redis } = await import('ioredis');
    const url = `${redis!.url}/${(databases += 1)}`;
    const conn = new Redis(url);
    const shared = await joinSharedNamespace({ url, namespace: 'n', clock: Date.now, log: () => {}, onLeaseLost: () => {} });
    try {
      await conn.hset(subscriptionsKey('s'), 't/1', '1');
      expect(await shared.sessions.claim(await shared.sessions.view('s', 'alpha'), 1, 60, Infinity)).toEqual({ replaced: undefined });
      await shared.wipeState('s', false);
      const persistence = shared.persistence as { subscriptionsByClient(client: { id: string }): Promise<unknown[]> };
      expect(await persistence.subscriptionsByClient({ id: 's' })).toEqual([]);
    } finally {
      await shared.close();
      conn.disconnect();
    }
  });
});

describe.skipIf(!REDIS_AVAILABLE)("aedes-persistence-redis's shape", () => {
  type Steps = PersistenceWrites & {
    setup(broker: object): Promise<void>;
    putWill(client: { id: string }, packet: object): Promise<void>;
  };
  const packet = { cmd: 'publish', topic: 't/1', payload: Buffer.from('m'), qos: 1, retain: false, dup: false, brokerId: 'b1', brokerCounter: 7 };
  // A ClientID its keys URI-encode.
  const [c1, c2] = [{ id: 'c1' }, { id: 'c 2/x' }];
  const open = async (db: number, ours: boolean, failures: Error[] = []) => {
    const { Redis } = await import('ioredis');
    const { createRequire } = await import('node:module');
    const AsyncPersistence = createRequire(import.meta.url)('aedes-persistence-redis/asyncPersistence.js') as new (options: { conn: InstanceType<typeof Redis> }) => Steps;
    const conn = new Redis(`${redis!.url}/${db}`);
    // One connection for both: what is read after a queueing is sent reads it.
    const persistence = ours ? (redisPersistence(conn, conn, new WritesInFlight((error) => failures.push(error))) as unknown as Steps) : new AsyncPersistence({ conn });
    // Its wills are keyed by the broker it was set up with.
    await persistence.setup({ id: 'b1', on() {}, subscribe: (_topic: string, _listener: unknown, done: () => void) => done(), unsubscribe: (_topic: string, _listener: unknown, done: () => void) => done() });
    /** Its keys and values; a stored packet decoded, without the packet identifier its own stores in it. */
    const snapshot = async () => {
      const { decode } = createRequire(createRequire(import.meta.url).resolve('aedes-persistence-redis/asyncPersistence.js'))('msgpack-lite') as { decode(bytes: Buffer): Record<string, unknown> };
      const keys = (await conn.keys('*')).filter((key) => /^(packet|outgoing|will)(:|$)/.test(key)).sort();
      const values = await Promise.all(
        keys.map(async (key) => {
          const type = await conn.type(key);
          if (type === 'list') return (await conn.lrange(key, 0, -1)).join(',');
          if (type === 'hash') return conn.hgetall(key);
          const bytes = (await conn.getBuffer(key))!;
          if (!/^packet:[^:]+:\d+$/.test(key)) return bytes.toString('hex');
          const { messageId: _, ...stored } = decode(bytes);
          return stored;
        }),
      );
      return Object.fromEntries(keys.map((key, index) => [key, values[index]]));
    };
    /** The packet identifiers of the session's queue as read when it resumes. */
    const queued = async (client: { id: string }) => {
      const identifiers: unknown[] = [];
      for await (const each of persistence.outgoingStream(client)) identifiers.push((each as { messageId?: unknown }).messageId);
      return identifiers;
    };
    return { persistence, snapshot, queued, close: () => conn.disconnect() };
  };

  it('redisPersistence writes the keys and values its own queueing and clearing of a QoS 1 message and its removal of a will write, and answers what they answer; a send stores the packet identifier alone, for each session', async () => {
    const failures: Error[] = [];
    const steps = async (db: number, ours: boolean) => {
      const { persistence, snapshot, queued, close } = await open(db, ours, failures);
      const seen: unknown[] = [];
      await persistence.outgoingEnqueueCombi([{ clientId: c1.id }, { clientId: c2.id }], { ...packet });
      seen.push(await snapshot());
      await persistence.outgoingUpdate(c1, { ...packet, messageId: 5 });
      await persistence.outgoingUpdate(c2, { ...packet, messageId: 9 });
      seen.push([await queued(c1), await queued(c2)]);
      seen.push(await persistence.outgoingClearMessageId(c1, { messageId: 5 }));
      seen.push(await snapshot());
      seen.push(await persistence.outgoingClearMessageId(c2, { messageId: 9 }));
      seen.push(await snapshot());
      await persistence.putWill(c2, { cmd: 'publish', topic: 'w/1', payload: Buffer.from('gone'), qos: 1, retain: false });
      seen.push(await snapshot());
      // As aedes asks before a CONNACK: naming no broker, it removes no will (and ours asks Redis nothing).
      seen.push(await persistence.delWill({ id: c2.id }));
      seen.push(await snapshot());
      seen.push(await persistence.delWill({ id: c2.id, brokerId: 'b1' }));
      seen.push(await snapshot());
      close();
      return seen;
    };
    const theirs = await steps((databases += 1), false);
    const ours = await steps((databases += 1), true);
    expect(Object.keys(theirs[0] as object)).toEqual(['outgoing:c%202%2Fx', 'outgoing:c1', 'packet:b1:7', 'packet:b1:7:offlineCount']);
    expect(ours[0]).toEqual(theirs[0]);
    // Its packet is one for both sessions: the identifier it was sent the second with is read for the first too.
    expect(theirs[1]).toEqual([[9], [9]]);
    expect(ours[1]).toEqual([[5], [9]]);
    expect(ours[2]).toEqual(theirs[2]);
    expect(theirs[2]).toMatchObject({ topic: 't/1', messageId: 5 });
    // The identifiers go with the packet, once the last session acknowledged it.
    expect(ours[3]).toEqual({ ...(theirs[3] as object), 'packet:b1:7:ids': { c1: '5', 'c 2/x': '9' } });
    expect(ours.slice(4)).toEqual(theirs.slice(4));
    expect(theirs[5]).toEqual({});
    expect(Object.keys(theirs[6] as object)).toEqual(['will', 'will:b1:c%202%2Fx']);
    expect(theirs[7]).toBeNull();
    expect(theirs[8]).toEqual(theirs[6]);
    expect(theirs[9]).toMatchObject({ topic: 'w/1', clientId: c2.id });
    expect(theirs[10]).toEqual({});
    expect(failures).toEqual([]);
  });

  it('redisPersistence resends a queue aedes-persistence-redis wrote with the identifiers it stored in the packets', async () => {
    const db = (databases += 1);
    const theirs = await open(db, false);
    await theirs.persistence.outgoingEnqueueCombi([{ clientId: c2.id }], { ...packet });
    await theirs.persistence.outgoingEnqueueCombi([{ clientId: c2.id }], { ...packet, brokerCounter: 8 });
    await theirs.persistence.outgoingUpdate(c2, { ...packet, messageId: 9 });
    theirs.close();
    const ours = await open(db, true);
    // The second was never sent: no identifier (a null one read as sent, and resent with DUP=1).
    expect(await ours.queued(c2)).toEqual([9, undefined]);
    ours.close();
  });

  it("answers a CONNECT's subscriptions from what its claim read as it answers them from Redis, once", async () => {
    const { Redis } = await import('ioredis');
    const { createRequire } = await import('node:module');
    const requireHere = createRequire(import.meta.url);
    const AsyncPersistence = requireHere('aedes-persistence-redis/asyncPersistence.js') as new (options: { conn: InstanceType<typeof Redis> }) => {
      subscriptionsByClient(client: { id: string }): Promise<unknown[]>;
    };
    const msgpack = createRequire(requireHere.resolve('aedes-persistence-redis/asyncPersistence.js'))('msgpack-lite') as { encode(value: unknown): Buffer };
    const conn = new Redis(`${redis!.url}/${(databases += 1)}`);
    try {
      const client = { id: 'c 2/x' };
      // As its addSubscriptions stores them: each subscription in msgpack, under its topic; and one in its oldest format.
      await conn.hset(subscriptionsKey(client.id), 'a/+', msgpack.encode({ topic: 'a/+', qos: 1, rh: 0, rap: true, nl: false, subscriptionIdentifier: 7 }), 'b/#', msgpack.encode({ topic: 'b/#', qos: 0 }), 'c', '1');
      const theirs = await new AsyncPersistence({ conn }).subscriptionsByClient(client);
      const reads = new ConnectReads({ on: (_topic, _listener, done) => done?.(), removeListener: () => {} });
      const ours = redisPersistence(conn, conn, new WritesInFlight(() => {}), reads);
      reads.claimedFree(client.id, await conn.hgetallBuffer(subscriptionsKey(client.id)));
      // Changed since the claim: the read is answered, not Redis (the CONNECT's state is the claim's).
      await conn.del(subscriptionsKey(client.id));
      expect(await ours.subscriptionsByClient(client)).toEqual(theirs);
      expect(await ours.subscriptionsByClient(client)).toEqual([]);
    } finally {
      conn.disconnect();
    }
  });
});
