// Will Messages on the reference broker: what a delivered will carries, the Maximum QoS a will may ask
// for (L9), its delay (L19), the permission bindings its topic must lie in (P2, P3), and a DISCONNECT
// whose User Properties fail it (M5).
import { afterEach, describe, expect, it } from 'vitest';
import type { MqttVersion } from '../rules/catalogue.ts';
import { openRawSession } from '../testkit/raw-session.ts';
import { startTestBroker, type TestBroker } from '../testkit/test-broker.ts';
import { startReferenceBroker, type ReferenceBroker } from './broker.ts';

let t: TestBroker<ReferenceBroker>;
afterEach(async () => {
  await t?.stop();
});

describe('a delivered will', () => {
  it('is a PUBLISH carrying only what a PUBLISH may: no Will Delay Interval, the other will properties kept', async () => {
    t = await startTestBroker(startReferenceBroker);
    const identity = t.pki.identities.get('alpha')!;
    // A raw subscriber, so that the PUBLISH is seen as it is on the wire.
    const watcher = await openRawSession({ port: t.broker.port, ca: t.pki.rootCaPem, cert: identity.certificatePem, key: identity.keyPem });
    watcher.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, clientId: 'watcher', keepalive: 30, username: 'alpha' });
    expect(await watcher.next()).toMatchObject({ cmd: 'connack', reasonCode: 0 });
    watcher.sendPacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'mmc/alpha/s1/will', qos: 1 }] });
    expect(await watcher.next()).toMatchObject({ cmd: 'suback', granted: [1] });
    // Session expiry 0: the will goes at once, Will Delay Interval or not (the lesser of the two).
    const dying = await t.open('alpha', 's1', '5', {
      cleanStart: true,
      sessionExpiry: 0,
      will: { topic: 'mmc/alpha/s1/will', payload: 'gone', qos: 1, properties: { willDelayInterval: 30, contentType: 'text/plain', userProperties: { why: 'test' } } },
    });
    await dying.drop();
    const will = await watcher.next(3000);
    expect(will).toMatchObject({ cmd: 'publish', topic: 'mmc/alpha/s1/will', qos: 1, properties: { contentType: 'text/plain', userProperties: { why: 'test' } } });
    expect((will as { properties?: Record<string, unknown> }).properties).not.toHaveProperty('willDelayInterval');
    watcher.end();
  });

  it('published after its Will Delay Interval carries none either', async () => {
    t = await startTestBroker(startReferenceBroker);
    const watcher = await t.open('alpha', 'watcher', '5', { cleanStart: true, sessionExpiry: 0 });
    await watcher.subscribe('mmc/alpha/s1/will', 1);
    const dying = await t.open('alpha', 's1', '5', { sessionExpiry: 60, will: { topic: 'mmc/alpha/s1/will', payload: 'gone', qos: 1, properties: { willDelayInterval: 1 } } });
    const dropped = Date.now();
    await dying.drop();
    const will = await watcher.nextMessage('mmc/alpha/s1/will', 3000);
    expect(Date.now() - dropped).toBeGreaterThanOrEqual(900);
    expect(will).toMatchObject({ payload: 'gone', qos: 1 });
    expect(will.properties ?? {}).not.toHaveProperty('willDelayInterval');
  });
});

describe('the delay of a will (L19: at most 300 s)', () => {
  // The namespace's maximum is lowered to 1 s so that the test need not wait five minutes: a will that
  // asks for an hour comes out after the maximum.
  it('a Will Delay Interval above the maximum is lowered to it', async () => {
    t = await startTestBroker(startReferenceBroker, { reference: { limits: { willDelaySeconds: 1 } } });
    const watcher = await t.open('alpha', 'watcher', '5', { cleanStart: true, sessionExpiry: 0 });
    await watcher.subscribe('mmc/alpha/s1/will', 1);
    const dying = await t.open('alpha', 's1', '5', { sessionExpiry: 60, will: { topic: 'mmc/alpha/s1/will', payload: 'gone', qos: 1, properties: { willDelayInterval: 3600 } } });
    expect(t.log).toContainEqual(expect.stringMatching(/^session "s1": Will Delay Interval 3600 s lowered to 1 s \[L19\]/));
    const dropped = Date.now();
    await dying.drop();
    const will = await watcher.nextMessage('mmc/alpha/s1/will', 4000);
    expect(Date.now() - dropped).toBeGreaterThanOrEqual(900);
    expect(will).toMatchObject({ payload: 'gone', qos: 1 });
  });
});

