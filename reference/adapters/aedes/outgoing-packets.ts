// aedes builds some packets without what the namespace says they must carry: CONNACK Session Present
// (aedes derives it from restored subscriptions; a session can exist with none), CONNACK properties it
// does not know (Maximum QoS, L9), and SUBACK codes for filters the packet gate refused before aedes saw
// them. aedes writes every packet with mqtt-packet's writeToStream straight onto the connection's
// stream, with no hook between building a packet and writing it, so the amendment is made on the
// stream of one connection: its writes are framed into packets as they pass, and only a packet an
// amendment is waiting for is held until it is whole, decoded, amended and written again with
// mqtt-packet's generator. Every other byte passes as it was written, and nothing outside this
// connection changes (mqtt-packet is never touched).
//
// The framing also keeps a connection taken over silent: once another connection took its session
// over, nothing goes out but the DISCONNECT, and nothing after it [MQTT-3.14.4-1] (aedes may still be
// delivering to it while it disconnects it).
//
// A PUBACK can also be held until something settles (durable-acks.ts: until its message is stored),
// found by the packet identifier read from its bytes, and sent as it was written; every byte written
// after it then waits behind it, in order.
//
// While no amendment awaits a packet, no PUBACK is held and the connection is not being closed, bytes
// pass unframed (the hot path of every PUBLISH; a QoS 1 publisher's stream on Redis is framed). Every writer (mqtt-packet's writeToStream, a refusal's bytes) writes whole
// packets within one turn, so framing can start again at the next packet's first byte.
import type { Writable } from 'node:stream';
import mqttPacket from 'mqtt-packet';

/** Amends a packet on its way out; true when it was the one awaited (the amendment is then spent). Every amendment awaiting a packet's type sees it. */
export type Amendment = (packet: mqttPacket.Packet) => boolean;

/** An amendment awaiting a packet: it is decoded, amended and generated again. */
type Pending = { cmd: mqttPacket.Packet['cmd']; version: 4 | 5; amend: Amendment };

type WriteCallback = (error?: Error | null) => void;

/** The MQTT packet type of each fixed header's high nibble, for the types an amendment may await. */
const TYPES: Partial<Record<number, mqttPacket.Packet['cmd']>> = { 2: 'connack', 4: 'puback', 9: 'suback' };
const PUBACK = 4;
const DISCONNECT = 14;

const amenders = new WeakMap<Writable, OutgoingPackets>();

/** The packets going out on one connection's stream. */
export class OutgoingPackets {
  private readonly pending: Pending[] = [];
  private readonly stream: Writable;
  private readonly write: Writable['write'];
  /** Where the framing is: the next byte is a packet's first, its Remaining Length, or its body. */
  private state: 'type' | 'length' | 'body' = 'type';
  private remaining = 0;
  private multiplier = 1;
  /** What each held PUBACK waits for, by its packet identifier (looked up, not searched: a publisher may have many in flight). */
  private readonly holds = new Map<number, Promise<unknown>>();
  /** The packet being held (from its first byte), the amendments awaiting it, and the callbacks of the writes that made it. */
  private held?: { awaited: Pending[]; chunks: Buffer[]; callbacks: WriteCallback[] };
  /** Only a DISCONNECT may still go out ('closing'), or nothing at all ('over', once one has). */
  private ending: 'open' | 'closing' | 'over' = 'open';
  /** The packet being framed is not sent. */
  private dropping = false;
  /** While a released packet waits: it and every write after it, in order. */
  private blocked?: { bytes: Buffer; done: WriteCallback | undefined }[];
  /** The stream is corked until the next tick: the packets released in this turn go out in one write. */
  private corked = false;
  /** How many times the holds were dropped: a release under way when they were writes nothing. */
  private dropped = 0;

  /** The amender of this stream's packets, put on it the first time it is asked for. */
  static of(stream: Writable): OutgoingPackets {
    let amender = amenders.get(stream);
    if (!amender) amenders.set(stream, (amender = new OutgoingPackets(stream)));
    return amender;
  }

  private constructor(stream: Writable) {
    this.stream = stream;
    // Before the stream ends: what waits in the cork or behind a held PUBACK would be dropped.
    const [destroy, end] = [stream.destroy.bind(stream), stream.end.bind(stream)];
    stream.destroy = ((...args: Parameters<Writable['destroy']>) => {
      this.dropHolds();
      this.uncork();
      return destroy(...args);
    }) as Writable['destroy'];
    stream.end = ((...args: unknown[]) => {
      this.dropHolds();
      return (end as (...rest: unknown[]) => Writable)(...args);
    }) as Writable['end'];
    this.write = stream.write.bind(stream) as Writable['write'];
    stream.write = ((chunk: Buffer | string, encoding?: BufferEncoding | WriteCallback, callback?: WriteCallback) => {
      if (this.idle()) return this.write(chunk, encoding as BufferEncoding, callback);
      const done = typeof encoding === 'function' ? encoding : callback;
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8') : chunk;
      return this.pass(bytes, done);
    }) as Writable['write'];
  }

