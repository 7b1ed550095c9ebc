// aedes as aedes-internals.ts relies on it, checked on a real broker with a client joined in memory:
// each test fails when aedes no longer has that shape (a member gone or renamed, a timer no longer
// kept where it was), so that an update of aedes shows here rather than as a rule quietly broken.
import { once } from 'node:events';
import { duplexPair } from 'node:stream';
import { Aedes, type Client } from 'aedes';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import {
  announceShutdown,
  explainDisconnects,
  connackSent,
  deliverQueueOnResume,
  deliverToClient,
  disconnectOversizedFromConnack,
  endedWithDisconnect,
  enqueueForSession,
  expiryAtEnd,
  forgetOutgoing,
  GONE_CLIENTS_TOPIC,
  guardAgainstStaleClients,
  leaveSessionExpiryToTheStore,
  liveClient,
  markRedeliveries,
  NEW_CLIENTS_TOPIC,
  onQueued,
  persistenceOf,
  protocolVersionOf,
  replayIncoming,
  retainedMessages,
  SessionDeliveries,
  setServerKeepAlive,
  stopKeepAliveTimer,
  takeIncoming,
} from './aedes-internals.ts';

let broker: Aedes | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => broker?.close(() => resolve()) ?? resolve());
  broker = undefined;
});

/** A device joined in memory to a broker that is already up: its client, and what it receives. */
function device(on: Aedes, reading = true) {
  const [server, end] = duplexPair();
  const client = on.handle(server) as unknown as Client;
  const received: mqttPacket.Packet[] = [];
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  parser.on('packet', (packet) => received.push(packet));
  const read = () => end.on('data', (chunk: Buffer) => parser.parse(chunk));
  if (reading) read();
  const send = (packet: mqttPacket.Packet) => end.write(mqttPacket.generate(packet, { protocolVersion: 5 }));
  const until = async (count: number, cmd: string) => {
    for (let waited = 0; waited < 2000 && received.filter((packet) => packet.cmd === cmd).length < count; waited += 5) await new Promise((resolve) => setTimeout(resolve, 5));
    return received.filter((packet) => packet.cmd === cmd) as mqttPacket.Packet[];
  };
  return { client, end, received, send, until, read };
}

/** A device whose persistent session "sub" is subscribed to "t" at QoS 1; `track` sees its client before its CONNECT. */
async function subscribedDevice(on: Aedes, track: (client: Client) => void = () => {}) {
  const joined = device(on);
  track(joined.client);
  joined.send(connect('sub', { clean: false }));
  await joined.until(1, 'connack');
  joined.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos: 1 }] });
  await joined.until(1, 'suback');
  return joined;
}

/** Its DISCONNECT, once aedes has handled it: the session is held, and messages queue for it. */
async function leave(on: Aedes, joined: ReturnType<typeof device>) {
  const gone = once(on, 'clientDisconnect');
  joined.send({ cmd: 'disconnect' });
  await gone;
}

const publishOn = (on: Aedes, payload: string) =>
  new Promise<void>((resolve) => on.publish({ cmd: 'publish', topic: 't', payload: Buffer.from(payload), qos: 1, retain: false, dup: false }, () => resolve()));

/** A broker and one client joined in memory; `onConnect` runs in preConnect, before the CONNACK. */
async function joined(onConnect: (client: Client) => void = () => {}) {
  broker = await Aedes.createBroker({ preConnect: (client, _packet, done) => (onConnect(client), done(null, true)) });
  const { client, end, received, send } = device(broker);
  const next = async (cmd: string) => {
    for (let waited = 0; waited < 2000; waited += 5) {
      const index = received.findIndex((packet) => packet.cmd === cmd);
      if (index >= 0) return received.splice(index, 1)[0]!;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`no ${cmd} within 2 s`);
  };
  return { client, device: end, send, next };
}

