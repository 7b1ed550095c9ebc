// aedes' fan-out between instances in msgpackr: a message reaches the listeners of its topic at every
// instance once, whichever Redis subscriptions it came through, as aedes wrote it (a Buffer payload, a
// property left undefined, left out); aedes' messages are sent without waiting and their writes tracked, the
// instances' notices answered once written; a message that does not decode is dropped. And the shape of
// mqemitter-redis that fan-out-codec.ts relies on.
import { describe, expect, it, vi } from 'vitest';
import { Redis } from 'ioredis';
import MQEmitterRedis from 'mqemitter-redis';
import { fanOutsForTestFile, redisSkipNotice, REDIS_AVAILABLE, startRedis, type FanOut } from '../../../testkit/redis-server.ts';
import { fanOutInMsgpackr } from './fan-out-codec.ts';
import { WritesInFlight } from './writes-in-flight.ts';

redisSkipNotice('reference/adapters/redis/fan-out-codec.test.ts');

const redis = fanOutsForTestFile();

/** An instance's fan-out in msgpackr, with the writes it did not wait for. */
function instance(name: string) {
  // Auto-pipelined, as the reference's connections are: a PUBLISH then waits for the turn's end, and a QUIT does not.
  const { mq, pub, sub } = redis.fanOut({ enableAutoPipelining: true });
  const failures: Error[] = [];
  const unawaited = new WritesInFlight((error) => failures.push(error));
  fanOutInMsgpackr(mq, pub, sub, name, unawaited);
  return { mq, pub, unawaited, failures };
}

const subscribed = (mq: FanOut, topic: string, seen: unknown[]) => new Promise<void>((resolve) => mq.on(topic, (message, done) => (seen.push(message), done()), resolve));
const emitted = (mq: FanOut, message: object) => new Promise<void>((resolve, reject) => mq.emit(message as never, (error?: Error) => (error ? reject(error) : resolve())));

