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
}
