// A persistent session's QoS 1 messages across takeovers by its own identity (S8), on the reference
// broker alone and on two instances of one namespace kept in Redis (each connection of the session at
// the next instance in turn, so that every takeover hops between them): a connection that
// acknowledges, during a takeover, what the queue is being resent with is not closed; every message
// reaches the session, again with DUP=1 only; the connection taken over gets DISCONNECT 0x8E and
// nothing after it.
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadPki, serverTlsFromPki } from '../certs/manifest.ts';
import { namespaceFromPki } from '../certs/namespace.ts';
import { openRawSession, type RawSession } from '../testkit/raw-session.ts';
import { redisSkipNotice, REDIS_AVAILABLE, startRedis, type TestRedis } from '../testkit/redis-server.ts';
import { startReferenceBroker, type ReferenceBroker } from './broker.ts';

redisSkipNotice('reference/takeover.test.ts');

const pki = loadPki(inject('pkiDir'));
let redis: TestRedis | undefined;
let databases = 0;
const brokers: ReferenceBroker[] = [];
const sessions: RawSession[] = [];
const log: string[] = [];
beforeAll(async () => {
  if (REDIS_AVAILABLE) redis = await startRedis();
});
afterAll(() => redis?.stop());
afterEach(async () => {
  for (const session of sessions.splice(0)) session.end();
  for (const broker of brokers.splice(0)) await broker.stop();
  log.length = 0;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const TOPIC = 'mmc/alpha/takeover';

/** Where the session's connections go: the broker alone, or the instances of one namespace in turn. */
interface Namespace {
  /** The first instance (the broker alone): its session store is the namespace's. */
  first: ReferenceBroker;
  instances: ReferenceBroker[];
  /** The port of the instance the session's next connection goes to. */
  nextPort(): number;
}

async function start(instances: 'one broker' | 'two instances on Redis'): Promise<Namespace> {
  const db = (databases += 1);
  const count = instances === 'one broker' ? 1 : 2;
  for (let index = 0; index < count; index += 1) {
    brokers.push(
      await startReferenceBroker({
        namespace: namespaceFromPki(pki),
        tls: serverTlsFromPki(pki),
        wsPort: null,
        log: (line) => log.push(line),
        ...(count > 1 ? { redis: { url: `${redis!.url}/${db}` } } : {}),
      }),
    );
  }
  const started = brokers.slice(-count);
  let connections = 0;
  return { first: started[0]!, instances: started, nextPort: () => started[connections++ % count]!.port };
}

interface Delivery {
  message: number;
  messageId: number;
  dup: boolean;
}

/** One connection of alpha's session "s1": what it received, how it ended. */
interface Subscriber {
  raw: RawSession;
  connack: { sessionPresent?: boolean; reasonCode?: number };
  deliveries: Delivery[];
  /** Reason code of the DISCONNECT the broker sent, and whether anything came after it. */
  disconnect?: number;
  afterDisconnect: number;
  closed: Promise<boolean>;
}

/** Connects as alpha to session "s1" (expiry 600 s); acknowledges each PUBLISH at once when `acknowledge` says so. */
async function subscriber(b: Namespace, clean: boolean, acknowledge: (delivery: Delivery) => boolean, onConnack?: (raw: RawSession) => void): Promise<Subscriber> {
  const alpha = pki.identities.get('alpha')!;
  let self: Subscriber | undefined;
  const raw = await openRawSession({
    port: b.nextPort(),
    ca: pki.rootCaPem,
    cert: alpha.certificatePem,
    key: alpha.keyPem,
    onPacket(packet, session) {
      // Nothing comes before the CONNACK, which next() reads.
      if (!self) return false;
      if (self.disconnect !== undefined) self.afterDisconnect += 1;
      if (packet.cmd === 'disconnect') self.disconnect = packet.reasonCode ?? 0;
      if (packet.cmd !== 'publish') return packet.cmd === 'disconnect';
      const delivery = { message: Number(packet.payload.toString()), messageId: packet.messageId!, dup: packet.dup };
      self.deliveries.push(delivery);
      if (acknowledge(delivery)) session.sendPacket({ cmd: 'puback', messageId: packet.messageId! });
      return true;
    },
  });
  sessions.push(raw);
  self = { raw, connack: {}, deliveries: [], afterDisconnect: 0, closed: new Promise((resolve) => raw.socket.once('close', () => resolve(true))) };
  raw.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 's1', clean, keepalive: 30, username: 'alpha', properties: { sessionExpiryInterval: 600 } });
  const connack = (await raw.next(5000)) as Subscriber['connack'] & { cmd?: string };
  expect(connack).toMatchObject({ cmd: 'connack', reasonCode: 0 });
  self.connack = connack;
  onConnack?.(raw);
  return self;
}

