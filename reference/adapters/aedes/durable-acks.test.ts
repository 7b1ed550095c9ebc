// The PUBACK of a QoS 1 PUBLISH held until its message is stored, on a client as aedes makes it (its
// parser's 'packet' events, its connection's stream): what aedes writes goes out only once the
// `published` hook has run and the store says it is written; a store that fails, or has not written the
// message in LONGEST_HOLD_MS, ends the connection without it.
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { Aedes, Client, PublishPacket } from 'aedes';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DurableAcks } from './durable-acks.ts';

/** A client as far as DurableAcks and aedes' writes see one, and the packets that left it. */
function client() {
  const conn = new PassThrough();
  const out: mqttPacket.Packet[] = [];
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  parser.on('packet', (packet) => out.push(packet));
  conn.on('data', (bytes: Buffer) => parser.parse(bytes));
  const fake = { conn, version: 5, _parser: new EventEmitter(), _keepaliveInterval: 0 } as unknown as Client;
  /** A QoS 1 PUBLISH read, then its PUBACK written, as aedes does before it publishes the message. */
  const publish = (messageId: number) => {
    (fake as unknown as { _parser: EventEmitter })._parser.emit('packet', { cmd: 'publish', qos: 1, messageId, topic: 't', payload: Buffer.alloc(0) });
    mqttPacket.writeToStream({ cmd: 'puback', messageId, reasonCode: 0 }, conn, { protocolVersion: 5 });
  };
  const acked = () => out.filter((packet) => packet.cmd === 'puback').map((packet) => packet.messageId);
  return { fake, conn, publish, acked };
}

/** A store whose writes are answered when the test says. */
function store() {
  const answers: { resolve(): void; reject(error: Error): void }[] = [];
  const written = () => new Promise<void>((resolve, reject) => answers.push({ resolve, reject }));
  return { written, answers };
}

const turns = async () => {
  for (let turn = 0; turn < 3; turn += 1) await new Promise((resolve) => setImmediate(resolve));
};

const published = (acks: DurableAcks, client: Client, messageId: number) =>
  acks.published({ cmd: 'publish', qos: 1, messageId, topic: 't', payload: Buffer.alloc(0), dup: false, retain: false, brokerId: 'b', brokerCounter: messageId }, client, () => {});

describe('DurableAcks', () => {
  afterEach(() => vi.useRealTimers());

  it("sends a PUBACK once its message is published and the store has written what was sent it, the messages of one turn on one answer, in the PUBLISHes' order", async () => {
    const { written, answers } = store();
    const acks = new DurableAcks(written);
    const one = client();
    acks.track(one.fake);
    for (const messageId of [1, 2, 3]) one.publish(messageId);
    await turns();
    expect(one.acked()).toEqual([]);
    published(acks, one.fake, 1);
    published(acks, one.fake, 2);
    await turns();
    // One question to the store for the turn's two messages; the third is not published yet.
    expect(answers).toHaveLength(1);
    expect(one.acked()).toEqual([]);
    answers[0]!.resolve();
    await turns();
    expect(one.acked()).toEqual([1, 2]);
    published(acks, one.fake, 3);
    await turns();
    answers[1]!.resolve();
    await turns();
    expect(one.acked()).toEqual([1, 2, 3]);
  });

  it('ends the connection without the PUBACK when the store could not write', async () => {
    const { written, answers } = store();
    const acks = new DurableAcks(written);
    const one = client();
    acks.track(one.fake);
    one.publish(9);
    published(acks, one.fake, 9);
    await turns();
    answers[0]!.reject(new Error('no Redis'));
    await turns();
    expect(one.conn.destroyed).toBe(true);
    expect(one.acked()).toEqual([]);
  });

  it('ends the connection without the PUBACK when the store has not written its message in 10 s, counted from its PUBLISH', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const acks = new DurableAcks(() => new Promise<void>(() => {}));
    const one = client();
    acks.track(one.fake);
    vi.advanceTimersByTime(4_000);
    one.publish(1);
    published(acks, one.fake, 1);
    await vi.advanceTimersByTimeAsync(9_900);
    expect(one.conn.destroyed).toBe(false);
    await vi.advanceTimersByTimeAsync(200);
    expect(one.conn.destroyed).toBe(true);
    expect(one.acked()).toEqual([]);
  });

  it("releases a PUBACK only for its own hold: the store's late answer for an identifier's first message does not release the PUBACK of its next", async () => {
    const { written, answers } = store();
    const acks = new DurableAcks(written);
    const one = client();
    acks.track(one.fake);
    one.publish(5);
    published(acks, one.fake, 5);
    await turns();
    // The connection ends before the first answer: its hold goes with it, and a new hold of 5 (as after
    // a PUBACK the client took as its own) must wait for its own message.
    one.conn.emit('close');
    await turns();
    one.publish(5);
    answers[0]!.resolve();
    await turns();
    expect(one.acked()).toEqual([5]);
    published(acks, one.fake, 5);
    await turns();
    expect(one.acked()).toEqual([5]);
    answers[1]!.resolve();
    await turns();
    expect(one.acked()).toEqual([5, 5]);
  });

  it("lets go the PUBACK of a PUBLISH aedes' authorizePublish refuses (0x87: no message to store), and still holds one it authorizes", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const acks = new DurableAcks(() => new Promise<void>(() => {}));
    // aedes' own check: $SYS topics are the broker's.
    type Authorize = Aedes['authorizePublish'];
    const broker: { authorizePublish: Authorize } = {
      authorizePublish: (_client, packet, callback) => callback(packet.topic.startsWith('$SYS/') ? new Error('$SYS is reserved') : null),
    };
    acks.attach(broker);
    const one = client();
    acks.track(one.fake);
    /** As aedes 2.0.0-beta.1 answers an MQTT 5 QoS 1 PUBLISH: read, authorized, then its PUBACK written (0x87 when refused). */
    const publishTo = (topic: string, messageId: number) => {
      const packet = { cmd: 'publish', qos: 1, messageId, topic, payload: Buffer.alloc(0), dup: false, retain: false } as const;
      (one.fake as unknown as { _parser: EventEmitter })._parser.emit('packet', packet);
      broker.authorizePublish(one.fake, packet as unknown as PublishPacket, (error) =>
        mqttPacket.writeToStream({ cmd: 'puback', messageId, reasonCode: error ? 0x87 : 0 }, one.conn, { protocolVersion: 5 }),
      );
    };
    publishTo('$SYS/x', 1);
    await vi.advanceTimersByTimeAsync(10);
    expect(one.acked()).toEqual([1]);
    // Nothing of it is left held: the connection outlives the longest hold.
    await vi.advanceTimersByTimeAsync(10_100);
    expect(one.conn.destroyed).toBe(false);
    publishTo('mmc/x', 2);
    await vi.advanceTimersByTimeAsync(10);
    expect(one.acked()).toEqual([1]);
  });
});