describe('a DISCONNECT carrying User Properties (M5: the request fails)', () => {
  it('does not end the connection normally: the will is published; without them it is deleted', async () => {
    t = await startTestBroker(startReferenceBroker);
    const identity = t.pki.identities.get('alpha')!;
    const watcher = await t.open('alpha', 'watcher', '5', { cleanStart: true, sessionExpiry: 0 });
    await watcher.subscribe('mmc/alpha/+/will', 1);
    for (const [name, userProperties] of [['plain', undefined], ['with-properties', { why: 'test' }]] as const) {
      const leaving = await openRawSession({ port: t.broker.port, ca: t.pki.rootCaPem, cert: identity.certificatePem, key: identity.keyPem });
      leaving.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, clientId: name, keepalive: 30, username: 'alpha', will: { topic: `mmc/alpha/${name}/will`, payload: Buffer.from(name), qos: 1, retain: false } });
      expect(await leaving.next()).toMatchObject({ cmd: 'connack', reasonCode: 0 });
      leaving.sendPacket({ cmd: 'disconnect', reasonCode: 0, ...(userProperties ? { properties: { userProperties } } : {}) });
      leaving.end();
    }
    const will = await watcher.nextMessage('mmc/alpha/with-properties/will', 3000);
    expect(will.payload).toBe('with-properties');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(watcher.pending().filter((message) => message.topic === 'mmc/alpha/plain/will')).toEqual([]);
  });
});

describe('the QoS of a will (L9: Maximum QoS is 1)', () => {
  it('MQTT 5: a CONNECT with a QoS 2 will is refused with CONNACK 0x9B; with a QoS 1 will it is accepted', async () => {
    t = await startTestBroker(startReferenceBroker);
    const refused = await t.connect('alpha', 's1', '5', { will: { topic: 'mmc/alpha/s1/will', payload: 'gone', qos: 2 } });
    expect(refused).toMatchObject({ accepted: false, code: 0x9b });
    expect(t.log).toContainEqual(expect.stringMatching(/^refused session "s1" \[L9\] 0x9b QoS not supported: /));
    const accepted = await t.connect('alpha', 's1', '5', { will: { topic: 'mmc/alpha/s1/will', payload: 'gone', qos: 1 } });
    expect(accepted.accepted).toBe(true);
  });

  it('MQTT 3.1.1: a CONNECT with a QoS 2 will is accepted (3.1.1 has no code to refuse it with), and the will is published at QoS 1', async () => {
    t = await startTestBroker(startReferenceBroker);
    const watcher = await t.open('alpha', 'watcher', '3.1.1');
    expect(await watcher.subscribeCode('mmc/alpha/s1/will', 2)).toBe(1);
    const dying = await t.open('alpha', 's1', '3.1.1', { will: { topic: 'mmc/alpha/s1/will', payload: 'gone', qos: 2 } });
    expect(t.log).toContainEqual(expect.stringMatching(/will of QoS 2 .*published at QoS 1 \[L9\]/));
    await dying.drop();
    expect(await watcher.nextMessage('mmc/alpha/s1/will', 3000)).toMatchObject({ payload: 'gone', qos: 1 });
  });
});

describe.each(['5', '3.1.1'] as MqttVersion[])('the topic of a will, over MQTT %s (P2, P3: authorized as a PUBLISH, at CONNECT)', (version) => {
  const notAuthorized = version === '5' ? 0x87 : 5;
  const withWill = (topic: string) => ({ will: { topic, payload: 'gone', qos: 1 as const } });

  it('outside the bound topic spaces, or reserved: the CONNECT is refused as not authorized [P2]', async () => {
    t = await startTestBroker(startReferenceBroker);
    expect(await t.connect('alpha', 's1', version, withWill('elsewhere/s1/will'))).toMatchObject({ accepted: false, code: notAuthorized });
    expect(await t.connect('alpha', 's2', version, withWill('$SYS/s2/will'))).toMatchObject({ accepted: false, code: notAuthorized });
    expect(t.log).toContainEqual(expect.stringMatching(/^refused session "s1" \[P2\] .*elsewhere\/s1\/will/));
    expect(t.log).toContainEqual(expect.stringMatching(/^refused session "s2" \[P2\]/));
    expect((await t.connect('alpha', 's3', version, withWill('mmc/alpha/s3/will'))).accepted).toBe(true);
  });

  it("on another client's topic: the CONNECT is refused as not authorized [P3]; no will is ever published there", async () => {
    t = await startTestBroker(startReferenceBroker);
    const beta = await t.open('beta', 'b1', version);
    await beta.subscribe('mmc/beta/b1/will', 1);
    expect(await t.connect('alpha', 's1', version, withWill('mmc/beta/b1/will'))).toMatchObject({ accepted: false, code: notAuthorized });
    expect(t.log).toContainEqual(expect.stringMatching(/^refused session "s1" \[P3\]/));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(beta.pending()).toEqual([]);
  });
});