/** The publisher, at the first instance. */
async function publisher(b: Namespace) {
  const observer = pki.identities.get('observer')!;
  const acked = new Set<number>();
  const raw = await openRawSession({
    port: b.first.port,
    ca: pki.rootCaPem,
    cert: observer.certificatePem,
    key: observer.keyPem,
    onPacket: (packet) => packet.cmd === 'puback' && (acked.add(packet.messageId!), true),
  });
  sessions.push(raw);
  raw.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'publisher', clean: true, keepalive: 30, username: 'observer' });
  expect(await raw.next()).toMatchObject({ cmd: 'connack', reasonCode: 0 });
  let next = 0;
  return {
    /** Publishes messages `from`..`to` (their payloads are their numbers); resolves once the broker has acknowledged them all. */
    async publish(from: number, to: number) {
      const ids: number[] = [];
      for (let message = from; message <= to; message += 1) {
        const messageId = (next++ % 65535) + 1;
        ids.push(messageId);
        raw.sendPacket({ cmd: 'publish', topic: TOPIC, payload: Buffer.from(String(message)), qos: 1, messageId, retain: false, dup: false });
      }
      for (let waited = 0; waited < 5000 && !ids.every((id) => acked.has(id)); waited += 10) await sleep(10);
      expect(ids.every((id) => acked.has(id))).toBe(true);
      for (const id of ids) acked.delete(id);
    },
  };
}

const until = async (condition: () => boolean | Promise<boolean>, ms = 5000) => {
  for (let waited = 0; waited < ms && !(await condition()); waited += 10) await sleep(10);
  return condition();
};

/** Every message from 1 to `count` came at least once, and with DUP=0 at most once over all the connections. */
function expectWhole(connections: Subscriber[], count: number) {
  const plain = new Map<number, number>();
  const seen = new Set<number>();
  for (const connection of connections)
    for (const delivery of connection.deliveries) {
      seen.add(delivery.message);
      if (!delivery.dup) plain.set(delivery.message, (plain.get(delivery.message) ?? 0) + 1);
    }
  expect([...Array(count).keys()].map((index) => index + 1).filter((message) => !seen.has(message)), 'never delivered').toEqual([]);
  expect([...plain].filter(([, times]) => times > 1).map(([message]) => message), 'delivered twice with DUP=0').toEqual([]);
}

const SETUPS = REDIS_AVAILABLE ? (['one broker', 'two instances on Redis'] as const) : (['one broker'] as const);

