// The scenario's packet log keeps what a person needs to see of each packet and never a secret: a
// password and MQTT 5 Authentication Data are replaced by their size, payloads by theirs; the report's
// collector reads the log back from the scenario's attachment.
import type { Envelope } from '@cucumber/messages';
import { describe, expect, it } from 'vitest';
import { PACKETS_MEDIA_TYPE } from '../report/packets.ts';
import { ScenarioCollector } from '../report/scenarios.ts';
import { PacketLog, packetFields } from './packet-log.ts';

describe('a packet log', () => {
  it('keeps codes, flags and properties, and no password, token or payload', () => {
    const connect = packetFields({
      cmd: 'connect',
      clientId: 's1',
      username: 'alpha',
      password: Buffer.from('secret-token'),
      clean: false,
      properties: { sessionExpiryInterval: 20, authenticationMethod: 'CUSTOM-JWT', authenticationData: Buffer.from('eyJhbGciOi') },
      will: { topic: 'mmc/alpha/will', payload: Buffer.from('bye'), qos: 1 },
    });
    expect(connect).toEqual({
      clientId: 's1',
      username: 'alpha',
      password: '(redacted, 12 bytes)',
      clean: false,
      properties: { sessionExpiryInterval: 20, authenticationMethod: 'CUSTOM-JWT', authenticationData: '(redacted, 10 bytes)' },
      will: { topic: 'mmc/alpha/will', payloadBytes: 3, qos: 1 },
    });
    expect(JSON.stringify(connect)).not.toMatch(/secret-token|eyJhbGciOi/);
    expect(packetFields({ cmd: 'connack', retain: false, qos: 0, dup: false, sessionPresent: true, reasonCode: 0x87, properties: { reasonString: 'in use' } })).toEqual({
      sessionPresent: true,
      reasonCode: 0x87,
      properties: { reasonString: 'in use' },
    });
    expect(packetFields({ cmd: 'publish', topic: 't', payload: Buffer.alloc(5), qos: 1, retain: false, dup: false, messageId: 3 })).toEqual({ topic: 't', payloadBytes: 5, qos: 1, retain: false, dup: false, messageId: 3 });
  });

  it('names each connection apart, even two on one ClientID, and caps a flood', () => {
    const log = new PacketLog();
    const owner = log.connection('alpha', 's1');
    const intruder = log.connection('beta', 's1');
    expect([owner, intruder]).toEqual(['#1 alpha s1', '#2 beta s1']);
    for (let index = 0; index < 450; index += 1) log.packet(owner, 'received', { cmd: 'pingresp' });
    const { records, omitted } = log.toJSON();
    expect(records).toHaveLength(400);
    expect(omitted).toBe(50);
    expect(records[0]).toMatchObject({ connection: '#1 alpha s1', direction: 'received', type: 'pingresp' });
  });

  it("keeps a long string's start and length, in its fields and its connection's name", () => {
    const log = new PacketLog();
    const clientId = 'x'.repeat(65535);
    log.packet(log.connection('alpha', clientId), 'sent', { cmd: 'connect', clientId } as { cmd: string });
    const [record] = log.toJSON().records;
    expect(record!.fields.clientId).toBe(`${'x'.repeat(40)}… (65535 characters)`);
    expect(record!.connection).toBe(`#1 alpha ${'x'.repeat(40)}… (65535 characters)`);
    expect(packetFields({ cmd: 'connect', clientId: 'y'.repeat(256) })).toEqual({ clientId: 'y'.repeat(256) });
  });

  it('is read back from the scenario attachment into its result', () => {
    const log = new PacketLog();
    log.packet(log.connection('beta', 's1'), 'received', { cmd: 'connack', reasonCode: 0x87 } as { cmd: string });
    const collector = new ScenarioCollector();
    const envelopes = [
      { pickle: { id: 'p', uri: 'features/x.feature', name: 'refused', language: 'en', astNodeIds: [], steps: [], tags: [{ name: '@S6', astNodeId: 'a' }, { name: '@mqtt5', astNodeId: 'b' }] } },
      { testCase: { id: 'c', pickleId: 'p', testSteps: [] } },
      { testCaseStarted: { id: 's', testCaseId: 'c', attempt: 0, timestamp: { seconds: 0, nanos: 0 } } },
      { attachment: { testCaseStartedId: 's', mediaType: PACKETS_MEDIA_TYPE, body: JSON.stringify(log), contentEncoding: 'IDENTITY' } },
      { testCaseFinished: { testCaseStartedId: 's', willBeRetried: false, timestamp: { seconds: 0, nanos: 0 } } },
    ] as unknown as Envelope[];
    for (const envelope of envelopes) collector.onMessage(envelope);
    expect(collector.results()[0]!.packets).toEqual({ records: [expect.objectContaining({ connection: '#1 beta s1', type: 'connack', fields: { reasonCode: 0x87 } })], omitted: 0 });
  });
});
