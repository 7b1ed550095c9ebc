// A scenario's packet log: every packet its clients sent and received, with the time and what matters
// of it, for the report a person reads. Secrets never enter it: a password and MQTT 5 Authentication
// Data are replaced by their size, and payloads (a Will's too) by their size.
import type { PacketRecord, ScenarioPackets } from '../report/packets.ts';

/** Records kept per scenario: a flood (L8's queue, L10's subscriptions) keeps its start, and says how many more. */
const MAX_RECORDS = 400;
const SECRET_KEYS = new Set(['password', 'authenticationData']);
/** Bookkeeping of the codec, not of the protocol. */
const DROPPED_KEYS = new Set(['cmd', 'length', 'topics']);
/** Header flags that only a PUBLISH carries (the codec sets them false on every other packet). */
const PUBLISH_FLAGS = new Set(['retain', 'qos', 'dup']);

/** A string longer than this (L3's 65535-character ClientID) is kept as its start and its length. */
const MAX_STRING = 256;
const CLIPPED_START = 40;

/** A string as a person reads it in the report: whole, or past MAX_STRING its start and how long it was. */
export function clipped(text: string): string {
  return text.length > MAX_STRING ? `${text.slice(0, CLIPPED_START)}… (${text.length} characters)` : text;
}

const sizeOf = (value: unknown) => (Buffer.isBuffer(value) ? value.length : typeof value === 'string' ? Buffer.byteLength(value) : 0);

/** What matters of a packet (mqtt-packet's object form), with secrets and payloads replaced by their size. */
export function packetFields(packet: Record<string, unknown>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const header = packet.cmd !== undefined;
  for (const [key, value] of Object.entries(packet)) {
    if (DROPPED_KEYS.has(key) || value === undefined || value === null) continue;
    if (header && packet.cmd !== 'publish' && PUBLISH_FLAGS.has(key)) continue;
    if (SECRET_KEYS.has(key)) fields[key] = `(redacted, ${sizeOf(value)} bytes)`;
    else if (key === 'payload') fields.payloadBytes = sizeOf(value);
    else if (Buffer.isBuffer(value)) fields[key] = `(${value.length} bytes)`;
    else if (Array.isArray(value)) fields[key] = value.map((item) => (item && typeof item === 'object' ? packetFields(item as Record<string, unknown>) : item));
    else if (typeof value === 'object') fields[key] = packetFields(value as Record<string, unknown>);
    else fields[key] = typeof value === 'string' ? clipped(value) : value;
  }
  return fields;
}

export class PacketLog {
  private readonly startedAt = performance.now();
  private readonly records: PacketRecord[] = [];
  private omitted = 0;
  private connections = 0;

  /** A label for a new connection, unique in the scenario: "#2 beta mmc-x1-4-s1". */
  connection(identityId: string, clientId: string): string {
    this.connections += 1;
    return `#${this.connections} ${identityId} ${clipped(clientId)}`;
  }

  /** Records a packet (mqtt-packet's object form) one connection sent or received. */
  packet(connection: string, direction: 'sent' | 'received', packet: { cmd: string }): void {
    this.add({ connection, direction, type: packet.cmd, fields: packetFields(packet as unknown as Record<string, unknown>) });
  }

  /** Records something that is not a packet object: a CONNECT written byte by byte, a connection closing. */
  event(connection: string, direction: PacketRecord['direction'], type: string, fields: Record<string, unknown> = {}): void {
    this.add({ connection, direction, type, fields });
  }

  private add(record: Omit<PacketRecord, 'atMs'>): void {
    if (this.records.length >= MAX_RECORDS) {
      this.omitted += 1;
      return;
    }
    this.records.push({ atMs: Math.round(performance.now() - this.startedAt), ...record });
  }

  toJSON(): ScenarioPackets {
    return { records: [...this.records], omitted: this.omitted };
  }
}