describe.each(SETUPS)('QoS 1 across takeovers by the same identity [S8], %s', (setup) => {
  it('a connection that acknowledges queued messages while the queue is being resent to it is not closed (stale PUBACKs included)', async () => {
    const b = await start(setup);
    // The first connection acknowledges the odd messages: the 200 even ones stay queued with its packet identifiers.
    const first = await subscriber(b, true, (delivery) => delivery.message % 2 === 1);
    first.raw.sendPacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: TOPIC, qos: 1 }] });
    expect(await first.raw.next()).toMatchObject({ cmd: 'suback' });
    const pub = await publisher(b);
    await pub.publish(1, 400);
    expect(await until(() => first.deliveries.length === 400)).toBe(true);
    await sleep(100);
    // The device acknowledges all 400 again on its next connection, as mqtt.js sends the PUBACKs it
    // queued while disconnected: the moment the CONNACK comes, while the broker resends the queue. Half
    // of them are stale (the first connection acknowledged those).
    const ids = first.deliveries.map((delivery) => delivery.messageId);
    const second = await subscriber(b, false, () => true, (raw) => {
      for (const messageId of ids) raw.sendPacket({ cmd: 'puback', messageId });
    });
    expect(second.connack.sessionPresent).toBe(true);
    expect(await first.closed).toBe(true);
    expect([first.disconnect, first.afterDisconnect]).toEqual([0x8e, 0]);
    expect(await second.raw.closedWithin(500), 'the new connection was closed').toBe(false);
    // Resent ones carry DUP=1; then the session goes on.
    await pub.publish(401, 410);
    expect(await until(() => second.deliveries.some((delivery) => delivery.message === 410))).toBe(true);
    expect(log.join('\n')).not.toMatch(/no such packet/);
    expect(second.deliveries.filter((delivery) => delivery.message <= 400 && !delivery.dup)).toEqual([]);
    // What the first connection acknowledged is not sent again.
    expect(second.deliveries.filter((delivery) => delivery.message % 2 === 1 && delivery.message <= 400)).toEqual([]);
    expect(second.deliveries.filter((delivery) => delivery.message > 400).map((delivery) => [delivery.message, delivery.dup])).toEqual(
      [...Array(10).keys()].map((index) => [401 + index, false]),
    );
    expectWhole([first, second], 410);
  });

  it('messages queued and in flight survive several takeovers, come again with DUP=1, and none is lost while messages keep coming', async () => {
    const b = await start(setup);
    const connections: Subscriber[] = [await subscriber(b, true, () => false)];
    connections[0]!.raw.sendPacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: TOPIC, qos: 1 }] });
    expect(await connections[0]!.raw.next()).toMatchObject({ cmd: 'suback' });
    const pub = await publisher(b);
    // Three takeovers in turn, none acknowledging: what each received comes again to the next, with DUP=1.
    for (let round = 0; round < 3; round += 1) {
      await pub.publish(round * 10 + 1, round * 10 + 10);
      const current = connections.at(-1)!;
      expect(await until(() => current.deliveries.filter((delivery) => !delivery.dup).length === 10)).toBe(true);
      const next = await subscriber(b, false, () => round === 2);
      expect(next.connack.sessionPresent).toBe(true);
      expect(await current.closed).toBe(true);
      expect([current.disconnect, current.afterDisconnect]).toEqual([0x8e, 0]);
      connections.push(next);
      expect(await until(() => next.deliveries.length === (round + 1) * 10)).toBe(true);
      expect(next.deliveries.map((delivery) => [delivery.message, delivery.dup])).toEqual([...Array((round + 1) * 10).keys()].map((index) => [index + 1, true]));
    }
    // Then messages keep coming (about 800 a second) while the owner takes its session over every 40 ms, acknowledging all.
    let stop = false;
    const takeovers = (async () => {
      while (!stop) {
        await sleep(40);
        connections.push(await subscriber(b, false, () => true));
      }
    })();
    for (let batch = 0; batch < 20; batch += 1) {
      await pub.publish(31 + batch * 20, 50 + batch * 20);
      await sleep(25);
    }
    stop = true;
    await takeovers;
    const last = connections.at(-1)!;
    expect(await until(() => new Set(connections.flatMap((connection) => connection.deliveries.map((delivery) => delivery.message))).size === 430)).toBe(true);
    expectWhole(connections, 430);
    // Every connection but the last was taken over: DISCONNECT 0x8E and nothing after it; the last is open.
    for (const connection of connections.slice(0, -1)) {
      expect(await connection.closed).toBe(true);
      expect([connection.disconnect, connection.afterDisconnect]).toEqual([0x8e, 0]);
    }
    expect(await last.raw.closedWithin(200)).toBe(false);
    expect(connections.length).toBeGreaterThan(8);
  });

  it('a session taken over with more than 1,000 messages unacknowledged gets every one again', async () => {
    const b = await start(setup);
    const first = await subscriber(b, true, () => false);
    first.raw.sendPacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: TOPIC, qos: 1 }] });
    expect(await first.raw.next()).toMatchObject({ cmd: 'suback' });
    const pub = await publisher(b);
    for (let from = 1; from <= 1200; from += 200) await pub.publish(from, from + 199);
    expect(await until(() => first.deliveries.length === 1200, 10_000)).toBe(true);
    // aedes-persistence-redis resends at most 1,001 of a session's queue when it resumes, by default.
    const second = await subscriber(b, false, () => true);
    expect(second.connack.sessionPresent).toBe(true);
    expect(await until(() => second.deliveries.length >= 1200, 15_000), `${second.deliveries.length} of 1200 resent`).toBe(true);
    expectWhole([first, second], 1200);
  }, 30_000);

  it('a connection taken over, or closed, while the queue is resent to it has started the session: the session is then held, not bound to a dead connection', async () => {
    const b = await start(setup);
    const first = await subscriber(b, true, () => false);
    first.raw.sendPacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: TOPIC, qos: 1 }] });
    expect(await first.raw.next()).toMatchObject({ cmd: 'suback' });
    const pub = await publisher(b);
    await pub.publish(1, 400);
    expect(await until(() => first.deliveries.length === 400)).toBe(true);
    const events: string[] = [];
    for (const instance of b.instances) instance.events.on('event', (event) => events.push(`${event.type.replace(/.*Session/, '')} ${event.data.disconnectionReason ?? ''}`.trim()));
    // Closed by the device the moment its CONNACK comes, while 400 messages are being resent to it.
    const second = await subscriber(b, false, () => false, (raw) => raw.end());
    expect(await second.closed).toBe(true);
    expect(await until(async () => (await b.first.sessions.find('s1'))?.connectionId === undefined)).toBe(true);
    expect(await b.first.sessions.find('s1')).toMatchObject({ owner: 'alpha', expirySeconds: 600 });
    // The first connection's end, the second's start and end (in whichever order the first two come).
    expect(await until(() => events.length === 3)).toBe(true);
    expect([...events].sort()).toEqual(['Connected', 'Disconnected ConnectionLost', 'Disconnected SessionTakenOver']);
    // Nothing was lost: the next connection gets all 400, again with DUP=1.
    const third = await subscriber(b, false, () => true);
    expect(third.connack.sessionPresent).toBe(true);
    expect(await until(() => third.deliveries.length >= 400)).toBe(true);
    expectWhole([first, second, third], 400);
  });

  it('the connection taken over gets its DISCONNECT 0x8E and then an orderly close, not a reset, even while it is still sending', async () => {
    const b = await start(setup);
    for (let round = 0; round < 5; round += 1) {
      const old = await subscriber(b, round === 0, () => false);
      const errors: string[] = [];
      old.raw.socket.on('error', (error: NodeJS.ErrnoException) => errors.push(error.code ?? error.message));
      // Packets still on their way when the broker closes (PUBACKs, here PINGREQs), until the DISCONNECT
      // comes: unread, they would make the close a reset, which can cost the client the DISCONNECT.
      const chatter = setInterval(() => {
        if (old.disconnect === undefined && !old.raw.socket.destroyed) for (let index = 0; index < 20; index += 1) old.raw.sendPacket({ cmd: 'pingreq' });
      }, 1);
      await sleep(20);
      await subscriber(b, false, () => true);
      expect(await old.closed).toBe(true);
      clearInterval(chatter);
      expect([old.disconnect, old.afterDisconnect, errors]).toEqual([0x8e, 0, []]);
    }
  });
});

describe.skipIf(!REDIS_AVAILABLE)('a takeover that hops between instances [S8]', () => {
  it('ends the older connection at A before B accepts the newer: A sends it nothing more once B answers', async () => {
    const b = await start('two instances on Redis');
    const older = await subscriber(b, true, () => true);
    log.length = 0;
    const newer = await subscriber(b, false, () => true);
    expect(newer.connack.sessionPresent).toBe(true);
    expect(await older.closed).toBe(true);
    expect(older.disconnect).toBe(0x8e);
    const ended = log.findIndex((line) => /session "s1" taken over at instance .*: its connection here ends \[S8\]/.test(line));
    const accepted = log.findIndex((line) => line.startsWith('accepted session "s1"'));
    expect([ended >= 0, accepted > ended], log.join('\n')).toEqual([true, true]);
  });
});
