// The reference broker end to end: mqtt.js clients over mutual TLS on 127.0.0.1.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import type { MqttVersion } from '../rules/catalogue.ts';
import { temporaryDir } from '../common/test-support.ts';
import { startTestBroker, type TestBroker } from '../testkit/test-broker.ts';
import { startReferenceBroker, type ReferenceBroker } from './broker.ts';

let t: TestBroker<ReferenceBroker>;
afterEach(async () => {
  await t?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const CODES = {
  '5': { notAuthorized: 0x87, invalidId: 0x85, quota: 0x97, badCredentials: 0x86 },
  '3.1.1': { notAuthorized: 5, invalidId: 2, quota: 3, badCredentials: 4 },
} as const;

describe.each(['3.1.1', '5'] as MqttVersion[])('over MQTT %s', (version) => {
  const codes = CODES[version];
  const persistent = version === '5' ? { sessionExpiry: 3600 } : {};

  it('S1: one identity holds two sessions at once with one certificate', async () => {
    t = await startTestBroker(startReferenceBroker);
    const one = await t.open('alpha', 's1', version);
    const two = await t.open('alpha', 's2', version);
    expect(one.connected && two.connected).toBe(true);
  });

  it('S4: an empty ClientID is refused', async () => {
    t = await startTestBroker(startReferenceBroker);
    const outcome = await t.connect('alpha', '', version, { cleanStart: true });
    expect(outcome).toMatchObject({ accepted: false, code: codes.invalidId });
  });

  it('S6: another identity is refused while the owner stays connected and keeps receiving QoS 1', async () => {
    t = await startTestBroker(startReferenceBroker);
    const owner = await t.open('alpha', 's1', version, persistent);
    await owner.subscribe('mmc/alpha/s1', 1);
    const contender = await t.connect('beta', 's1', version);
    expect(contender).toMatchObject({ accepted: false, code: codes.notAuthorized });
    // The refused client is not told whose session it is; the broker's log says.
    if (!contender.accepted) expect(contender.reasonString ?? '').not.toContain('alpha');
    expect(t.log.join('\n')).toContain('is in use by another client (owner "alpha")');
    const publisher = await t.open('observer', 'pub', version);
    await publisher.publish('mmc/alpha/s1', 'after', 1);
    expect((await owner.nextMessage('mmc/alpha/s1')).payload).toBe('after');
    expect(owner.connected).toBe(true);
  });

  it('S7: the name is held after an unclean disconnect and free after expiry', async () => {
    let now = Date.now();
    t = await startTestBroker(startReferenceBroker, { reference: { maximumSessionExpiryInSeconds: 1 } }, { clock: () => now });
    const owner = await t.open('alpha', 's1', version, persistent);
    await owner.subscribe('mmc/alpha/s1', 1);
    await owner.drop();
    // Refused: the drop has reached the broker, and the session has been held since `now`.
    expect(await t.connect('beta', 's1', version)).toMatchObject({ accepted: false, code: codes.notAuthorized });
    now += 999;
    expect(await t.connect('beta', 's1', version)).toMatchObject({ accepted: false, code: codes.notAuthorized });
    now += 1;
    // A CONNECT first sweeps the sessions whose expiry has passed on the broker's clock.
    const successor = await t.open('beta', 's1', version, persistent);
    expect(successor.sessionPresent).toBe(false);
    expect(t.log).toContain('session "s1" of client "alpha" expired; its name is free [S7]');
  });

  it('S8: the same identity takes its session over; the older connection is ended', async () => {
    t = await startTestBroker(startReferenceBroker);
    const first = await t.open('alpha', 's1', version, persistent);
    await first.subscribe('mmc/alpha/s1', 1);
    const second = await t.open('alpha', 's1', version, persistent);
    expect(second.sessionPresent).toBe(true);
    const end = await first.ended;
    expect(end.disconnectReasonCode).toBe(version === '5' ? 0x8e : undefined);
  });

  it('S9: one session past the limit is refused with quota exceeded', async () => {
    t = await startTestBroker(startReferenceBroker, { maximumClientSessionsPerAuthenticationName: 2 });
    await t.open('alpha', 's1', version);
    await t.open('alpha', 's2', version);
    expect(await t.connect('alpha', 's3', version)).toMatchObject({ accepted: false, code: codes.quota });
  });

  it('L2: a resumed session is present and gets the QoS 1 messages it missed, even with no subscription held', async () => {
    t = await startTestBroker(startReferenceBroker);
    const owner = await t.open('alpha', 's1', version, persistent);
    await owner.subscribe('mmc/alpha/s1', 1);
    await owner.disconnect();
    const publisher = await t.open('observer', 'pub', version);
    await publisher.publish('mmc/alpha/s1', 'missed', 1);
    const resumed = await t.open('alpha', 's1', version, persistent);
    expect(resumed.sessionPresent).toBe(true);
    expect((await resumed.nextMessage('mmc/alpha/s1')).payload).toBe('missed');
    const bare = await t.open('alpha', 's2', version, persistent);
    await bare.disconnect();
    expect((await t.open('alpha', 's2', version, persistent)).sessionPresent).toBe(true);
  });

  it.each([
    ['neg-expired', 'badCredentials'],
    ['neg-not-yet-valid', 'badCredentials'],
    ['neg-unregistered-ca', 'badCredentials'],
    ['neg-no-client-auth', 'badCredentials'],
    ['neg-subject-mismatch', 'badCredentials'],
    ['neg-thumbprint-unregistered', 'badCredentials'],
    ['delta-disabled', 'notAuthorized'],
  ] as const)('A1-A3: %s is refused as %s', async (identity, code) => {
    t = await startTestBroker(startReferenceBroker);
    expect(await t.connect(identity, `s-${identity}`, version)).toMatchObject({ accepted: false, code: codes[code] });
  });

  it('P2, P3: refuses a SUBSCRIBE and a PUBLISH outside the bindings, with the rule id in the log', async () => {
    t = await startTestBroker(startReferenceBroker);
    const beta = await t.open('beta', 'b1', version);
    await beta.subscribe('mmc/beta/b1', 1);
    const alpha = await t.open('alpha', 'a1', version);
    expect(await alpha.subscribeCode('elsewhere/x', 1)).toBe(version === '5' ? 0x87 : 0x80);
    expect(await alpha.subscribeCode('mmc/beta/b1', 1)).toBe(version === '5' ? 0x87 : 0x80);
    expect(await alpha.subscribeCode('mmc/alpha/a1', 1)).toBe(1);
    const forged = await alpha.tryPublish('mmc/beta/b1', 'forged');
    // MQTT 5 answers in the PUBACK and keeps the connection; 3.1.1 has no code for it: the gate closes.
    expect(forged).toEqual(version === '5' ? { acknowledged: true, reasonCode: 0x87 } : expect.objectContaining({ acknowledged: false, closed: true }));
    if (version === '5') expect(await alpha.tryPublish('mmc/alpha/a1', 'own')).toEqual({ acknowledged: true, reasonCode: 0 });
    // The connection remembers the decisions for a topic: the same answers again.
    if (version === '5') expect(await alpha.tryPublish('mmc/beta/b1', 'forged again')).toEqual({ acknowledged: true, reasonCode: 0x87 });
    if (version === '5') expect(await alpha.tryPublish('mmc/alpha/a1', 'own again')).toEqual({ acknowledged: true, reasonCode: 0 });
    const observer = await t.open('observer', 'o1', version);
    await observer.publish('mmc/beta/b1', 'genuine', 1);
    expect((await beta.nextMessage('mmc/beta/b1')).payload).toBe('genuine');
    expect(t.log).toContainEqual(expect.stringMatching(/^session "a1": SUBSCRIBE elsewhere\/x refused \[P2\]/));
    expect(t.log).toContainEqual(expect.stringMatching(/^session "a1": SUBSCRIBE mmc\/beta\/b1 refused \[P3\]/));
    const answered = version === '5' ? 'not delivered' : 'ends the connection';
    expect(t.log).toContainEqual(expect.stringMatching(new RegExp(`^session "a1": PUBLISH to mmc/beta/b1 ${answered} \\[P3\\]`)));
  });

  it('A3: every validation scheme admits its own good certificate', async () => {
    t = await startTestBroker(startReferenceBroker);
    for (const identity of ['dns-client', 'uri-client', 'ip-client', 'email-client', 'thumb-client', 'alpha-upper']) {
      await t.open(identity, `s-${identity}`, version);
    }
  });
});

describe('MQTT 5 specifics', () => {
  it('S7/L1: a DISCONNECT that sets the Session Expiry Interval to 0 ends the session and frees its name', async () => {
    t = await startTestBroker(startReferenceBroker);
    const owner = await t.open('alpha', 's1', '5', { sessionExpiry: 3600 });
    await owner.disconnect({ sessionExpiry: 0 });
    await sleep(100);
    expect((await t.open('beta', 's1', '5')).sessionPresent).toBe(false);
  });

  it('L1: a Session Expiry Interval above the maximum is capped, and the CONNACK says so', async () => {
    t = await startTestBroker(startReferenceBroker, { reference: { maximumSessionExpiryInSeconds: 30 } });
    const client = await t.open('alpha', 's1', '5', { sessionExpiry: 3600 });
    expect(client.connackProperties.sessionExpiryInterval).toBe(30);
  });

  it('L4: life cycle events go to an NDJSON file too', async () => {
    const file = join(temporaryDir(), 'lifecycle.ndjson');
    t = await startTestBroker(startReferenceBroker, {}, { lifecycleFile: file });
    await (await t.open('alpha', 's1', '5')).disconnect();
    await sleep(100);
    // The session ended with its connection (no expiry asked): the next one numbers from 1 again.
    await (await t.open('beta', 's1', '5')).drop();
    await sleep(100);
    const events = readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(events.map((event) => [event.type.split('.').pop(), event.subject, event.data.sequenceNumber, event.data.disconnectionReason])).toEqual([
      ['MQTTClientSessionConnected', 'clients/alpha/sessions/s1', 1, undefined],
      ['MQTTClientSessionDisconnected', 'clients/alpha/sessions/s1', 2, 'ClientInitiatedDisconnect'],
      ['MQTTClientSessionConnected', 'clients/beta/sessions/s1', 1, undefined],
      ['MQTTClientSessionDisconnected', 'clients/beta/sessions/s1', 2, 'ConnectionLost'],
    ]);
  });

  it('L4: life cycle events follow a session through takeover', async () => {
    t = await startTestBroker(startReferenceBroker);
    const events: string[] = [];
    t.broker.events.on('event', (event) => events.push(`${event.type.split('.').pop()} ${event.subject} ${event.data.disconnectionReason ?? ''}`.trim()));
    const first = await t.open('alpha', 's1', '5');
    await t.open('alpha', 's1', '5');
    await first.ended;
    await sleep(50);
    expect(events).toEqual([
      'MQTTClientSessionConnected clients/alpha/sessions/s1',
      'MQTTClientSessionConnected clients/alpha/sessions/s1',
      'MQTTClientSessionDisconnected clients/alpha/sessions/s1 SessionTakenOver',
    ]);
  });
});

/** A raw TLS connection that sends bytes as given, for packets mqtt.js will not send. */
async function rawExchange(t: TestBroker<ReferenceBroker>, identityId: string, bytes: Buffer): Promise<{ received: Buffer; closed: boolean }> {
  const identity = t.pki.identities.get(identityId)!;
  const socket = tlsConnect({ host: '127.0.0.1', port: t.broker.port, servername: 'localhost', ca: t.pki.rootCaPem, cert: identity.certificatePem, key: identity.keyPem });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk) => chunks.push(chunk));
  await new Promise((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  socket.write(bytes);
  const closed = await Promise.race([new Promise<boolean>((resolve) => socket.once('close', () => resolve(true))), sleep(2000).then(() => false)]);
  socket.destroy();
  return { received: Buffer.concat(chunks), closed };
}

describe('packets mqtt.js does not send', () => {
  it.each([4, 5] as const)('S4: empty ClientID with clean=false (protocol level %i) is refused', async (protocolVersion) => {
    t = await startTestBroker(startReferenceBroker);
    // mqtt-packet will not generate this CONNECT either: make it with clean=1, then clear the flag.
    const connect = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion, clientId: '', clean: true, keepalive: 30, username: 'alpha' });
    const flags = 2 + 6 + 1; // fixed header (1-byte length), protocol name, protocol level
    expect(connect.subarray(2, 8).toString('latin1')).toBe('\u0000\u0004MQTT');
    connect[flags] = connect[flags]! & ~0x02;
    const { received, closed } = await rawExchange(t, 'alpha', connect);
    const parser = mqttPacket.parser({ protocolVersion });
    const packets: mqttPacket.Packet[] = [];
    parser.on('packet', (packet) => packets.push(packet));
    parser.parse(received);
    expect(packets[0]).toMatchObject(protocolVersion === 5 ? { cmd: 'connack', reasonCode: 0x85 } : { cmd: 'connack', returnCode: 2 });
    expect(closed).toBe(true);
  });

  it('a malformed packet closes that connection and the broker keeps serving', async () => {
    t = await startTestBroker(startReferenceBroker);
    const { closed } = await rawExchange(t, 'alpha', Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00]));
    expect(closed).toBe(true);
    expect((await t.open('alpha', 's1', '5')).connected).toBe(true);
  });
});
