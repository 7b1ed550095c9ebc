// Packets a client sends right behind its CONNECT, before the CONNACK (MQTT 5 3.1.4: a client need not
// wait for it): the CONNECT is decided first, and then each of them goes through everything a packet
// sent after the CONNACK goes through, in order: protocol validation (M1), the packet gate (L9-L11,
// P2, P3), aedes. Behind a refused CONNECT, nothing is processed [MQTT-3.1.4-6].
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { connectV5, variableByteInteger } from '../testkit/raw-packets.ts';
import { openRawSession, type RawSession } from '../testkit/raw-session.ts';
import { startTestBroker, type TestBroker } from '../testkit/test-broker.ts';
import { startReferenceBroker, type ReferenceBroker } from './broker.ts';

let t: TestBroker<ReferenceBroker>;
afterEach(async () => {
  await t?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function raw(identityId: string, protocolVersion: 4 | 5 = 5): Promise<RawSession> {
  const identity = t.pki.identities.get(identityId)!;
  return openRawSession({ port: t.broker.port, ca: t.pki.rootCaPem, cert: identity.certificatePem, key: identity.keyPem, protocolVersion });
}

/** An MQTT 5 QoS 0 PUBLISH with the property section's bytes as they are (a property twice, say). */
function publishV5(topic: string, properties: Buffer, payload: string): Buffer {
  const name = Buffer.from(topic);
  const body = Buffer.concat([Buffer.from([name.length >> 8, name.length & 0xff]), name, variableByteInteger(properties.length), properties, Buffer.from(payload)]);
  return Buffer.concat([Buffer.from([0x30]), variableByteInteger(body.length), body]);
}

const contentType = (value: string) => Buffer.concat([Buffer.from([0x03, 0, value.length]), Buffer.from(value)]);
const connect311 = (clientId: string, username: string) =>
  mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 30, username }, { protocolVersion: 4 });

describe('a protocol error sent in the same write as the CONNECT', () => {
  it('a property given twice: the CONNECT is accepted with a CONNACK, then the PUBLISH gets DISCONNECT 0x82', async () => {
    t = await startTestBroker(startReferenceBroker);
    const session = await raw('alpha');
    session.send(Buffer.concat([connectV5('s1', 'alpha', Buffer.alloc(0)), publishV5('mmc/alpha/s1/x', Buffer.concat([contentType('a'), contentType('b')]), 'twice')]));
    expect(await session.next()).toMatchObject({ cmd: 'connack', reasonCode: 0 });
    expect(await session.next()).toMatchObject({ cmd: 'disconnect', reasonCode: 0x82 });
    expect(await session.closedWithin(2000)).toBe(true);
    expect(t.log.some((line) => line.includes('[MQTT-2.2.2]') && line.includes('publish carries the contentType property'))).toBe(true);
  });

  it('a property a PUBLISH may not carry: CONNACK, then DISCONNECT 0x82, as after the CONNACK', async () => {
    t = await startTestBroker(startReferenceBroker);
    const session = await raw('alpha');
    const publish = mqttPacket.generate({ cmd: 'publish', topic: 'mmc/alpha/s1/x', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { subscriptionIdentifier: 7 } }, { protocolVersion: 5 });
    session.send(Buffer.concat([connectV5('s1', 'alpha', Buffer.alloc(0)), publish]));
    expect(await session.next()).toMatchObject({ cmd: 'connack', reasonCode: 0 });
    expect(await session.next()).toMatchObject({ cmd: 'disconnect', reasonCode: 0x82 });
    expect(await session.closedWithin(2000)).toBe(true);
  });

  it('behind a refused CONNECT: only the refusal, and the packet is not processed', async () => {
    t = await startTestBroker(startReferenceBroker);
    await t.open('beta', 's1', '5', { sessionExpiry: 60 });
    const session = await raw('alpha');
    session.send(Buffer.concat([connectV5('s1', 'alpha', Buffer.alloc(0)), publishV5('mmc/alpha/s1/x', Buffer.concat([contentType('a'), contentType('b')]), 'twice')]));
    expect(await session.next()).toMatchObject({ cmd: 'connack', reasonCode: 0x87 });
    expect(await session.next(300)).toBeUndefined();
    expect(await session.closedWithin(2000)).toBe(true);
    expect(t.log.some((line) => line.includes('protocol error'))).toBe(false);
  });
});

