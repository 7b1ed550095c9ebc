// The broker validates each CONNECT and DISCONNECT before aedes uses it: a property given twice (which
// once reached aedes' timers as an array and ended the process) is a protocol error, answered with
// CONNACK 0x82 or a closed connection, and the broker keeps serving.
import { afterEach, describe, expect, it } from 'vitest';
import { EVENT_GRID } from './policy/event-grid.ts';
import { mutatedBehaviour } from './policy/mutants.ts';
import { PACKET_CHECKS, scanProperties, validatePacket, withoutRepeatedProperties } from './policy/packet-validation.ts';
import { connectV5, disconnectV5, sessionExpiryProperty } from '../testkit/raw-packets.ts';
import { openRawSession } from '../testkit/raw-session.ts';
import { startTestBroker, type TestBroker } from '../testkit/test-broker.ts';
import { startReferenceBroker, type ReferenceBroker } from './broker.ts';

let t: TestBroker<ReferenceBroker>;
afterEach(async () => {
  await t?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function rawSession(t: TestBroker<ReferenceBroker>) {
  const identity = t.pki.identities.get('alpha')!;
  const raw = await openRawSession({ port: t.broker.port, ca: t.pki.rootCaPem, cert: identity.certificatePem, key: identity.keyPem });
  return { send: raw.send, next: () => raw.next(), closed: () => raw.closedWithin(2000), end: raw.end };
}

const twice = Buffer.concat([sessionExpiryProperty(5), sessionExpiryProperty(9)]);

describe('protocol validation of what a client sends', () => {
  it('a CONNECT with the Session Expiry Interval twice gets CONNACK 0x82 and is closed; the broker keeps serving', async () => {
    t = await startTestBroker(startReferenceBroker);
    const raw = await rawSession(t);
    raw.send(connectV5('s1', 'alpha', twice));
    expect(await raw.next()).toMatchObject({ cmd: 'connack', reasonCode: 0x82 });
    expect(await raw.closed()).toBe(true);
    expect(t.log.some((line) => line.includes('[MQTT-2.2.2]') && line.includes('sessionExpiryInterval property 2 times'))).toBe(true);
    expect(t.log.some((line) => line.startsWith('accepted session "s1"'))).toBe(false);
    await sleep(100);
    expect((await t.open('alpha', 's1', '5')).connected).toBe(true);
  });

  it('a CONNECT with the Session Expiry Interval 0 and then 3600 (which mqtt-packet decodes as one value) gets CONNACK 0x82', async () => {
    t = await startTestBroker(startReferenceBroker);
    const raw = await rawSession(t);
    raw.send(connectV5('s1', 'alpha', Buffer.concat([sessionExpiryProperty(0), sessionExpiryProperty(3600)])));
    expect(await raw.next()).toMatchObject({ cmd: 'connack', reasonCode: 0x82 });
  });

  it('a CONNECT with Request Problem Information 2 gets 0x82; with Request Response Information 1 it is accepted', async () => {
    t = await startTestBroker(startReferenceBroker);
    const bad = await rawSession(t);
    bad.send(connectV5('s1', 'alpha', Buffer.from([0x17, 2])));
    expect(await bad.next()).toMatchObject({ cmd: 'connack', reasonCode: 0x82 });
    const good = await rawSession(t);
    good.send(connectV5('s2', 'alpha', Buffer.from([0x19, 1, 0x17, 0])));
    expect(await good.next()).toMatchObject({ cmd: 'connack', reasonCode: 0 });
    good.end();
  });

  it('the same CONNECT with the property once is accepted (the control)', async () => {
    t = await startTestBroker(startReferenceBroker);
    const raw = await rawSession(t);
    raw.send(connectV5('s1', 'alpha', sessionExpiryProperty(5)));
    expect(await raw.next()).toMatchObject({ cmd: 'connack', reasonCode: 0 });
    raw.end();
  });

  it('a DISCONNECT with the Session Expiry Interval twice closes the connection; the session keeps its CONNECT expiry and the broker keeps serving', async () => {
    t = await startTestBroker(startReferenceBroker);
    const raw = await rawSession(t);
    raw.send(connectV5('s1', 'alpha', sessionExpiryProperty(5)));
    expect(await raw.next()).toMatchObject({ cmd: 'connack', reasonCode: 0 });
    raw.send(disconnectV5(twice));
    expect(await raw.closed()).toBe(true);
    expect(t.log.some((line) => line.includes('[MQTT-2.2.2]') && line.includes('disconnect carries'))).toBe(true);
    // The session is held (expiry 5 s, from CONNECT) and aedes' timers were never given an array.
    await sleep(200);
    expect(await t.broker.sessions.find('s1')).toMatchObject({ owner: 'alpha', connectionId: undefined });
    const resumed = await t.open('alpha', 's1', '5', { sessionExpiry: 60 });
    expect(resumed.sessionPresent).toBe(true);
  });
});

describe('protocol validation after CONNECT', () => {
  it('a PUBLISH carrying a Subscription Identifier (for servers only) gets DISCONNECT 0x82 and is closed', async () => {
    t = await startTestBroker(startReferenceBroker);
    const identity = t.pki.identities.get('alpha')!;
    const raw = await openRawSession({ port: t.broker.port, ca: t.pki.rootCaPem, cert: identity.certificatePem, key: identity.keyPem });
    raw.send(connectV5('s1', 'alpha', Buffer.alloc(0)));
    expect(await raw.next()).toMatchObject({ cmd: 'connack', reasonCode: 0 });
    raw.sendPacket({ cmd: 'publish', topic: 't/x', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { subscriptionIdentifier: 7 } });
    expect(await raw.next()).toMatchObject({ cmd: 'disconnect', reasonCode: 0x82 });
    expect(await raw.closedWithin(2000)).toBe(true);
  });
});

describe('the packet checks', () => {
  const run = (packet: object, extra: object = {}) => validatePacket({ packet: packet as never, ...extra });

  it('each check refuses what it names under M1, naming the MQTT 5 section, and lets the valid packet through', () => {
    const section = (packet: object, extra?: object) => {
      const refusal = run(packet, extra);
      expect(refusal?.rule).toBe('M1');
      expect(refusal?.code.reasonCode).toBe(0x82);
      return refusal?.reason.match(/\[(MQTT-[\d.-]+)\]$/)?.[1];
    };
    expect(section({ cmd: 'connect', protocolVersion: 5, properties: { sessionExpiryInterval: [5, 9] } })).toBe('MQTT-2.2.2');
    expect(section({ cmd: 'connect', protocolVersion: 5, properties: { serverKeepAlive: 5 } })).toBe('MQTT-2.2.2.2');
    expect(section({ cmd: 'connect', protocolVersion: 5, will: { properties: { sessionExpiryInterval: 5 } } })).toBe('MQTT-2.2.2.2');
    expect(section({ cmd: 'connect', protocolVersion: 5, properties: { receiveMaximum: 0 } })).toBe('MQTT-3.1.2.11');
    expect(section({ cmd: 'publish', properties: { subscriptionIdentifier: 3 } })).toBe('MQTT-2.2.2.2');
    expect(section({ cmd: 'disconnect', properties: { sessionExpiryInterval: 60 } }, { version: 5, connectSessionExpiry: 0 })).toBe('MQTT-3.14.2-2');
    expect(run({ cmd: 'connect', protocolVersion: 5, properties: { sessionExpiryInterval: 5, receiveMaximum: 10, userProperties: { a: ['1', '2'] } } })).toBeUndefined();
    expect(run({ cmd: 'disconnect', properties: { sessionExpiryInterval: 60 } }, { version: 5, connectSessionExpiry: 30 })).toBeUndefined();
    expect(PACKET_CHECKS.map((check) => check.rule)).toEqual(['M1', 'M1', 'M1', 'M1']);
  });

  it('the M1 mutant lets a property given twice through, and aedes is handed its last value', () => {
    const mutated = mutatedBehaviour(['M1']).packetChecks;
    const packet = { cmd: 'connect', protocolVersion: 5, properties: { sessionExpiryInterval: [5, 9] as unknown } };
    expect(validatePacket({ packet }, mutated)).toBeUndefined();
    expect(withoutRepeatedProperties(packet).properties.sessionExpiryInterval).toBe(9);
    expect(validatePacket({ packet: { cmd: 'connect', protocolVersion: 5, properties: { receiveMaximum: 0 } } }, mutated)?.rule).toBe('M1');
    // Production keeps its list: M1's checks first (then M2's, policy/unsupported.ts).
    expect(EVENT_GRID.packetChecks.slice(0, PACKET_CHECKS.length)).toEqual(PACKET_CHECKS);
  });

  it('the raw scan finds a property given twice whatever its values, and byte values past 1', () => {
    const section = (bytes: number[]) => Buffer.from([bytes.length, ...bytes]);
    expect(scanProperties(section([0x11, 0, 0, 0, 0, 0x11, 0, 0, 0x0e, 0x10]))).toEqual({ repeated: ['sessionExpiryInterval'], outOfRange: [] });
    expect(scanProperties(section([0x26, 0, 1, 0x6b, 0, 1, 0x76, 0x26, 0, 1, 0x6b, 0, 1, 0x77]))).toEqual({ repeated: [], outOfRange: [] });
    expect(scanProperties(section([0x19, 1, 0x17, 2]))).toEqual({ repeated: [], outOfRange: ['requestProblemInformation'] });
    expect(scanProperties(section([]))).toEqual({ repeated: [], outOfRange: [] });
    // Truncated or nonsense input finds what it can and never throws.
    expect(() => scanProperties(Buffer.from([0x7f, 0x03, 0xff]))).not.toThrow();
    expect(() => scanProperties(Buffer.from([0x05, 0x26, 0xff]))).not.toThrow();
  });
});
