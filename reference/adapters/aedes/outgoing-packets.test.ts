// The per-connection amendment of outgoing packets, on an in-memory stream: packets written as aedes
// writes them (mqtt-packet's writeToStream, a piece at a time) or whole, and cut anywhere, come out
// byte for byte as written unless an amendment awaits them; an awaited one comes out amended, once.
import { Writable } from 'node:stream';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { OutgoingPackets } from './outgoing-packets.ts';

/** A stream that keeps what reaches it, and the packets that are, decoded. */
function sink() {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  const bytes = () => Buffer.concat(chunks);
  const packets = (protocolVersion: 4 | 5) => {
    const parsed: mqttPacket.Packet[] = [];
    const parser = mqttPacket.parser({ protocolVersion });
    parser.on('packet', (packet) => parsed.push(packet));
    parser.parse(bytes());
    return parsed;
  };
  return { stream, bytes, packets };
}

const PACKETS: mqttPacket.Packet[] = [
  { cmd: 'connack', sessionPresent: false, reasonCode: 0, properties: { maximumPacketSize: 524288 } },
  { cmd: 'publish', topic: 'mmc/alpha/s1', payload: Buffer.alloc(300, 7), qos: 1, messageId: 1, retain: false, dup: false },
  { cmd: 'suback', messageId: 7, granted: [1, 0] },
  { cmd: 'pingresp' },
  { cmd: 'suback', messageId: 8, granted: [1] },
];

/** writeToStream corks the stream until the next tick. */
const settled = () => new Promise((resolve) => setImmediate(resolve));

const whole = (packets: mqttPacket.Packet[]) => Buffer.concat(packets.map((packet) => mqttPacket.generate(packet, { protocolVersion: 5 })));

