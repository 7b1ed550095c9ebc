// MQTT 5 flow control that a client asks for in its CONNECT (L16), which aedes stores and does not
// keep: its Maximum Packet Size (no packet larger than it is sent [MQTT-3.1.2-24]; a PUBLISH too large
// is discarded as if it had been delivered [MQTT-3.1.2-25], a Reason String or User Properties that
// would make another packet too large are left out [MQTT-3.1.2-25 and each packet's]) and its Receive
// Maximum (no more QoS 1 PUBLISHes awaiting their PUBACK than it allows [MQTT-3.3.4-9]; the others wait,
// in order, and go as PUBACKs come). aedes writes every packet straight onto the connection's stream,
// whether it delivers a message at once or resends a resumed session's queue, so this holds to both on
// that stream, as outgoing-packets.ts does: the writes are framed into packets as they pass, and only a
// QoS 1 PUBLISH, or a packet too large, is held until it is whole. A message waiting for the window is
// already in aedes' persistence as sent and not acknowledged, so that a connection that ends before it
// goes loses nothing aedes would not resend. What may be sent is Behaviour's (fitsClient,
// inFlightWindow); one mechanism per connection, nothing else in aedes changes.
import type { Writable } from 'node:stream';
import type { Client, ConnectPacket } from 'aedes';
import mqttPacket from 'mqtt-packet';
import type { LimitPieces } from '../../policy/behaviour.ts';
import { forgetOutgoing, takeIncoming } from './aedes-internals.ts';

/** MQTT 5's Receive Maximum when a CONNECT gives none: every packet identifier may be in flight. */
const RECEIVE_MAXIMUM_DEFAULT = 65_535;
const PUBLISH = 3;

type WriteCallback = (error?: Error | null) => void;

export interface ClientFlowOptions {
  behaviour: Pick<LimitPieces, 'fitsClient' | 'inFlightWindow'>;
  log: (line: string) => void;
}

/** The packet being framed: its fixed header, and its bytes when it is held until whole. */
interface Framing {
  header: number[];
  remaining: number;
  multiplier: number;
  state: 'length' | 'body';
  held?: Buffer[];
}

/** One connection's outgoing packets, held to the flow control its MQTT 5 CONNECT asked for. */
export class ClientFlowControl {
  private readonly write: Writable['write'];
  private framing?: Framing;
  /** Packet identifiers of QoS 1 PUBLISHes sent and not yet acknowledged. */
  private readonly inFlight = new Set<number>();
  /** QoS 1 PUBLISHes waiting for the window, in order. */
  private readonly waiting: { messageId: number; bytes: Buffer }[] = [];
  /** The window opened while a packet was going out: the waiting ones follow it. */
  private releaseDue = false;

  /** Holds the client's outgoing packets to what its accepted MQTT 5 CONNECT asked for; a 3.1.1 CONNECT asks nothing. */
  static accepted(client: Client, packet: ConnectPacket, options: ClientFlowOptions): void {
    if (packet.protocolVersion !== 5) return;
    const maximumPacketSize = packet.properties?.maximumPacketSize;
    const window = options.behaviour.inFlightWindow(packet.properties?.receiveMaximum ?? RECEIVE_MAXIMUM_DEFAULT);
    // aedes never has more QoS 1 messages in flight than there are packet identifiers.
    if (maximumPacketSize === undefined && window >= RECEIVE_MAXIMUM_DEFAULT) return;
    new ClientFlowControl(client, maximumPacketSize, window, options);
  }

  private constructor(
    private readonly client: Client,
    private readonly maximumPacketSize: number | undefined,
    private readonly window: number,
    private readonly options: ClientFlowOptions,
  ) {
    const stream = client.conn as unknown as Writable;
    this.write = stream.write.bind(stream) as Writable['write'];
    stream.write = ((chunk: Buffer | string, encoding?: BufferEncoding | WriteCallback, callback?: WriteCallback) => {
      const done = typeof encoding === 'function' ? encoding : callback;
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8') : chunk;
      return this.pass(bytes, done);
    }) as Writable['write'];
    // A PUBACK frees a place in the window, as do a PUBCOMP and a refusing PUBREC (QoS 2, which only a
    // mutant of L9 serves) [MQTT-3.3.4-9]; aedes handles each as before.
    takeIncoming(client, (incoming) => {
      const { cmd, messageId, reasonCode } = incoming as { cmd?: string; messageId?: number; reasonCode?: number };
      if (messageId !== undefined && (cmd === 'puback' || cmd === 'pubcomp' || (cmd === 'pubrec' && (reasonCode ?? 0) >= 0x80))) this.acknowledged(messageId);
      return false;
    });
  }

