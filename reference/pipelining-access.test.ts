// Access control on what a client pipelines after its CONNECT, before the CONNACK (most clients do):
// it is judged as if it came after. Before, aedes queued such packets and handled them without the
// packet gate: another client's topics were granted.
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { openRawSession } from '../testkit/raw-session.ts';
import { startTestBroker, type TestBroker } from '../testkit/test-broker.ts';
import { startReferenceBroker, type ReferenceBroker } from './broker.ts';

let t: TestBroker<ReferenceBroker>;
afterEach(async () => {
  await t?.stop();
});

describe.each([4, 5] as const)('pipelined after the CONNECT, MQTT %s', (protocolVersion) => {
  it("a SUBSCRIBE and a PUBLISH on another client's topics are refused as they are when sent later; allowed ones are served", async () => {
    t = await startTestBroker(startReferenceBroker);
    const alpha = t.pki.identities.get('alpha')!;
    const raw = await openRawSession({ port: t.broker.port, ca: t.pki.rootCaPem, cert: alpha.certificatePem, key: alpha.keyPem, protocolVersion });
    const packets: mqttPacket.Packet[] = [
      { cmd: 'connect', protocolId: 'MQTT', protocolVersion, clean: true, keepalive: 30, clientId: 's1', username: 'alpha' },
      { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'mmc/beta/#', qos: 1 }, { topic: 'mmc/alpha/#', qos: 1 }] },
      { cmd: 'publish', topic: 'mmc/alpha/own', payload: Buffer.from('mine'), qos: 1, messageId: 2, retain: false, dup: false },
      { cmd: 'publish', topic: 'mmc/beta/b1', payload: Buffer.from('theirs'), qos: 1, messageId: 3, retain: false, dup: false },
    ];
    raw.send(Buffer.concat(packets.map((packet) => mqttPacket.generate(packet, { protocolVersion }))));
    // Answers to different packets may come in any order: gather them, then find each.
    const answers: mqttPacket.Packet[] = [];
    for (let packet = await raw.next(); packet; packet = await raw.next(500)) answers.push(packet);
    const find = (cmd: string, messageId?: number) => answers.find((packet) => packet.cmd === cmd && (messageId === undefined || packet.messageId === messageId));
    expect(answers[0]).toMatchObject({ cmd: 'connack' });
    // (Over 3.1.1 the refused PUBLISH closes the connection, which may come before aedes answers the
    // SUBSCRIBE it was handed; any SUBACK that does come must refuse the other client's filter.)
    const suback = find('suback', 1);
    if (protocolVersion === 5 || suback) expect(suback).toMatchObject({ granted: [protocolVersion === 5 ? 0x87 : 0x80, 1] });
    // Never another client's message.
    expect(answers.filter((packet) => packet.cmd === 'publish' && packet.topic !== 'mmc/alpha/own')).toEqual([]);
    if (protocolVersion === 5) {
      // Its own topic: acknowledged, and delivered back to it (it holds mmc/alpha/#).
      expect(find('puback', 2)).toBeDefined();
      expect(find('publish')).toMatchObject({ topic: 'mmc/alpha/own' });
      expect(find('puback', 3)).toMatchObject({ reasonCode: 0x87 });
    } else {
      // MQTT 3.1.1 has no code to refuse a PUBLISH with: the connection is closed (what it had in
      // flight may be cut short with it).
      expect(find('puback', 3)).toBeUndefined();
      expect(await raw.closedWithin(2000)).toBe(true);
    }
    expect(t.log.join('\n')).toContain('SUBSCRIBE mmc/beta/# refused [P3]');
    raw.end();
  });
});