  /** The next `cmd` packet written over MQTT `version` for which `amend` returns true goes out as amended. */
  amendNext(cmd: Pending['cmd'], version: 4 | 5, amend: Amendment): void {
    this.frameFromHere();
    this.pending.push({ cmd, version, amend });
  }

  /**
   * The next PUBACK of `packetId` goes out when `until` settles, as it was written, and every byte
   * written after it waits behind it. Its identifier is read from its bytes (no decoding: this is on
   * the path of every QoS 1 PUBLISH a publisher sends, durable-acks.ts).
   */
  holdPuback(packetId: number, until: Promise<unknown>): void {
    this.frameFromHere();
    this.holds.set(packetId, until);
  }

  /** Another connection took this one's session over: from now on, only a DISCONNECT goes out, and nothing after it. */
  closing(): void {
    this.frameFromHere();
    if (this.ending === 'open') this.ending = 'closing';
    this.dropHolds();
  }

  /**
   * The connection is ending (taken over, ended, destroyed): no held PUBACK will go out (its message may
   * not be stored: not acknowledging it is what makes the client send it again), and what waited behind
   * one goes now, as on a connection taken over: its DISCONNECT only. Written after the stream's end, the
   * DISCONNECT was lost.
   */
  private dropHolds(): void {
    this.holds.clear();
    const backlog = this.blocked;
    if (!backlog) return;
    this.blocked = undefined;
    this.dropped += 1;
    if (this.ending === 'open') this.ending = 'closing';
    const rest = joined(backlog);
    if (rest.bytes.length || rest.done) this.pass(rest.bytes, rest.done);
  }

  /** Nothing to amend, hold or drop: the bytes pass as written, unframed. */
  private idle(): boolean {
    return this.pending.length === 0 && this.holds.size === 0 && this.ending === 'open' && this.held === undefined && this.blocked === undefined;
  }

  /** Framing starts again (between turns: at a packet's first byte). */
  private frameFromHere(): void {
    if (!this.idle()) return;
    this.state = 'type';
    this.remaining = 0;
    this.multiplier = 1;
    this.dropping = false;
  }

  /** Frames the bytes: passes what no amendment awaits at once, holds what one does until it is whole, drops what may no longer go out. */
  private pass(bytes: Buffer, done: WriteCallback | undefined): boolean {
    if (this.blocked) {
      this.blocked.push({ bytes, done });
      return true;
    }
    // What is written of `bytes` so far goes out up to `at` whenever framing must part it (no closure
    // for that: this runs for each write of every packet a framed connection is sent).
    let result = true;
    let from = 0;
    let at = 0;
    while (at < bytes.length) {
      if (this.state === 'type') {
        const type = bytes[at]! >> 4;
        const dropping = this.ending === 'over' || (this.ending === 'closing' && type !== DISCONNECT);
        if (dropping !== this.dropping && at > from) {
          result = this.write(bytes.subarray(from, at));
          from = at;
        }
        this.dropping = dropping;
        if (type === DISCONNECT && this.ending === 'closing') this.ending = 'over';
        const cmd = TYPES[type];
        const awaited = cmd && !dropping && this.pending.length ? this.pending.filter((pending) => pending.cmd === cmd) : [];
        if (awaited.length || (type === PUBACK && !dropping && this.holds.size)) {
          if (at > from) result = this.write(bytes.subarray(from, at));
          from = at;
          this.held = { awaited, chunks: [], callbacks: [] };
        }
        this.state = 'length';
        this.remaining = 0;
        this.multiplier = 1;
        at += 1;
      } else if (this.state === 'length') {
        const byte = bytes[at]!;
        this.remaining += (byte & 0x7f) * this.multiplier;
        this.multiplier *= 128;
        at += 1;
        if (byte < 0x80) this.state = this.remaining ? 'body' : 'type';
      } else {
        const taken = Math.min(this.remaining, bytes.length - at);
        this.remaining -= taken;
        at += taken;
        if (this.remaining === 0) this.state = 'type';
      }
      // What is dropped is skipped over.
      if (this.dropping) from = at;
      if (this.held && this.state === 'type') {
        // The held packet is whole: amend it and write it in its place.
        this.held.chunks.push(bytes.subarray(from, at));
        from = at;
        result = this.release(this.held);
        this.held = undefined;
        const blocked = this.blocked as OutgoingPackets['blocked'];
        if (blocked) {
          // What follows the packet that waits waits behind it.
          blocked.push({ bytes: bytes.subarray(at), done });
          return true;
        }
      }
    }
    if (this.held) {
      this.held.chunks.push(bytes.subarray(from));
      if (done) this.held.callbacks.push(done);
      return true;
    }
    if (from < bytes.length) result = this.write(bytes.subarray(from), done as WriteCallback);
    else if (done) {
      if (this.ending === 'open') result = this.write(Buffer.alloc(0), done);
      else process.nextTick(done);
    }
    return result;
  }

