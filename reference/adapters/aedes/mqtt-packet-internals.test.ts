// mqtt-packet's parser as mqtt-packet-internals.ts relies on it: each test fails when the parser no
// longer has that shape, so that an update of mqtt-packet shows here rather than as L5-L7 or M1
// quietly unchecked.
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { connectBytesOf, keepConnectBytes, readPropertySections } from './mqtt-packet-internals.ts';

const CONNECT: mqttPacket.IConnectPacket = {
  cmd: 'connect',
  protocolId: 'MQTT',
  protocolVersion: 5,
  clean: true,
  keepalive: 30,
  clientId: 'session-1',
  username: 'alpha',
  properties: { sessionExpiryInterval: 60 },
  will: { topic: 'w', payload: Buffer.from('bye'), qos: 0, retain: false, properties: { willDelayInterval: 5 } },
};

function parse(parser: ReturnType<typeof mqttPacket.parser>, bytes: Buffer): mqttPacket.Packet[] {
  const packets: mqttPacket.Packet[] = [];
  parser.on('packet', (packet) => packets.push(packet));
  parser.parse(bytes);
  return packets;
}

describe("mqtt-packet's parser as the reference relies on it", () => {
  it('keeps the bytes of the CONNECT it parsed, after the fixed header, for the packet it emitted', () => {
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    keepConnectBytes(parser);
    const bytes = mqttPacket.generate(CONNECT, { protocolVersion: 5 });
    // Cut in two: the parser reads from its buffer list across chunks.
    const packets = [...parse(parser, bytes.subarray(0, 10)), ...parse(parser, bytes.subarray(10))];
    expect(packets).toHaveLength(1);
    expect(connectBytesOf(packets[0]!)?.equals(bytes.subarray(2))).toBe(true);
  });

  it('hands over each property section as it is on the wire, length first: the CONNECT and its will', () => {
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    const sections: Buffer[] = [];
    readPropertySections(parser, (section) => sections.push(Buffer.from(section)));
    parse(parser, mqttPacket.generate(CONNECT, { protocolVersion: 5 }));
    expect(sections).toEqual([Buffer.from([5, 0x11, 0, 0, 0, 60]), Buffer.from([5, 0x18, 0, 0, 0, 5])]);
  });

  it('still emits the packet when what reads a section throws', () => {
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    readPropertySections(parser, () => {
      throw new Error('a scan that fails');
    });
    expect(parse(parser, mqttPacket.generate(CONNECT, { protocolVersion: 5 }))).toMatchObject([{ cmd: 'connect', clientId: 'session-1' }]);
  });
});
