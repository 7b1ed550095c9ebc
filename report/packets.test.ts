// The reports keep every packet of a failing scenario and the first ones of any other.
import { describe, expect, it } from 'vitest';
import { KEPT_PACKETS_OF_A_PASS, reportedPackets, type PacketRecord } from './packets.ts';

const records = (count: number): PacketRecord[] => Array.from({ length: count }, (_, atMs) => ({ atMs, connection: '#1 alpha s1', direction: 'received', type: 'puback', fields: {} }));

describe('the packets the reports keep', () => {
  it('are all of a failing scenario', () => {
    const packets = { records: records(400), omitted: 3 };
    expect(reportedPackets(packets, 'failed')).toEqual(packets);
  });

  it('are the first ones of a scenario that passed or was skipped, saying how many more there were', () => {
    for (const status of ['passed', 'skipped']) {
      const kept = reportedPackets({ records: records(400), omitted: 3 }, status);
      expect(kept.records).toEqual(records(KEPT_PACKETS_OF_A_PASS));
      expect({ trimmed: kept.trimmed, omitted: kept.omitted }).toEqual({ trimmed: 400 - KEPT_PACKETS_OF_A_PASS, omitted: 3 });
    }
    expect(reportedPackets({ records: records(KEPT_PACKETS_OF_A_PASS), omitted: 0 }, 'passed')).toEqual({ records: records(KEPT_PACKETS_OF_A_PASS), omitted: 0 });
  });
});