describe('packets sent in the same write as the CONNECT go through the packet gate', () => {
  it.each([5, 4] as const)('MQTT level %i: a PUBLISH on another client\'s topic is not delivered (P3)', async (level) => {
    t = await startTestBroker(startReferenceBroker);
    const version = level === 5 ? '5' : '3.1.1';
    const beta = await t.open('beta', 'b1', version);
    await beta.subscribe('mmc/beta/b1', 1);
    const session = await raw('alpha', level);
    const publish = mqttPacket.generate({ cmd: 'publish', topic: 'mmc/beta/b1', payload: Buffer.from('forged'), qos: 1, messageId: 1, retain: false, dup: false }, { protocolVersion: level });
    session.send(Buffer.concat([level === 5 ? connectV5('a1', 'alpha', Buffer.alloc(0)) : connect311('a1', 'alpha'), publish]));
    expect(await session.next()).toMatchObject({ cmd: 'connack' });
    if (level === 5) expect(await session.next()).toMatchObject({ cmd: 'puback', messageId: 1, reasonCode: 0x87 });
    else expect(await session.closedWithin(2000)).toBe(true);
    await sleep(200);
    expect(beta.pending()).toEqual([]);
    expect(t.log).toContainEqual(expect.stringMatching(/^session "a1": PUBLISH to mmc\/beta\/b1 .*\[P3\]/));
  });

  it('more packets than aedes would queue (42) before the CONNACK: the connection is cut off', async () => {
    t = await startTestBroker(startReferenceBroker);
    const session = await raw('alpha');
    const ping = mqttPacket.generate({ cmd: 'pingreq' });
    session.send(Buffer.concat([connectV5('s1', 'alpha', Buffer.alloc(0)), ...Array.from({ length: 43 }, () => ping)]));
    expect(await session.closedWithin(2000)).toBe(true);
    expect(session.packets.some((packet) => packet.cmd === 'pingresp')).toBe(false);
    expect(t.log).toContainEqual(expect.stringMatching(/sent more than 42 packets before its CONNACK; closing$/));
    // 42 are held, and answered once the CONNACK is out.
    const patient = await raw('alpha');
    patient.send(Buffer.concat([connectV5('s2', 'alpha', Buffer.alloc(0)), ...Array.from({ length: 42 }, () => ping)]));
    expect(await patient.next()).toMatchObject({ cmd: 'connack', reasonCode: 0 });
    for (let count = 0; count < 42; count += 1) expect(await patient.next()).toMatchObject({ cmd: 'pingresp' });
    patient.end();
  });

  it('a SUBSCRIBE and a PUBLISH on the client\'s own topic are handled, in order: the message reaches the subscription', async () => {
    t = await startTestBroker(startReferenceBroker);
    const session = await raw('alpha');
    const subscribe = mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'mmc/alpha/s1/#', qos: 1 }] }, { protocolVersion: 5 });
    const publish = mqttPacket.generate({ cmd: 'publish', topic: 'mmc/alpha/s1/x', payload: Buffer.from('own'), qos: 1, messageId: 2, retain: false, dup: false }, { protocolVersion: 5 });
    session.send(Buffer.concat([connectV5('s1', 'alpha', Buffer.alloc(0)), subscribe, publish]));
    const packets = [await session.next(), await session.next(), await session.next(), await session.next()].map((packet) => packet?.cmd);
    // The SUBSCRIBE is in place before the PUBLISH is: the message comes back. (aedes may acknowledge the
    // two in either order: their answers are to different packets.)
    expect(packets[0]).toBe('connack');
    expect(packets.slice(1).sort()).toEqual(['puback', 'publish', 'suback']);
    session.end();
  });
});
