// The packets a scenario's clients exchanged with the target, as the steps attach them to the scenario
// (a cucumber attachment of this media type) and the reports read them back.

/** The media type of a scenario's packet record in cucumber's message stream. */
export const PACKETS_MEDIA_TYPE = 'application/vnd.mqtt-multisession-conformance.packets+json';

export interface PacketRecord {
  /** Milliseconds since the scenario's first client was made. */
  atMs: number;
  /** The connection: its ClientID as the client sent it. */
  connection: string;
  direction: 'sent' | 'received' | 'closed';
  /** The packet type (connect, connack, publish, ...); "close" for the connection ending. */
  type: string;
  /** What matters of the packet: codes, flags and properties; no payload (its size only), no password or token. */
  fields: Record<string, unknown>;
}

/** What a scenario attaches: its packets, and how many were left out past the cap. */
export interface ScenarioPackets {
  records: PacketRecord[];
  omitted: number;
  /** Recorded, but left out of the reports: the scenario did not fail, and its first packets stand for it. */
  trimmed?: number;
}

/** The packets the reports keep of a scenario that did not fail; a failing one keeps all it recorded. */
export const KEPT_PACKETS_OF_A_PASS = 50;

/** A scenario's packets as the reports keep them: in full when it failed, else its first KEPT_PACKETS_OF_A_PASS. */
export function reportedPackets(packets: ScenarioPackets, status: string): ScenarioPackets {
  if (status === 'failed' || packets.records.length <= KEPT_PACKETS_OF_A_PASS) return packets;
  return { ...packets, records: packets.records.slice(0, KEPT_PACKETS_OF_A_PASS), trimmed: packets.records.length - KEPT_PACKETS_OF_A_PASS };
}
