// The CONNECT's names as bytes. mqtt-packet decodes every string with Buffer#toString('utf8'), which
// replaces ill-formed sequences with U+FFFD: "coll\xff" and "coll\xfe" both arrive as "coll\uFFFD",
// and a check on the decoded ClientID can neither see the damage nor tell the two apart. So the
// parser of each connection keeps a copy of the CONNECT's bytes (limit-enforcement.ts asks it to,
// mqtt-packet-internals.ts does it), and the names are read from those.
import type { RawNames } from '../../policy/presented.ts';
import { connectBytesOf } from './mqtt-packet-internals.ts';

/** Reads a CONNECT's ClientID and Username as they were sent; undefined if the bytes are not a CONNECT. */
export function rawNames(packet: object): RawNames | undefined {
  const bytes = connectBytesOf(packet);
  return bytes ? parseNames(bytes) : undefined;
}

/** The CONNECT variable header and payload (after the fixed header), read as far as the Username. */
export function parseNames(bytes: Buffer): RawNames | undefined {
  let pos = 0;
  const need = (count: number) => {
    if (pos + count > bytes.length) throw new RangeError('short CONNECT');
  };
  const u16 = () => {
    need(2);
    const value = bytes.readUInt16BE(pos);
    pos += 2;
    return value;
  };
  const field = () => {
    const length = u16();
    need(length);
    const value = bytes.subarray(pos, pos + length);
    pos += length;
    return value;
  };
  const varInt = () => {
    let value = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      need(1);
      const byte = bytes[pos++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (!(byte & 0x80)) return value;
    }
    throw new RangeError('bad variable byte integer');
  };
  try {
    field(); // protocol name
    need(2);
    const level = bytes[pos++]!;
    const flags = bytes[pos++]!;
    u16(); // keep alive
    const v5 = level === 5;
    // (Read the length first: `pos += varInt()` would add to the position from before the read.)
    const skip = () => {
      const length = varInt();
      pos += length;
    };
    if (v5) skip(); // CONNECT properties
    const clientId = field();
    if (flags & 0x04) {
      if (v5) skip(); // will properties
      field(); // will topic
      field(); // will payload
    }
    const username = flags & 0x80 ? field() : undefined;
    return { clientId, ...(username ? { username } : {}) };
  } catch {
    return undefined;
  }
}
