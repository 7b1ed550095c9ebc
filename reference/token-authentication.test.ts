// Custom JWT on the reference broker (T1-T6): a token of the set's local issuer (certs/tokens.ts)
// authenticates an MQTT 5 CONNECT without a client certificate, and each way a token can be wrong is
// refused for its own reason, while the same CONNECT with a good token is accepted.
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { issueToken, type TokenRequest } from '../certs/tokens.ts';
import { PacketLog } from '../mqtt-client/packet-log.ts';
import { RawConnection } from '../mqtt-client/raw-client.ts';
import { openRawSession, type RawSession } from '../testkit/raw-session.ts';
import { startTestBroker, type TestBroker } from '../testkit/test-broker.ts';
import { startReferenceBroker, type ReferenceBroker } from './broker.ts';

let t: TestBroker<ReferenceBroker>;
const opened: RawSession[] = [];
afterEach(async () => {
  for (const session of opened.splice(0)) session.end();
  await t?.stop();
});

/** An MQTT 5 CONNECT with no client certificate, presenting `token` under `method`; the CONNACK it gets. */
async function connectWithToken(clientId: string, token: string, method = 'CUSTOM-JWT', extra: { username?: string } = {}) {
  const session = await openRawSession({ port: t.broker.port, ca: t.pki.rootCaPem });
  opened.push(session);
  session.sendPacket({
    cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, clientId, keepalive: 30, ...extra,
    properties: { authenticationMethod: method, authenticationData: Buffer.from(token) },
  });
  return { session, connack: (await session.next(3000)) as { cmd: string; reasonCode?: number; properties?: Record<string, unknown> } | undefined };
}

const token = (request: Partial<TokenRequest> = {}) => issueToken(t.pki, { identity: 'alpha', ...request });

describe('custom JWT authentication (T1)', () => {
  it('accepts an MQTT 5 CONNECT with a good token and no certificate; the CONNACK names the method', async () => {
    t = await startTestBroker(startReferenceBroker);
    const { connack } = await connectWithToken('s1', await token());
    expect(connack).toMatchObject({ cmd: 'connack', reasonCode: 0, properties: { authenticationMethod: 'CUSTOM-JWT' } });
    expect(t.log).toContainEqual(expect.stringMatching(/^accepted session "s1" for client "alpha" \(name from token subject \(sub\)/));
  });

  it("names the client by the token's subject, not the Username: another token identity is refused the session (S6)", async () => {
    t = await startTestBroker(startReferenceBroker);
    expect((await connectWithToken('s1', await token(), 'CUSTOM-JWT', { username: 'beta' })).connack).toMatchObject({ reasonCode: 0 });
    const other = await connectWithToken('s1', await token({ identity: 'beta' }));
    expect(other.connack).toMatchObject({ reasonCode: 0x87 });
  });

  it('refuses a token with no subject (0x86)', async () => {
    t = await startTestBroker(startReferenceBroker);
    expect((await connectWithToken('s1', await token({ claims: { sub: '' } }))).connack).toMatchObject({ reasonCode: 0x86 });
  });
});

describe('what a token must be (T2-T6), each refusal for its own reason', () => {
  const cases: [string, string, () => Promise<string>, string?][] = [
    ['T2', 'an expired token', () => token({ expiresInSeconds: -60 })],
    ['T2', 'a token not yet valid', () => token({ notBeforeInSeconds: 600 })],
    ['T3', 'a token of another issuer', () => token({ claims: { iss: 'https://elsewhere.test/' } })],
    ['T3', 'a token for another audience', () => token({ claims: { aud: 'https://other.example/' } })],
    ['T4', 'a token signed by a key the namespace does not trust', () => token({ untrusted: true })],
    ['T4', 'authentication data that is no JWT', async () => 'not-a-token'],
    ['T5', 'a good token under another method name', () => token(), 'JWT'],
  ];
  for (const [rule, what, make, method] of cases) {
    it(`${rule}: refuses ${what}`, async () => {
      t = await startTestBroker(startReferenceBroker);
      const { connack } = await connectWithToken('s1', await make(), method);
      expect(connack).toMatchObject({ cmd: 'connack', reasonCode: rule === 'T5' ? 0x8c : 0x86 });
      expect(t.log).toContainEqual(expect.stringMatching(new RegExp(`^refused session "s1" \\[${rule}\\]`)));
      expect((await connectWithToken('s2', await token())).connack).toMatchObject({ reasonCode: 0 });
    });
  }

  it('T6: refuses an MQTT 3.1.1 CONNECT with a token as its password and no certificate (4); the same token over MQTT 5 is accepted', async () => {
    t = await startTestBroker(startReferenceBroker);
    const session = await openRawSession({ port: t.broker.port, ca: t.pki.rootCaPem, protocolVersion: 4 });
    opened.push(session);
    session.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 's1', keepalive: 30, username: 'alpha', password: Buffer.from(await token()) });
    expect(await session.next(3000)).toMatchObject({ cmd: 'connack', returnCode: 4 });
    expect(t.log).toContainEqual(expect.stringMatching(/^refused session "s1" \[T6\]/));
    expect((await connectWithToken('s1', await token())).connack).toMatchObject({ reasonCode: 0 });
  });
});