  /** Frames the bytes: passes what may go as it comes, holds a packet that needs a decision until it is whole. */
  private pass(bytes: Buffer, done: WriteCallback | undefined): boolean {
    const out: Buffer[] = [];
    let at = 0;
    while (at < bytes.length) {
      const framing = this.framing;
      if (!framing) {
        this.framing = { header: [bytes[at++]!], remaining: 0, multiplier: 1, state: 'length' };
      } else if (framing.state === 'length') {
        const byte = bytes[at++]!;
        framing.header.push(byte);
        framing.remaining += (byte & 0x7f) * framing.multiplier;
        framing.multiplier *= 128;
        if (byte < 0x80) {
          const header = Buffer.from(framing.header);
          if (this.mustHold(framing.header[0]!, header.length + framing.remaining)) framing.held = [header];
          else out.push(header);
          framing.state = 'body';
        }
      } else {
        const taken = bytes.subarray(at, at + framing.remaining);
        at += taken.length;
        framing.remaining -= taken.length;
        if (framing.held) framing.held.push(taken);
        else out.push(taken);
      }
      if (this.framing?.state === 'body' && this.framing.remaining === 0) {
        const { held } = this.framing;
        this.framing = undefined;
        if (held) out.push(...this.whole(Buffer.concat(held)));
        if (this.releaseDue) out.push(...this.release());
      }
    }
    if (!out.length) {
      if (done) process.nextTick(done);
      return true;
    }
    return this.write(out.length === 1 ? out[0]! : Buffer.concat(out), done as WriteCallback);
  }

  /** A QoS 1 PUBLISH (its identifier and the window), or any packet past the client's maximum, is decided whole. */
  private mustHold(firstByte: number, size: number): boolean {
    const qos = (firstByte >> 1) & 3;
    return (firstByte >> 4 === PUBLISH && qos > 0) || !this.options.behaviour.fitsClient(size, this.maximumPacketSize);
  }

  /** What goes out now of a whole held packet: it, a smaller form of it, or nothing (discarded, or waiting for the window). */
  private whole(bytes: Buffer): Buffer[] {
    const type = bytes[0]! >> 4;
    const fits = this.options.behaviour.fitsClient(bytes.length, this.maximumPacketSize);
    if (type !== PUBLISH) return [fits ? bytes : this.withoutDiagnostics(bytes)];
    const messageId = (bytes[0]! >> 1) & 3 ? publishMessageId(bytes) : undefined;
    if (!fits) {
      this.options.log(`session "${this.client.id}": a PUBLISH of ${bytes.length} bytes is larger than the client's Maximum Packet Size of ${this.maximumPacketSize}; discarded as if delivered [L16]`);
      if (messageId !== undefined) void forgetOutgoing(this.client, messageId).catch(() => {});
      return [];
    }
    if (messageId === undefined) return [bytes];
    if (this.waiting.length || this.inFlight.size >= this.window) {
      this.waiting.push({ messageId, bytes });
      return [];
    }
    this.inFlight.add(messageId);
    return [bytes];
  }

  /** A packet other than PUBLISH, too large for the client with its Reason String and User Properties, goes without them. */
  private withoutDiagnostics(bytes: Buffer): Buffer {
    const packet = decode(bytes);
    const properties = packet && (packet as { properties?: Record<string, unknown> }).properties;
    if (!properties) return bytes;
    delete properties.reasonString;
    delete properties.userProperties;
    return mqttPacket.generate(packet, { protocolVersion: 5 });
  }

  /** A PUBACK came: the next waiting PUBLISHes go, as far as the window allows (after the packet going out, if one is). */
  private acknowledged(messageId: number): void {
    if (!this.inFlight.delete(messageId)) return;
    if (this.framing) {
      this.releaseDue = true;
      return;
    }
    const released = this.release();
    if (released.length && !(this.client.conn as unknown as Writable).destroyed) this.write(Buffer.concat(released));
  }

  private release(): Buffer[] {
    this.releaseDue = false;
    const released: Buffer[] = [];
    while (this.waiting.length && this.inFlight.size < this.window) {
      const next = this.waiting.shift()!;
      this.inFlight.add(next.messageId);
      released.push(next.bytes);
    }
    return released;
  }
}

/** The packet identifier of a whole QoS 1 or 2 PUBLISH: after the fixed header and the topic. */
function publishMessageId(bytes: Buffer): number {
  let at = 1;
  while (bytes[at]! & 0x80) at += 1;
  at += 1;
  const topicLength = bytes.readUInt16BE(at);
  return bytes.readUInt16BE(at + 2 + topicLength);
}

function decode(bytes: Buffer): mqttPacket.Packet | undefined {
  let packet: mqttPacket.Packet | undefined;
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  parser.on('packet', (decoded) => (packet = decoded));
  parser.on('error', () => {});
  parser.parse(bytes);
  return packet;
}