  /** Writes a held packet: as its amendments leave it, or as it was when none took it; once what holds it settles. */
  private release(held: NonNullable<OutgoingPackets['held']>): boolean {
    const bytes = held.chunks.length === 1 ? held.chunks[0]! : Buffer.concat(held.chunks);
    const callbacks = held.callbacks;
    const done = callbacks.length === 0 ? undefined : (error?: Error | null) => callbacks.forEach((callback) => callback(error));
    let out = bytes;
    const amendments = held.awaited;
    if (amendments.length) {
      const packet = decode(bytes, amendments[0]!.version);
      const taken = packet ? amendments.filter((pending) => pending.amend(packet)) : [];
      for (const pending of taken) this.pending.splice(this.pending.indexOf(pending), 1);
      if (taken.length) out = mqttPacket.generate(packet!, { protocolVersion: taken[0]!.version });
    }
    const packetId = bytes[0]! >> 4 === PUBACK && this.holds.size ? packetIdentifier(bytes) : undefined;
    const wait = packetId === undefined ? undefined : this.holds.get(packetId);
    if (!wait) return this.write(out, done as WriteCallback);
    this.holds.delete(packetId!);
    this.blocked = [];
    const dropped = this.dropped;
    const go = () => {
      if (dropped !== this.dropped) {
        // The holds were dropped meanwhile (the connection is ending): this one goes nowhere.
        if (done) process.nextTick(done);
        return;
      }
      const backlog = this.blocked!;
      this.blocked = undefined;
      this.corkForThisTurn();
      this.write(out, done);
      // Framed again, in as few pieces as keep each write's callback its own: a packet in one may be held
      // in its turn, and the rest then waits behind it as it is. (Passed again one write at a time, each
      // release moved every write behind it into the next backlog: a publisher's PUBACKs in flight, each
      // written in three or four pieces, cost thousands of moves a batch.)
      const pieces = byCallback(backlog);
      for (let index = 0; index < pieces.length; index += 1) {
        const blocked = this.blocked as OutgoingPackets['blocked'];
        if (blocked) {
          for (let rest = index; rest < pieces.length; rest += 1) blocked.push(pieces[rest]!);
          return;
        }
        this.pass(pieces[index]!.bytes, pieces[index]!.done);
      }
    };
    void wait.then(go, go);
    return true;
  }

  /**
   * Held packets released together (a publisher's PUBACKs whose messages were stored in one write) go
   * out in one write to the socket, not one each: the stream is corked until the microtasks of this turn,
   * which release them one after another, are done.
   */
  private corkForThisTurn(): void {
    if (this.corked) return;
    this.corked = true;
    this.stream.cork();
    process.nextTick(this.uncork);
  }

  /** What waits in the corked stream goes out (also before the stream is destroyed, which would drop it). */
  private readonly uncork = (): void => {
    if (!this.corked) return;
    this.corked = false;
    this.stream.uncork();
  };
}

/** Writes waiting in a backlog, as one: their bytes, and a callback that calls each of theirs. */
function joined(writes: { bytes: Buffer; done: WriteCallback | undefined }[]): { bytes: Buffer; done: WriteCallback | undefined } {
  const callbacks = writes.flatMap((write) => (write.done ? [write.done] : []));
  const bytes = writes.length === 1 ? writes[0]!.bytes : Buffer.concat(writes.map((write) => write.bytes));
  return { bytes, done: callbacks.length < 2 ? callbacks[0] : (error) => callbacks.forEach((callback) => callback(error)) };
}

/** A write at least this long is not copied into a joined piece (what waits behind a held PUBACK may be copied again at each release). */
const JOINED_AT_MOST = 16 * 1024;

/**
 * Writes waiting in a backlog, joined up to each one that has a callback: that callback is then called
 * once the last of the bytes it stands for is out, as before. Most have none (mqtt-packet writes a
 * packet in several pieces without one), and a backlog is then one piece; a long write (a large
 * message delivered on the connection) is a piece of its own.
 */
function byCallback(writes: { bytes: Buffer; done: WriteCallback | undefined }[]): { bytes: Buffer; done: WriteCallback | undefined }[] {
  const pieces: { bytes: Buffer; done: WriteCallback | undefined }[] = [];
  let from = 0;
  for (let index = 0; index < writes.length; index += 1) {
    const long = writes[index]!.bytes.length >= JOINED_AT_MOST;
    if (long && index > from) pieces.push(joined(writes.slice(from, index)));
    if (long || writes[index]!.done || index === writes.length - 1) {
      pieces.push(joined(writes.slice(long ? index : from, index + 1)));
      from = index + 1;
    }
  }
  return pieces;
}

/** The packet identifier just after a packet's fixed header (its type byte, then its Remaining Length). */
function packetIdentifier(bytes: Buffer): number | undefined {
  let at = 1;
  while (at < bytes.length && bytes[at]! >= 0x80) at += 1;
  at += 1;
  return at + 2 <= bytes.length ? bytes.readUInt16BE(at) : undefined;
}

/** One whole packet's bytes as mqtt-packet reads them (its parser emits synchronously). */
function decode(bytes: Buffer, protocolVersion: 4 | 5): mqttPacket.Packet | undefined {
  let packet: mqttPacket.Packet | undefined;
  const parser = mqttPacket.parser({ protocolVersion });
  parser.on('packet', (decoded) => (packet = decoded));
  parser.on('error', () => {});
  parser.parse(bytes);
  return packet;
}