describe('OutgoingPackets', () => {
  it('passes every byte as written when no amendment awaits, whatever the cuts', () => {
    const all = whole(PACKETS);
    for (const cut of [1, 2, 3, 7, 64, all.length]) {
      const out = sink();
      OutgoingPackets.of(out.stream);
      for (let at = 0; at < all.length; at += cut) out.stream.write(all.subarray(at, at + cut));
      expect(out.bytes().equals(all), `cut every ${cut} bytes`).toBe(true);
    }
  });

  it('amends the awaited packet only, once, written as aedes writes it or cut anywhere', async () => {
    for (const cut of [0, 1, 5, 1000]) {
      const out = sink();
      const outgoing = OutgoingPackets.of(out.stream);
      outgoing.amendNext('connack', 5, (packet) => packet.cmd === 'connack' && ((packet.sessionPresent = true), (packet.properties = { ...packet.properties, maximumQoS: 1 }), true));
      outgoing.amendNext('suback', 5, (packet) => packet.cmd === 'suback' && packet.messageId === 8 && ((packet.granted = [0x87]), true));
      if (cut === 0) for (const packet of [...PACKETS, PACKETS[0]!]) mqttPacket.writeToStream(packet, out.stream, { protocolVersion: 5 });
      else {
        const all = whole([...PACKETS, PACKETS[0]!]);
        for (let at = 0; at < all.length; at += cut) out.stream.write(all.subarray(at, at + cut));
      }
      await settled();
      const [connack, publish, suback7, pingresp, suback8, secondConnack] = out.packets(5);
      expect(connack, `cut ${cut}`).toMatchObject({ cmd: 'connack', sessionPresent: true, properties: { maximumPacketSize: 524288, maximumQoS: 1 } });
      expect(publish).toMatchObject({ cmd: 'publish', topic: 'mmc/alpha/s1', messageId: 1 });
      expect((publish as mqttPacket.IPublishPacket).payload).toEqual(Buffer.alloc(300, 7));
      expect(suback7).toMatchObject({ cmd: 'suback', messageId: 7, granted: [1, 0] });
      expect(pingresp).toMatchObject({ cmd: 'pingresp' });
      expect(suback8).toMatchObject({ cmd: 'suback', messageId: 8, granted: [0x87] });
      // Spent: a later CONNACK goes out as written.
      expect(secondConnack).toMatchObject({ cmd: 'connack', sessionPresent: false });
    }
  });

  it('calls back every write, the held ones once the packet is out', async () => {
    const out = sink();
    const outgoing = OutgoingPackets.of(out.stream);
    outgoing.amendNext('suback', 4, (packet) => packet.cmd === 'suback' && ((packet.granted = [0x80]), true));
    const bytes = mqttPacket.generate({ cmd: 'suback', messageId: 3, granted: [1] }, { protocolVersion: 4 });
    const called = await Promise.all([...bytes].map((byte) => new Promise<boolean>((resolve) => out.stream.write(Buffer.from([byte]), () => resolve(true)))));
    expect(called.every(Boolean)).toBe(true);
    expect(out.packets(4)).toMatchObject([{ cmd: 'suback', messageId: 3, granted: [0x80] }]);
  });

  it('frames again from the next packet when an amendment comes after unframed writes', async () => {
    const out = sink();
    const outgoing = OutgoingPackets.of(out.stream);
    // Unframed: a PUBLISH written in pieces, as aedes writes it.
    mqttPacket.writeToStream(PACKETS[1]!, out.stream, { protocolVersion: 5 });
    outgoing.amendNext('suback', 5, (packet) => packet.cmd === 'suback' && ((packet.granted = [0x87]), true));
    mqttPacket.writeToStream(PACKETS[2]!, out.stream, { protocolVersion: 5 });
    await settled();
    expect(out.packets(5)).toMatchObject([{ cmd: 'publish', messageId: 1 }, { cmd: 'suback', messageId: 7, granted: [0x87] }]);
  });

  it('leaves the stream of another connection alone', async () => {
    const one = sink();
    const other = sink();
    OutgoingPackets.of(one.stream).amendNext('suback', 5, (packet) => packet.cmd === 'suback' && ((packet.granted = [0x87]), true));
    mqttPacket.writeToStream(PACKETS[2]!, other.stream, { protocolVersion: 5 });
    await settled();
    expect(other.packets(5)).toMatchObject([{ cmd: 'suback', granted: [1, 0] }]);
  });

  it('once the connection is being taken over, sends nothing but a DISCONNECT, and nothing after it, whatever the cuts; every write is called back', async () => {
    const disconnect: mqttPacket.Packet = { cmd: 'disconnect', reasonCode: 0x8e };
    for (const cut of [0, 1, 3, 64, 10_000]) {
      for (const taken of [false, true]) {
        const out = sink();
        const outgoing = OutgoingPackets.of(out.stream);
        const before = [PACKETS[1]!, PACKETS[3]!];
        const after = [PACKETS[1]!, disconnect, PACKETS[3]!];
        const write = (packets: mqttPacket.Packet[]) => {
          const bytes = whole(packets);
          // As aedes writes (a piece at a time), or cut anywhere, awaiting every write's callback.
          if (cut === 0) return packets.forEach((packet) => mqttPacket.writeToStream(packet, out.stream, { protocolVersion: 5 }));
          const calls: Promise<unknown>[] = [];
          for (let at = 0; at < bytes.length; at += cut) calls.push(new Promise((resolve) => out.stream.write(bytes.subarray(at, at + cut), resolve)));
          return Promise.all(calls);
        };
        await write(before);
        if (taken) outgoing.closing();
        // Taken over: of a PUBLISH, a DISCONNECT, a PINGRESP, a PUBLISH and another DISCONNECT, the first DISCONNECT only goes out.
        await write([...after, PACKETS[1]!, disconnect]);
        await settled();
        const cmds = out.packets(5).map((packet) => packet.cmd);
        const all = ['publish', 'pingresp', 'publish', 'disconnect', 'pingresp', 'publish', 'disconnect'];
        expect(cmds, `cut ${cut}${taken ? ', taken over' : ''}`).toEqual(taken ? ['publish', 'pingresp', 'disconnect'] : all);
      }
    }
  });

  it('holds the awaited PUBACK, by its packet identifier, until its promise settles, and every byte after it behind it, whatever the cuts; the bytes go out as written', async () => {
    const pubacks = [3, 300, 4].map((messageId) => ({ cmd: 'puback' as const, messageId, reasonCode: 0 }));
    const all = whole([pubacks[0]!, PACKETS[1]!, pubacks[1]!, pubacks[2]!]);
    for (const cut of [1, 2, 5, all.length]) {
      const out = sink();
      const outgoing = OutgoingPackets.of(out.stream);
      let release!: () => void;
      const stored = new Promise<void>((resolve) => (release = resolve));
      outgoing.holdPuback(300, stored);
      for (let at = 0; at < all.length; at += cut) out.stream.write(all.subarray(at, at + cut));
      await settled();
      expect(out.packets(5).map((packet) => packet.messageId), `cut ${cut}`).toEqual([3, 1]);
      release();
      await settled();
      expect(out.bytes().equals(all), `cut ${cut}`).toBe(true);
    }
  });

  it("calls back a write that waited behind a held PUBACK once it is out, though another PUBACK behind it is still held", async () => {
    const out = sink();
    const outgoing = OutgoingPackets.of(out.stream);
    const releases: (() => void)[] = [];
    for (const messageId of [300, 4]) outgoing.holdPuback(messageId, new Promise<void>((resolve) => releases.push(resolve)));
    const written: string[] = [];
    out.stream.write(whole([{ cmd: 'puback', messageId: 300, reasonCode: 0 }]));
    out.stream.write(whole([PACKETS[3]!]), () => written.push('pingresp'));
    out.stream.write(whole([{ cmd: 'puback', messageId: 4, reasonCode: 0 }]), () => written.push('puback 4'));
    releases[0]!();
    await settled();
    expect(out.packets(5).map((packet) => packet.cmd)).toEqual(['puback', 'pingresp']);
    expect(written).toEqual(['pingresp']);
    releases[1]!();
    await settled();
    expect(written).toEqual(['pingresp', 'puback 4']);
  });

  it('sends what a release left in the corked stream before the stream is destroyed in the same turn', async () => {
    const out = sink();
    const outgoing = OutgoingPackets.of(out.stream);
    let release!: () => void;
    const stored = new Promise<void>((resolve) => (release = resolve));
    outgoing.holdPuback(300, stored);
    out.stream.write(whole([{ cmd: 'puback', messageId: 300, reasonCode: 0 }]));
    release();
    await stored;
    // Released (corked until the next tick); a DISCONNECT, and the connection destroyed, in this turn.
    out.stream.write(whole([{ cmd: 'disconnect', reasonCode: 0x8b }]));
    out.stream.destroy();
    expect(out.packets(5).map((packet) => packet.cmd)).toEqual(['puback', 'disconnect']);
  });
  it("calls back each write behind held PUBACKs once it is out, whatever is held behind it", async () => {
    const out = sink();
    const outgoing = OutgoingPackets.of(out.stream);
    const releases: (() => void)[] = [];
    for (const messageId of [1, 2, 3]) outgoing.holdPuback(messageId, new Promise<void>((resolve) => releases.push(resolve)));
    const written: string[] = [];
    for (const messageId of [1, 2]) out.stream.write(whole([{ cmd: 'puback', messageId, reasonCode: 0 }]));
    out.stream.write(whole([PACKETS[3]!]), () => written.push('pingresp'));
    out.stream.write(whole([{ cmd: 'puback', messageId: 3, reasonCode: 0 }]), () => written.push('puback 3'));
    releases[0]!();
    releases[1]!();
    await settled();
    expect(out.packets(5).map((packet) => packet.messageId ?? packet.cmd)).toEqual([1, 2, 'pingresp']);
    expect(written).toEqual(['pingresp']);
  });

  it('sends a DISCONNECT written behind a held PUBACK when the stream is ended or destroyed before the store answers; the PUBACK never goes', async () => {
    for (const how of ['end', 'destroy', 'taken over'] as const) {
      const out = sink();
      const outgoing = OutgoingPackets.of(out.stream);
      let release!: () => void;
      outgoing.holdPuback(7, new Promise<void>((resolve) => (release = resolve)));
      out.stream.write(whole([{ cmd: 'puback', messageId: 7, reasonCode: 0 }]));
      if (how === 'taken over') outgoing.closing();
      out.stream.write(whole([PACKETS[3]!, { cmd: 'disconnect', reasonCode: how === 'taken over' ? 0x8e : 0x8b }]));
      if (how === 'end') out.stream.end();
      if (how === 'destroy') out.stream.destroy();
      release();
      await settled();
      expect(out.packets(5).map((packet) => packet.cmd), how).toEqual(['disconnect']);
    }
  });
});
