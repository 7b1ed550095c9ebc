// Microsoft Entra ID tokens on the reference broker (E1, E2), from its local stand-in tenant
// (certs/tokens.ts, reference.entraId): OAUTH2-JWT authenticates, the object id names the client, role
// assignments grant publishing and subscribing, and AUTH 0x19 re-authenticates as for a custom JWT.
import { afterEach, expect, it } from 'vitest';
import { issueToken, SUBSCRIBER_ONLY_PRINCIPAL } from '../certs/tokens.ts';
import { openRawSession, type RawSession } from '../testkit/raw-session.ts';
import { startTestBroker, type TestBroker } from '../testkit/test-broker.ts';
import { startReferenceBroker, type ReferenceBroker } from './broker.ts';

let t: TestBroker<ReferenceBroker>;
const opened: RawSession[] = [];
afterEach(async () => {
  for (const session of opened.splice(0)) session.end();
  await t?.stop();
});

const entraToken = (identity: string, claims: Record<string, unknown> = {}) => issueToken(t.pki, { identity, method: 'OAUTH2-JWT', claims });

async function connect(clientId: string, token: string) {
  const session = await openRawSession({ port: t.broker.port, ca: t.pki.rootCaPem });
  opened.push(session);
  session.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, clientId, keepalive: 30, properties: { authenticationMethod: 'OAUTH2-JWT', authenticationData: Buffer.from(token) } });
  return { session, connack: await session.next(3000) };
}

it('E1: a token of the tenant is accepted, named by its oid; one of another tenant is refused (0x86)', async () => {
  t = await startTestBroker(startReferenceBroker);
  expect((await connect('s1', await entraToken('alpha'))).connack).toMatchObject({ cmd: 'connack', reasonCode: 0, properties: { authenticationMethod: 'OAUTH2-JWT' } });
  expect(t.log).toContainEqual(expect.stringMatching(/^accepted session "s1" for client "alpha" \(name from token claim \(oid\)/));
  expect((await connect('s2', await entraToken('alpha', { iss: 'https://sts.windows.net/another-tenant/' }))).connack).toMatchObject({ reasonCode: 0x86 });
  expect((await connect('s3', await entraToken('alpha', { aud: 'https://management.azure.com/' }))).connack).toMatchObject({ reasonCode: 0x86 });
});

it('E2: the Subscriber role alone lets a principal subscribe, not publish (PUBACK 0x87); both roles let it publish', async () => {
  t = await startTestBroker(startReferenceBroker);
  const own = (name: string, session: string) => `mmc/${name}/${session}/inbox`;
  const { session: reader } = await connect('g1', await entraToken(SUBSCRIBER_ONLY_PRINCIPAL));
  reader.sendPacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: own(SUBSCRIBER_ONLY_PRINCIPAL, 'g1'), qos: 1 }] });
  expect(await reader.next(3000)).toMatchObject({ cmd: 'suback', granted: [1] });
  reader.sendPacket({ cmd: 'publish', topic: own(SUBSCRIBER_ONLY_PRINCIPAL, 'g1'), payload: Buffer.from('x'), qos: 1, messageId: 2, dup: false, retain: false });
  expect(await reader.next(3000)).toMatchObject({ cmd: 'puback', reasonCode: 0x87 });
  const { session: writer } = await connect('a1', await entraToken('alpha'));
  writer.sendPacket({ cmd: 'publish', topic: own('alpha', 'a1'), payload: Buffer.from('x'), qos: 1, messageId: 3, dup: false, retain: false });
  expect(await writer.next(3000)).toMatchObject({ cmd: 'puback', reasonCode: 0 });
});

it('re-authenticates with AUTH 0x19 and a fresh Entra token, as a custom JWT does', async () => {
  t = await startTestBroker(startReferenceBroker);
  const { session } = await connect('s1', await entraToken('alpha'));
  session.sendPacket({ cmd: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'OAUTH2-JWT', authenticationData: Buffer.from(await entraToken('alpha')) } });
  expect(await session.next(3000)).toMatchObject({ cmd: 'auth', reasonCode: 0, properties: { authenticationMethod: 'OAUTH2-JWT' } });
});
