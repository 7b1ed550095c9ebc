// The arguments of a script that does the writes of one turn (batched-calls.ts), sent as one Buffer.
// ioredis spends about a microsecond of CPU on each argument of a command (its conversion, and beside a
// Buffer a write to the socket for each string), and such a script had a dozen arguments a QoS 1
// message: about a tenth of what a message cost the instance. Each field is its length (4 bytes,
// big-endian), then its bytes; the script reads them back with FIELDS.

/** Lua: `fields(s)`, the fields of `s` as framed by `framed`, in order (a Lua string each). */
export const FIELDS = `
local function fields(s)
  local out, at = {}, 1
  while at <= #s do
    local n = struct.unpack('>I4', s, at)
    out[#out + 1] = string.sub(s, at + 4, at + 3 + n)
    at = at + 4 + n
  end
  return out
end`;

/** The fields (a string as UTF-8, a number as its decimal digits) in one Buffer, for FIELDS. */
export function framed(fields: readonly (string | number | Buffer)[]): Buffer {
  const values = fields.map((field) => (typeof field === 'number' ? String(field) : field));
  let size = 0;
  for (const value of values) size += 4 + (typeof value === 'string' ? Buffer.byteLength(value) : value.length);
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const value of values) {
    const length = typeof value === 'string' ? out.write(value, at + 4) : value.copy(out, at + 4);
    out.writeUInt32BE(length, at);
    at += 4 + length;
  }
  return out;
}