describe.skipIf(!REDIS_AVAILABLE)("aedes' fan-out in msgpackr", () => {
  it('delivers a message to the listeners of its topic at every instance once each, as it was written, though it came through a channel and a pattern', async () => {
    const [a, b] = [instance('a'), instance('b')];
    const [exact, pattern, atA] = [[], [], []] as unknown[][];
    await subscribed(b.mq, 'mmc/alpha/t', exact);
    await subscribed(b.mq, 'mmc/alpha/+', pattern);
    await subscribed(a.mq, 'mmc/#', atA);
    const message = { cmd: 'publish', topic: 'mmc/alpha/t', payload: Buffer.from([0, 1, 255]), qos: 1, retain: false, dup: false, brokerId: 'a', brokerCounter: 7, properties: { topicAlias: undefined, correlationData: Buffer.from('c') } };
    await emitted(a.mq, message);
    await vi.waitFor(() => expect([exact.length, pattern.length, atA.length]).toEqual([1, 1, 1]), { timeout: 2000 });
    // A second copy would have come right behind the first.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect([exact.length, pattern.length, atA.length]).toEqual([1, 1, 1]);
    const got = exact[0] as typeof message;
    // As written, but for the key left undefined (no Topic Alias null, which mqtt-packet cannot write).
    expect(got).toEqual({ ...message, properties: { correlationData: Buffer.from('c') } });
    expect(Buffer.isBuffer(got.payload)).toBe(true);
    expect('topicAlias' in got.properties).toBe(false);
  });

  it("answers aedes at once for its messages, and tracks their writes; answers an instance's notice once it is written", async () => {
    const a = instance('a');
    const seen: unknown[] = [];
    await subscribed(instance('b').mq, '$SYS/b/notice', seen);
    let answered = false;
    a.mq.emit({ cmd: 'publish', topic: 'mmc/x', payload: Buffer.alloc(0) } as never, () => (answered = true));
    expect(answered).toBe(true);
    await a.unawaited.written();
    expect(a.failures).toEqual([]);
    await emitted(a.mq, { topic: '$SYS/b/notice', payload: 'n' });
    await vi.waitFor(() => expect(seen).toMatchObject([{ topic: '$SYS/b/notice', payload: 'n' }]), { timeout: 2000 });
  });

  it("reads an instance's messages that still speaks mqemitter-redis's own codec, and is read by it (plain MessagePack both ways)", async () => {
    const [ours, theirs] = [instance('ours'), redis.fanOut()];
    const [atOurs, atTheirs] = [[], []] as unknown[][];
    await subscribed(ours.mq, 'mmc/mixed/+', atOurs);
    await subscribed(theirs.mq, 'mmc/mixed/+', atTheirs);
    const message = (from: string) => ({ cmd: 'publish', topic: `mmc/mixed/${from}`, payload: Buffer.from(from), qos: 1, retain: false, dup: false, messageId: undefined, brokerId: from, brokerCounter: 1 });
    await emitted(ours.mq, message('ours'));
    // An instance of before this codec left undefined keys out as well (msgpack-lite makes them null).
    const { messageId: _none, ...plain } = message('theirs');
    await emitted(theirs.mq, plain);
    await vi.waitFor(() => expect([atOurs.length, atTheirs.length]).toEqual([2, 2]), { timeout: 2000 });
    for (const seen of [atOurs, atTheirs]) {
      for (const got of seen as { topic: string; payload: Buffer; messageId?: unknown }[]) {
        expect(Buffer.isBuffer(got.payload) && got.payload.toString()).toBe(got.topic.split('/')[2]);
        // msgpack-lite would read msgpackr's undefined as an object, a packet identifier mqtt-packet refuses.
        expect(got.messageId).toBeUndefined();
      }
    }
  });

  it('closes once what it sent is written, and sends nothing after (aedes announces its connections\' ends as it stops)', async () => {
    const [a, b] = [instance('a'), instance('b')];
    const seen: unknown[] = [];
    await subscribed(b.mq, 'mmc/closing', seen);
    a.mq.emit({ cmd: 'publish', topic: 'mmc/closing', payload: Buffer.from('last') } as never, () => {});
    const closed = new Promise<void>((resolve) => a.mq.close(() => resolve()));
    let refused: Error | undefined;
    a.mq.emit({ cmd: 'publish', topic: 'mmc/closing', payload: Buffer.from('after') } as never, (error?: Error) => (refused = error));
    await closed;
    expect(refused?.message).toBe('the fan-out is closed');
    await vi.waitFor(() => expect(seen).toHaveLength(1), { timeout: 2000 });
    expect((seen[0] as { payload: Buffer }).payload.toString()).toBe('last');
    expect(a.failures).toEqual([]);
  });

  it("closes once when closed twice: the second close waits for the first one's end", async () => {
    const { mq, pub, sub } = redis.fanOut({ enableAutoPipelining: true });
    const ownClose = vi.spyOn(mq, 'close');
    fanOutInMsgpackr(mq, pub, sub, 'twice', new WritesInFlight(() => {}));
    const ends: string[] = [];
    const closed = (which: string) => new Promise<void>((resolve) => mq.close(() => (ends.push(which), resolve())));
    await Promise.all([closed('first'), closed('second')]);
    expect(ownClose).toHaveBeenCalledTimes(1);
    expect(ends).toEqual(['first', 'second']);
  });

  it('closes within a bound when Redis is gone (its connections would go on reconnecting)', async () => {
    const server = await startRedis();
    try {
      const [pub, sub] = [new Redis(server.url, { enableAutoPipelining: true }), new Redis(server.url)];
      const mq = MQEmitterRedis({ pubConn: pub, subConn: sub });
      // Its connections' errors (refused, reconnecting) are re-emitted here, as the reference takes them.
      (mq as unknown as { state: { on(event: 'error', listener: () => void): void } }).state.on('error', () => {});
      const unawaited = new WritesInFlight(() => {});
      fanOutInMsgpackr(mq, pub, sub, 'gone', unawaited);
      await subscribed(mq, 'mmc/gone', []);
      await server.kill();
      mq.emit({ cmd: 'publish', topic: 'mmc/gone', payload: Buffer.from('lost') } as never, () => {});
      const started = Date.now();
      await new Promise<void>((resolve) => mq.close(() => resolve()));
      expect(Date.now() - started).toBeLessThan(8000);
    } finally {
      await server.stop();
    }
  }, 20_000);

  it('drops a message on the channel that does not decode, and goes on', async () => {
    const b = instance('b');
    const seen: unknown[] = [];
    await subscribed(b.mq, 'mmc/y', seen);
    const raw = redis.connection();
    const channels = (await raw.pubsub('CHANNELS')) as string[];
    await raw.publish(channels.find((channel) => channel.endsWith('mmc/y')) ?? 'mmc/y', Buffer.from([0xc1]));
    await emitted(instance('a').mq, { cmd: 'publish', topic: 'mmc/y', payload: Buffer.from('ok') });
    await vi.waitFor(() => expect(seen).toHaveLength(1), { timeout: 2000 });
    expect((seen[0] as { payload: Buffer }).payload.toString()).toBe('ok');
  });

  it("relies on mqemitter-redis's shape: MQEmitter's emit kept as _emit, and its readers on the subscriber connection's Buffer events", () => {
    const { mq, pub, sub } = redis.fanOut({ lazyConnect: true });
    expect(typeof (mq as unknown as { _emit?: unknown })._emit).toBe('function');
    expect([sub.listenerCount('messageBuffer'), sub.listenerCount('pmessageBuffer')]).toEqual([1, 1]);
    fanOutInMsgpackr(mq, pub, sub, 'c', new WritesInFlight(() => {}));
    expect([sub.listenerCount('messageBuffer'), sub.listenerCount('pmessageBuffer')]).toEqual([1, 1]);
  });
});