const connect = (clientId: string, extra: Partial<mqttPacket.IConnectPacket> = {}): mqttPacket.IConnectPacket => ({
  cmd: 'connect',
  protocolId: 'MQTT',
  protocolVersion: 5,
  clean: true,
  keepalive: 60,
  clientId,
  properties: { sessionExpiryInterval: 30 },
  ...extra,
});

describe("aedes' internals as the reference relies on them", () => {
  it('finds the connection that holds a session once its CONNACK is out, and sends it a message as a subscription would: QoS 1 queued for a kept session until its PUBACK, QoS 0 as is', async () => {
    const { client, send, next } = await joined();
    expect(liveClient(broker!, 'member')).toBeUndefined();
    send(connect('member', { clean: false }));
    await next('connack');
    await new Promise((resolve) => setImmediate(resolve));
    expect(liveClient(broker!, 'member')).toBe(client);
    const message = { cmd: 'publish' as const, topic: 'shared/t', payload: Buffer.from('one'), qos: 1, retain: false, dup: false, brokerId: broker!.id, brokerCounter: 1 };
    await new Promise<void>((resolve) => deliverToClient(broker!, client, message, 1, resolve));
    const sent = (await next('publish')) as mqttPacket.IPublishPacket;
    expect([sent.topic, String(sent.payload), sent.qos]).toEqual(['shared/t', 'one', 1]);
    const queued = async () => {
      const found: unknown[] = [];
      for await (const packet of persistenceOf(broker!).outgoingStream({ id: 'member' })) found.push(packet);
      return found.length;
    };
    expect(await queued()).toBe(1);
    send({ cmd: 'puback', messageId: sent.messageId! });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await queued()).toBe(0);
    await new Promise<void>((resolve) => deliverToClient(broker!, client, { ...message, brokerCounter: 2 }, 0, resolve));
    expect(((await next('publish')) as mqttPacket.IPublishPacket).qos).toBe(0);
    client.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(liveClient(broker!, 'member')).toBeUndefined();
  });

  it('a client reads its packets with a parser whose packet events can be taken before aedes sees them', async () => {
    const { client, send, next } = await joined();
    const taken: string[] = [];
    takeIncoming(client, (packet) => (taken.push(packet.cmd!), packet.cmd === 'pingreq'));
    send(connect('s1'));
    await next('connack');
    // aedes marks the CONNACK sent in its write callback, a turn after the bytes went out.
    await new Promise((resolve) => setImmediate(resolve));
    expect([connackSent(client), protocolVersionOf(client), expiryAtEnd(client)]).toEqual([true, 5, 30]);
    send({ cmd: 'pingreq' });
    send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos: 1 }] });
    await next('suback');
    // aedes answers a PINGREQ itself: taken here, it got none.
    expect(taken).toEqual(['connect', 'pingreq', 'subscribe']);
  });

  it('hands a packet taken before the CONNACK back to aedes, which handles it at once once the CONNACK mark is set after the connackSent event', async () => {
    const { client, device, next } = await joined();
    const held: object[] = [];
    const replayed = new WeakSet<object>();
    takeIncoming(client, (packet) => (replayed.has(packet) ? false : packet.cmd === 'pingreq' ? (held.push(packet), true) : false));
    const marks: boolean[] = [];
    broker!.on('connackSent', () => {
      marks.push(connackSent(client));
      queueMicrotask(() => {
        marks.push(connackSent(client));
        for (const packet of held.splice(0)) {
          replayed.add(packet);
          replayIncoming(client, packet);
        }
      });
    });
    // The CONNECT and a PINGREQ in one write: the PINGREQ is decoded before any CONNACK.
    device.write(Buffer.concat([mqttPacket.generate(connect('s1'), { protocolVersion: 5 }), mqttPacket.generate({ cmd: 'pingreq' })]));
    await next('connack');
    await next('pingresp');
    expect(marks).toEqual([false, true]);
  });

  it("counts a packet taken before aedes as the client's activity for its Keep Alive, and hands a held one on", async () => {
    const { client, send, next } = await joined();
    let held: { cmd?: string } | undefined;
    let pass: ((packet: { cmd?: string }) => void) | undefined;
    takeIncoming(client, (packet, handOn) => {
      if (packet.cmd !== 'pingreq') return false;
      pass = handOn;
      held ??= packet;
      return true;
    });
    const timeout = new Promise((resolve) => broker!.once('keepaliveTimeout', () => resolve('closed')));
    send(connect('s1', { keepalive: 1 }));
    await next('connack');
    // Only taken packets for 2.4 s, past 1.5 times the Keep Alive: the connection stays.
    for (let sent = 0; sent < 8; sent += 1) {
      send({ cmd: 'pingreq' });
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(await Promise.race([timeout, Promise.resolve('open')])).toBe('open');
    // A taken packet handed on later is aedes' to answer.
    pass!(held!);
    expect(await next('pingresp')).toMatchObject({ cmd: 'pingresp' });
  });

  it('marks a client that ended with a DISCONNECT', async () => {
    const { client, send, next } = await joined();
    send(connect('s1'));
    await next('connack');
    expect(endedWithDisconnect(client)).toBe(false);
    const disconnected = once(broker!, 'clientDisconnect');
    send({ cmd: 'disconnect' });
    await disconnected;
    expect(endedWithDisconnect(client)).toBe(true);
  });

  it('announces and times by the Keep Alive set before the CONNACK, and keeps the timer where it can be stopped', async () => {
    const { client, send, next } = await joined((connecting) => setServerKeepAlive(connecting, 7));
    send(connect('s1'));
    expect(await next('connack')).toMatchObject({ properties: { serverKeepAlive: 7 } });
    const timer = client as unknown as { _keepaliveTimer: unknown; _keepaliveInterval: number };
    expect(timer._keepaliveTimer).not.toBeNull();
    expect(timer._keepaliveInterval).toBeGreaterThan(0);
    stopKeepAliveTimer(client);
    expect([timer._keepaliveTimer, timer._keepaliveInterval]).toEqual([null, -1]);
  });

  it("has the client table and the register, unregister and expiry steps the stale-client guard wraps", async () => {
    broker = await Aedes.createBroker();
    const internals = broker as unknown as Record<string, unknown>;
    expect(typeof internals.clients).toBe('object');
    for (const step of ['registerClient', 'unregisterClient', 'scheduleSessionExpiry']) expect(typeof internals[step], step).toBe('function');
    guardAgainstStaleClients(broker);
  });

  it('queues QoS 1 messages for an offline session through outgoingEnqueueCombi, and resends them through outgoingStream with DUP', async () => {
    const first = await joined();
    const queued: string[] = [];
    onQueued(broker!, async (subs) => void queued.push(...subs.map((sub) => sub.clientId)));
    markRedeliveries(broker!);
    const persistence = persistenceOf(broker!);
    for (const method of ['cleanSubscriptions', 'delWill', 'outgoingClearMessageId'] as const) expect(typeof persistence[method], method).toBe('function');
    first.send(connect('sub', { clean: false }));
    await first.next('connack');
    first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos: 1 }] });
    await first.next('suback');
    // Delivered once and never acknowledged: it stays queued, with its packet identifier.
    await new Promise<void>((resolve) => broker!.publish({ cmd: 'publish', topic: 't', payload: Buffer.from('m'), qos: 1, retain: false, dup: false }, () => resolve()));
    expect(await first.next('publish')).toMatchObject({ dup: false });
    expect(queued).toEqual(['sub']);
    first.device.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = device(broker!);
    second.send(connect('sub', { clean: false }));
    expect((await second.until(1, 'publish'))[0]).toMatchObject({ topic: 't', dup: true });
    second.end.destroy();
  });

  it("resends a QoS 2 flow's PUBREL, queued once the PUBREC came, as it is: without the DUP flag a PUBREL may not have (L9 mutant's QoS 2)", async () => {
    const first = await joined();
    markRedeliveries(broker!);
    first.send(connect('sub', { clean: false }));
    await first.next('connack');
    first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos: 2 }] });
    await first.next('suback');
    await new Promise<void>((resolve) => broker!.publish({ cmd: 'publish', topic: 't', payload: Buffer.from('m'), qos: 2, retain: false, dup: false }, () => resolve()));
    const { messageId } = (await first.next('publish')) as mqttPacket.IPublishPacket;
    first.send({ cmd: 'pubrec', messageId: messageId! });
    expect(await first.next('pubrel')).toMatchObject({ messageId });
    first.device.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = device(broker!);
    second.send(connect('sub', { clean: false }));
    // A PUBREL with DUP set is malformed [MQTT-3.6.1-1]: the device's parser would refuse it.
    expect((await second.until(1, 'pubrel'))[0]).toMatchObject({ messageId, dup: false });
    expect(second.received.filter((packet) => packet.cmd === 'publish')).toEqual([]);
    second.end.destroy();
  });

  it('M3: queues a message in a held session with enqueueForSession, sent when it resumes and counted by onQueued; lists retained messages by filter with retainedMessages', async () => {
    const first = await joined();
    const queued: string[] = [];
    onQueued(broker!, async (subs) => void queued.push(...subs.map((sub) => sub.clientId)));
    first.send(connect('member', { clean: false }));
    await first.next('connack');
    first.device.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await enqueueForSession(broker!, 'member', { cmd: 'publish', topic: 'g/t', payload: Buffer.from('held'), qos: 1, retain: false, dup: false, brokerId: broker!.id, brokerCounter: 1 } as never, 1);
    expect(queued).toEqual(['member']);
    const second = device(broker!);
    second.send(connect('member', { clean: false }));
    expect((await second.until(1, 'publish'))[0]).toMatchObject({ topic: 'g/t', qos: 1 });
    second.end.destroy();
    await new Promise<void>((resolve) => broker!.publish({ cmd: 'publish', topic: 'g/kept', payload: Buffer.from('r'), qos: 1, retain: true, dup: false }, () => resolve()));
    const retained: { topic?: string }[] = [];
    for await (const packet of retainedMessages(broker!, 'g/#')) retained.push(packet as { topic?: string });
    expect(retained.map((packet) => packet.topic)).toEqual(['g/kept']);
  });

  it('marks a connection with Session Expiry Interval 0 clean, drops its queue on connecting unless the mark is lifted from the CONNACK, and puts it back', async () => {
    const first = await joined();
    const resuming = new WeakSet<Client>();
    deliverQueueOnResume(broker!, (client) => resuming.has(client));
    first.send(connect('sub', { clean: false }));
    await first.next('connack');
    first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos: 1 }] });
    await first.next('suback');
    first.device.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const publish = (payload: string) =>
      new Promise<void>((resolve) => broker!.publish({ cmd: 'publish', topic: 't', payload: Buffer.from(payload), qos: 1, retain: false, dup: false }, () => resolve()));
    await publish('queued');
    // Clean Start 0, Session Expiry Interval 0: resumed (the subscription is restored), queue and all.
    const second = device(broker!);
    resuming.add(second.client);
    const ready = once(broker!, 'clientReady');
    second.send(connect('sub', { clean: false, properties: { sessionExpiryInterval: 0 } }));
    await ready;
    expect((await second.until(1, 'publish'))[0]).toMatchObject({ topic: 't', payload: Buffer.from('queued') });
    expect((second.client as unknown as { clean: boolean }).clean).toBe(true);
    second.end.destroy();
  });

  it('clears a QoS 1 message sent and not acknowledged by its packet identifier, as a PUBACK does: the resumed session does not get it again', async () => {
    const first = await joined();
    first.send(connect('sub', { clean: false }));
    await first.next('connack');
    first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos: 1 }] });
    await first.next('suback');
    await new Promise<void>((resolve) => broker!.publish({ cmd: 'publish', topic: 't', payload: Buffer.from('m'), qos: 1, retain: false, dup: false }, () => resolve()));
    const sent = (await first.next('publish')) as mqttPacket.IPublishPacket;
    await forgetOutgoing(first.client, sent.messageId!);
    first.device.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = device(broker!);
    second.send(connect('sub', { clean: false }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(second.received.map((packet) => packet.cmd)).toEqual(['connack']);
    second.end.destroy();
  });

  it("delivers a client's QoS 1 messages through the deliverQoS its subscriptions take when made, numbered from _nextId; fails an update of a packet no longer queued with 'no such packet'", async () => {
    broker = await Aedes.createBroker();
    const one = device(broker);
    const internals = one.client as unknown as { deliverQoS: (packet: unknown, callback: () => void) => void; _nextId: number };
    const deliverQoS = internals.deliverQoS;
    expect(typeof deliverQoS).toBe('function');
    const seen: unknown[] = [];
    internals.deliverQoS = (packet, callback) => (seen.push(packet), deliverQoS.call(one.client, packet, callback));
    one.send(connect('sub', { clean: false }));
    await one.until(1, 'connack');
    one.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos: 1 }] });
    await one.until(1, 'suback');
    internals._nextId = 4242;
    await publishOn(broker, 'm');
    expect(await one.until(1, 'publish')).toMatchObject([{ messageId: 4242, payload: Buffer.from('m') }]);
    expect(seen).toMatchObject([{ topic: 't', qos: 1, brokerId: broker.id, brokerCounter: expect.any(Number) }]);
    await expect(persistenceOf(broker).outgoingUpdate({ id: 'sub' }, { brokerId: broker.id, brokerCounter: -1, messageId: 1 })).rejects.toThrow('no such packet');
  });

  it('resends a session\'s queue through outgoingStream(client) after the CONNACK, asking authorizeForward for each message and sending none it refuses', async () => {
    const asked: string[] = [];
    broker = await Aedes.createBroker({ authorizeForward: (_client, packet) => (asked.push(String(packet.payload)), String(packet.payload) === 'skip' ? null : packet) });
    const resentTo: unknown[] = [];
    const persistence = persistenceOf(broker);
    const outgoingStream = persistence.outgoingStream.bind(persistence);
    persistence.outgoingStream = (client) => (resentTo.push(client), outgoingStream(client));
    const first = await subscribedDevice(broker);
    await leave(broker, first);
    for (const payload of ['a', 'skip', 'b']) await publishOn(broker, payload);
    const second = device(broker);
    second.send(connect('sub', { clean: false }));
    const resent = await second.until(2, 'publish');
    expect(resent.map((packet) => String((packet as mqttPacket.IPublishPacket).payload))).toEqual(['a', 'b']);
    expect(asked).toEqual(['a', 'skip', 'b']);
    expect(resentTo).toContain(second.client);
    // The refused one was cleared from the queue.
    const left: unknown[] = [];
    for await (const packet of persistence.outgoingStream({ id: 'sub' })) left.push(packet);
    expect(left).toHaveLength(2);
  });

  it('SessionDeliveries: the connection taken over sends nothing more and the new one numbers on from it; resent messages come once, with DUP', async () => {
    const taken: Client[] = [];
    const deliveries = new SessionDeliveries((client) => taken.push(client));
    broker = await Aedes.createBroker({ authorizeForward: deliveries.authorizeForward });
    guardAgainstStaleClients(broker);
    markRedeliveries(broker);
    deliveries.attach(broker);
    const first = await subscribedDevice(broker, (client) => deliveries.track(client));
    for (const payload of ['1', '2', '3']) await publishOn(broker, payload);
    const sent = (await first.until(3, 'publish')) as mqttPacket.IPublishPacket[];
    expect(sent.map((packet) => [String(packet.payload), packet.dup])).toEqual([['1', false], ['2', false], ['3', false]]);

    const second = device(broker);
    deliveries.track(second.client);
    second.send(connect('sub', { clean: false }));
    const resent = (await second.until(3, 'publish')) as mqttPacket.IPublishPacket[];
    expect(taken).toEqual([first.client]);
    expect(deliveries.superseded(first.client)).toBe(true);
    expect(await first.until(1, 'disconnect')).toMatchObject([{ reasonCode: 0x8e }]);
    expect(resent.map((packet) => [String(packet.payload), packet.messageId, packet.dup])).toEqual(sent.map((packet) => [String(packet.payload), packet.messageId, true]));
    await publishOn(broker, '4');
    const [, , , fourth] = (await second.until(4, 'publish')) as mqttPacket.IPublishPacket[];
    expect([String(fourth!.payload), fourth!.messageId, fourth!.dup]).toEqual(['4', (sent[2]!.messageId! % 65535) + 1, false]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(second.received.filter((packet) => packet.cmd === 'publish')).toHaveLength(4);
    expect(first.received.filter((packet) => packet.cmd === 'publish')).toHaveLength(3);

    // A message no longer queued when aedes resends it (acknowledged meanwhile) is neither an error nor sent.
    const gone = { brokerId: broker.id, brokerCounter: -1, messageId: sent[0]!.messageId };
    await expect(persistenceOf(broker).outgoingUpdate(second.client, gone)).resolves.toBeUndefined();
    expect(deliveries.authorizeForward(second.client, gone)).toBeNull();
    expect(deliveries.authorizeForward(second.client, sent[0]!)).toBe(sent[0]);
  });

  it('SessionDeliveries: a connection taken over while aedes still resends its queue after the CONNACK gets one DISCONNECT 0x8E (aedes sends it only to a connected one)', async () => {
    const deliveries = new SessionDeliveries();
    broker = await Aedes.createBroker({ authorizeForward: deliveries.authorizeForward });
    guardAgainstStaleClients(broker);
    // The resend is held up at its first message for as long as `stalled` is pending.
    let release = () => {};
    let stalled: Promise<void> | undefined;
    const persistence = persistenceOf(broker);
    const outgoingUpdate = persistence.outgoingUpdate.bind(persistence);
    persistence.outgoingUpdate = async (client, packet) => (await stalled, outgoingUpdate(client, packet));
    deliveries.attach(broker);
    const first = await subscribedDevice(broker, (client) => deliveries.track(client));
    await leave(broker, first);
    for (const payload of ['1', '2', '3']) await publishOn(broker, payload);
    stalled = new Promise((resolve) => (release = resolve));
    const second = device(broker);
    deliveries.track(second.client);
    second.send(connect('sub', { clean: false }));
    await second.until(1, 'connack');
    const state = second.client as unknown as { connackSent: boolean; connected: boolean };
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect([state.connackSent, state.connected]).toEqual([true, false]);
    const third = device(broker);
    deliveries.track(third.client);
    third.send(connect('sub', { clean: false }));
    await third.until(1, 'connack');
    const disconnects = await second.until(1, 'disconnect');
    expect(disconnects).toMatchObject([{ reasonCode: 0x8e }]);
    release();
    // Everything queued reaches the connection that took over; nothing more the one taken over.
    expect((await third.until(3, 'publish')).map((packet) => String((packet as mqttPacket.IPublishPacket).payload))).toEqual(['1', '2', '3']);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(second.received.filter((packet) => packet.cmd === 'disconnect')).toHaveLength(1);
  });

  it('announces each client it registers and unregisters on its fan-out, with the ClientID, under its broker id', async () => {
    broker = await Aedes.createBroker();
    const on = broker as unknown as { mq: { on(topic: string, listener: (packet: { topic: string; payload: Buffer }, done: () => void) => void): void } };
    const heard: string[] = [];
    for (const topic of [NEW_CLIENTS_TOPIC, GONE_CLIENTS_TOPIC]) on.mq.on(topic, (packet, done) => (heard.push(`${packet.topic} ${String(packet.payload)}`), done()));
    const { send, until } = device(broker);
    send(connect('s1'));
    await until(1, 'connack');
    const gone = once(broker, 'clientDisconnect');
    send({ cmd: 'disconnect' });
    await gone;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(heard).toEqual([`$SYS/${broker.id}/new/clients s1`, `$SYS/${broker.id}/disconnect/clients s1`]);
  });

  it('times a held MQTT 5 session in scheduleSessionExpiry, which leaveSessionExpiryToTheStore turns off', async () => {
    broker = await Aedes.createBroker();
    leaveSessionExpiryToTheStore(broker);
    const { send, until } = device(broker);
    send(connect('s1', { clean: false }));
    await until(1, 'connack');
    const gone = once(broker, 'clientDisconnect');
    send({ cmd: 'disconnect' });
    await gone;
    expect((broker as unknown as { expiringSessions: Map<string, unknown> }).expiringSessions.size).toBe(0);
  });

  it("gives aedes' own DISCONNECTs the Reason String of their code (an invalid Topic Alias: 0x94), and leaves a DISCONNECT with properties of its own as it is", async () => {
    broker = await Aedes.createBroker();
    const first = device(broker);
    explainDisconnects(first.client);
    first.send(connect('s1'));
    await first.until(1, 'connack');
    first.send({ cmd: 'publish', topic: 'mmc/t', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { topicAlias: 5 } });
    expect(await first.until(1, 'disconnect')).toMatchObject([{ reasonCode: 0x94, properties: { reasonString: 'topic alias invalid' } }]);
    const second = device(broker);
    explainDisconnects(second.client);
    second.send(connect('s2'));
    await second.until(1, 'connack');
    second.client.disconnect({ reasonCode: 0x8e, properties: { reasonString: 'its own' } });
    expect(await second.until(1, 'disconnect')).toMatchObject([{ reasonCode: 0x8e, properties: { reasonString: 'its own' } }]);
  });

  it('sends no DISCONNECT on close to a client still being resent its queue, which announceShutdown gives 0x8B', async () => {
    broker = await Aedes.createBroker();
    const { client, send, until } = device(broker);
    send(connect('s1'));
    await until(1, 'connack');
    await new Promise((resolve) => setImmediate(resolve));
    // As aedes holds it while the queue is resent after the CONNACK.
    (client as unknown as { connected: boolean }).connected = false;
    announceShutdown(client);
    expect(await until(1, 'disconnect')).toMatchObject([{ reasonCode: 0x8b, properties: { reasonString: 'server shutting down' } }]);
  });

  it('closes a client still being resent its queue without a DISCONNECT on a packet over the limit, which disconnectOversizedFromConnack gives 0x95', async () => {
    const oversized = async (answered: boolean) => {
      broker = await Aedes.createBroker({ maximumPacketSize: 64 });
      if (answered) disconnectOversizedFromConnack(broker);
      const { client, send, until } = device(broker);
      send(connect('s1'));
      await until(1, 'connack');
      await new Promise((resolve) => setImmediate(resolve));
      // As aedes holds it while the queue is resent after the CONNACK.
      (client as unknown as { connected: boolean }).connected = false;
      (client as unknown as { rejectPacketTooLarge(size: number): void }).rejectPacketTooLarge(65);
      const disconnects = await until(1, 'disconnect');
      await new Promise((resolve) => setImmediate(resolve));
      expect(client.closed).toBe(true);
      await new Promise<void>((resolve) => broker!.close(() => resolve()));
      return disconnects;
    };
    expect(await oversized(false)).toEqual([]);
    expect(await oversized(true)).toMatchObject([{ reasonCode: 0x95 }]);
  });
});
