// How aedes' fan-out between instances (mqemitter-redis) puts a message on Redis pub/sub and reads it
// back. mqemitter-redis 7.2 sends each as msgpack-lite ({ id, msg }) and keeps each id it has seen in an
// LRU cache, to deliver once a message that reached it through two subscriptions (a channel and a
// pattern that both match); every instance, the publishing one included, decodes each message. Under QoS 1
// traffic that was about a tenth of an instance's CPU, and most of its garbage: msgpack-lite allocates
// a fresh buffer for each message. The same envelope goes here in msgpackr (about six times cheaper both
// ways), and the ids seen are kept in a Set of the last few thousand (the copies of one message arrive
// one after another: Redis delivers a PUBLISH to every matching subscription of a connection at once).
// Keys set to undefined are left out: msgpack-lite turns one into null (which mqtt-packet cannot write:
// aedes strips a PUBLISH's Topic Alias by setting it undefined, L17), msgpackr into an extension that
// msgpack-lite reads as an object (a PUBLISH's packet identifier then, which mqtt-packet refuses).
// Without them the envelope is plain MessagePack, which an instance still on mqemitter-redis's own
// codec reads as it reads its own, and the other way round (a namespace's instances being upgraded one
// at a time); a message that does not decode at all is dropped. This is the
// only module that touches mqemitter-redis beyond its API (its `_emit`, MQEmitter's local delivery,
// and the listeners it puts on the subscriber connection; shared-namespace.test.ts checks their shape).
import type { Redis } from 'ioredis';
import type MQEmitterRedis from 'mqemitter-redis';
import { Packr, Unpackr } from 'msgpackr';
import type { WritesInFlight } from './writes-in-flight.ts';

type FanOut = ReturnType<typeof MQEmitterRedis>;
type Message = Parameters<FanOut['emit']>[0] & { cmd?: string };

/** What of mqemitter-redis is used here beyond its API. */
interface FanOutInternals {
  /** MQEmitter's own emit: delivers a message to this instance's listeners of its topic. */
  _emit(message: Message): void;
}

/** How long a close waits for Redis to answer what was sent, and its QUIT, before it drops the connections. */
const CLOSE_WAIT_MS = 2000;

/** The ids kept to tell a message's second copy: far more than a PUBLISH's copies can be apart. */
const IDS_KEPT = 4096;

const packr = new Packr({ useRecords: false });

/** The object without its keys whose value is undefined (the object itself when it has none). */
function defined<T extends object>(object: T): T {
  const values = object as Record<string, unknown>;
  const keys = Object.keys(object);
  if (keys.every((key) => values[key] !== undefined)) return object;
  const copy: Record<string, unknown> = {};
  for (const key of keys) if (values[key] !== undefined) copy[key] = values[key];
  return copy as T;
}

/** A message as it fans out: without the keys aedes left undefined, its properties' too. */
function withoutUndefined(message: Message): Message {
  const { properties } = message as { properties?: object };
  const kept = properties && defined(properties);
  return defined(kept === properties ? message : { ...message, properties: kept });
}
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

/**
 * The fan-out `mq` sends its messages on `publish` (as mqemitter-redis, through the connection's
 * `publish`) and reads them from `subscribe` in msgpackr. aedes' messages (a `cmd`: PUBLISHes) are sent
 * without waiting: aedes goes on at once, and each is added to `unawaited` (a QoS 1 message's PUBACK
 * waits until it is written). The instances' own notices (takeover asks and answers, client changes: no
 * `cmd`) are answered once written, their failures their senders'. `instance` makes ids unique across
 * the namespace.
 */
export function fanOutInMsgpackr(mq: FanOut, publish: Redis, subscribe: Redis, instance: string, unawaited: WritesInFlight): void {
  const internals = mq as unknown as FanOutInternals;
  let sent = 0;
  // aedes closes the fan-out as it stops, once it has closed its connections (each announcing its end on
  // the fan-out, unawaited): it quits Redis once what was sent is written, and sends nothing after that
  // (the listeners' close of what is left would announce more), so that no write is cut off. A Redis
  // that is gone answers neither the writes nor the QUIT (mqemitter-redis waits for both connections to
  // end, and they go on reconnecting): past CLOSE_WAIT_MS they are dropped, so that a stop ends. A
  // further close waits for the first one's end: one QUIT, one bound.
  let closing: Promise<void> | undefined;
  const close = mq.close.bind(mq);
  mq.close = ((done: () => void) => {
    closing ??= new Promise<void>((closed) => {
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        clearTimeout(dropped);
        closed();
      };
      const dropped = setTimeout(() => {
        publish.disconnect();
        subscribe.disconnect();
        finish();
      }, CLOSE_WAIT_MS);
      void unawaited.written().catch(() => {}).then(() => finished || close(finish));
    });
    void closing.then(() => done?.());
    return mq;
  }) as FanOut['close'];
  mq.emit = ((message: Message, done?: (error?: Error) => void) => {
    if (closing) return done?.(new Error('the fan-out is closed'));
    sent += 1;
    const written = publish.publish(message.topic, packr.pack({ id: `${instance}:${sent}`, msg: withoutUndefined(message) }));
    if (message.cmd === 'publish') {
      unawaited.add(written);
      return done?.();
    }
    written.then(
      () => done?.(),
      (error: Error) => done?.(error),
    );
  }) as FanOut['emit'];

  const seen = new Set<string>();
  const deliver = (bytes: Buffer) => {
    let envelope: { id?: unknown; msg?: Message };
    try {
      envelope = unpackr.unpack(bytes) as typeof envelope;
    } catch {
      return;
    }
    const { id, msg } = envelope;
    if (typeof id !== 'string' || !msg || seen.has(id)) return;
    seen.add(id);
    if (seen.size > IDS_KEPT) seen.delete(seen.values().next().value!);
    internals._emit(msg);
  };
  // mqemitter-redis's own readers (msgpack-lite) give way to this one.
  subscribe.removeAllListeners('messageBuffer');
  subscribe.removeAllListeners('pmessageBuffer');
  subscribe.on('messageBuffer', (_channel: Buffer, bytes: Buffer) => deliver(bytes));
  subscribe.on('pmessageBuffer', (_pattern: Buffer, _channel: Buffer, bytes: Buffer) => deliver(bytes));
}