describe('re-authentication (T7) and the token expiry (T8)', () => {
  const auth = (data: string, reasonCode = 0x19, method = 'CUSTOM-JWT') => ({ cmd: 'auth' as const, reasonCode, properties: { authenticationMethod: method, authenticationData: Buffer.from(data) } });

  it('T7: an AUTH 0x19 with a fresh token is answered AUTH 0x00 and the connection is kept', async () => {
    t = await startTestBroker(startReferenceBroker);
    const { session } = await connectWithToken('s1', await token());
    session.sendPacket(auth(await token()));
    expect(await session.next(3000)).toMatchObject({ cmd: 'auth', reasonCode: 0, properties: { authenticationMethod: 'CUSTOM-JWT' } });
    session.sendPacket({ cmd: 'pingreq' });
    expect(await session.next(3000)).toMatchObject({ cmd: 'pingresp' });
  });

  const failures: [string, () => Promise<ReturnType<typeof auth>>][] = [
    ['an expired token', async () => auth(await token({ expiresInSeconds: -60 }))],
    ["another identity's token", async () => auth(await token({ identity: 'beta' }))],
    ['another method', async () => auth(await token(), 0x19, 'OAUTH2-JWT')],
    ['reason 0x18 (continue authentication)', async () => auth(await token(), 0x18)],
  ];
  for (const [what, make] of failures) {
    it(`T7: an AUTH with ${what} ends the connection with DISCONNECT 0x87 (ClientAuthenticationError)`, async () => {
      t = await startTestBroker(startReferenceBroker);
      const reasons: (string | undefined)[] = [];
      t.broker.events.on('event', (event) => reasons.push(event.data.disconnectionReason));
      const { session } = await connectWithToken('s1', await token());
      session.sendPacket(await make());
      expect(await session.next(3000)).toMatchObject({ cmd: 'disconnect', reasonCode: 0x87 });
      expect(await session.closedWithin(3000)).toBe(true);
      await expect.poll(() => reasons.at(-1)).toBe('ClientAuthenticationError');
    });
  }

  it('T8: a connection whose token expires unrenewed is ended with DISCONNECT 0x87; one renewed in time is kept', async () => {
    t = await startTestBroker(startReferenceBroker);
    const renewed = (await connectWithToken('renewed', await token({ expiresInSeconds: 2 }))).session;
    const lapsed = (await connectWithToken('lapsed', await token({ expiresInSeconds: 2 }))).session;
    renewed.sendPacket(auth(await token()));
    expect(await renewed.next(3000)).toMatchObject({ cmd: 'auth', reasonCode: 0 });
    expect(await lapsed.next(4000)).toMatchObject({ cmd: 'disconnect', reasonCode: 0x87, properties: { reasonString: 'the token expired without re-authentication' } });
    renewed.sendPacket({ cmd: 'pingreq' });
    expect(await renewed.next(3000)).toMatchObject({ cmd: 'pingresp' });
    expect(t.log).toContainEqual(expect.stringMatching(/^ending session "lapsed" \[T8\]/));
  });
});

describe('custom JWT over wss (mqtt.js, no client certificate)', () => {
  it('holds two sessions of one identity, refuses another identity one of them (0x87) and a forged token (0x86), and re-authenticates', async () => {
    t = await startTestBroker(startReferenceBroker);
    const clients: mqtt.MqttClient[] = [];
    const connect = (clientId: string, data: string) =>
      new Promise<{ client: mqtt.MqttClient; code?: number }>((resolve) => {
        const client = mqtt.connect(t.broker.wsUrl!, {
          ca: t.pki.rootCaPem,
          protocolVersion: 5,
          clientId,
          clean: true,
          reconnectPeriod: 0,
          properties: { authenticationMethod: 'CUSTOM-JWT', authenticationData: Buffer.from(data) },
        });
        clients.push(client);
        client.once('connect', () => resolve({ client }));
        client.once('error', (error: Error & { code?: number }) => resolve({ client, code: error.code }));
      });
    try {
      expect((await connect('w1', await token())).code).toBeUndefined();
      const second = await connect('w2', await token());
      expect(second.code).toBeUndefined();
      expect((await connect('w1', await token({ identity: 'beta' }))).code).toBe(0x87);
      expect((await connect('w3', await token({ untrusted: true }))).code).toBe(0x86);
      // AUTH 0x19 over wss: the broker answers AUTH 0x00 and the connection stays.
      const answered = new Promise((resolve) => second.client.on('packetreceive', (packet) => packet.cmd === 'auth' && resolve(packet.reasonCode)));
      second.client.stream.write(mqttPacket.generate({ cmd: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'CUSTOM-JWT', authenticationData: Buffer.from(await token()) } }, { protocolVersion: 5 }));
      expect(await answered).toBe(0);
      expect(second.client.connected).toBe(true);
    } finally {
      for (const client of clients) client.end(true);
    }
  });
});

describe("the suite's byte-level client under a token (mqtt-client/raw-client.ts)", () => {
  it('authenticates by the token, and its packet log keeps the token by its size only', async () => {
    t = await startTestBroker(startReferenceBroker);
    const data = await token();
    const packetLog = new PacketLog();
    const outcome = await RawConnection.connect({
      url: t.broker.url, ca: t.pki.rootCaPem, identity: t.pki.identities.get('alpha')!, version: '5', clientId: Buffer.from('raw-1'), timeoutMs: 3000, packetLog,
      credentials: { token: { method: 'CUSTOM-JWT', data: Buffer.from(data) } },
    });
    expect(outcome.accepted).toBe(true);
    if (outcome.accepted) outcome.connection.close();
    expect(t.log).toContainEqual(expect.stringMatching(/^accepted session "raw-1" for client "alpha" \(name from token subject \(sub\)/));
    const logged = JSON.stringify(packetLog);
    expect(logged).not.toContain(data);
    expect(logged).toContain(`(redacted, ${Buffer.byteLength(data)} bytes)`);
  });
});
