// What this project reads of mqtt-packet's parser beyond its documented API, fenced in one module:
// mqtt-packet-internals.test.ts fails when the parser no longer has the shape relied on here. Each
// change acts on one parser (one connection's), never on mqtt-packet for the whole process.
//
// Why: mqtt-packet decodes every string with Buffer#toString('utf8'), which replaces ill-formed
// sequences with U+FFFD, so a CONNECT's names must be read from its bytes (L5-L7); and it keeps only
// the last of a repeated property whose first value is 0, and decodes byte values to booleans, so a
// property section must be scanned as it is on the wire (M1).

/** mqtt-packet's Parser, the part read here. */
interface ParserInternals {
  packet: { cmd?: string; length: number };
  _pos: number;
  _list: { slice(start: number, end: number): Buffer };
  _parseConnect(): unknown;
  _parseProperties(): unknown;
}

/** The bytes of each CONNECT packet a parser that keeps them decoded, by the packet it emitted. */
const connectBytes = new WeakMap<object, Buffer>();

/** The variable header and payload of a CONNECT packet as they were sent, if its parser kept them. */
export const connectBytesOf = (packet: object): Buffer | undefined => connectBytes.get(packet);

/** Makes the parser keep a copy of the bytes of each CONNECT it parses (connectBytesOf reads it). */
export function keepConnectBytes(parser: object): void {
  const internals = parser as ParserInternals;
  const parseConnect = internals._parseConnect;
  internals._parseConnect = function (this: ParserInternals) {
    const bytes = Buffer.from(this._list.slice(this._pos, this._pos + this.packet.length));
    const packet = this.packet;
    const result = parseConnect.call(this);
    connectBytes.set(packet, bytes);
    return result;
  };
}

/**
 * Hands the raw bytes of each property section the parser reads (its length first) to `read`, which
 * keeps what it needs for the packet being parsed. A `read` that throws finds nothing: never inside
 * the read loop of a broker.
 */
export function readPropertySections(parser: object, read: (section: Buffer) => void): void {
  const internals = parser as ParserInternals;
  const parseProperties = internals._parseProperties;
  internals._parseProperties = function (this: ParserInternals) {
    const start = this._pos;
    const result = parseProperties.call(this);
    try {
      if (result) read(this._list.slice(start, this._pos));
    } catch {
      // the decoded packet is still checked
    }
    return result;
  };
}
