// What a client's own CONNECT and SUBSCRIBE ask of the broker, as the reference keeps it: no Subscription
// Identifiers (M2), and a SUBACK with one code per filter of its SUBSCRIBE, in order, repeats and
// refusals included.
import { inject } from 'vitest';
import { afterEach, describe, expect, it } from 'vitest';
import type mqttPacket from 'mqtt-packet';
import { loadPki, serverTlsFromPki } from '../certs/manifest.ts';
import { namespaceFromPki } from '../certs/namespace.ts';
import { openRawSession, type RawSession } from '../testkit/raw-session.ts';
import { startReferenceBroker, type ReferenceBroker } from './broker.ts';
import { mutatedBehaviour } from './policy/mutants.ts';
import type { Behaviour } from './policy/behaviour.ts';

const pki = loadPki(inject('pkiDir'));
let broker: ReferenceBroker | undefined;
const log: string[] = [];
const sessions: RawSession[] = [];
afterEach(async () => {
  for (const session of sessions.splice(0)) session.end();
  await broker?.stop();
  broker = undefined;
  log.length = 0;
});

async function start(behaviour?: Behaviour): Promise<ReferenceBroker> {
  broker = await startReferenceBroker({ namespace: namespaceFromPki(pki), tls: serverTlsFromPki(pki), log: (line) => log.push(line), ...(behaviour ? { behaviour } : {}) });
  return broker;
}

type Publish = mqttPacket.IPublishPacket;

/** A raw connection of `identity`, its CONNECT accepted; it never acknowledges anything on its own. */
async function connect(
  identity: string,
  clientId: string,
  options: { version?: 4 | 5; properties?: mqttPacket.IConnectPacket['properties']; clean?: boolean } = {},
): Promise<{ session: RawSession; connack: mqttPacket.IConnackPacket }> {
  const version = options.version ?? 5;
  const { certificatePem, keyPem } = pki.identities.get(identity)!;
  const session = await openRawSession({ port: broker!.port, ca: pki.rootCaPem, cert: certificatePem, key: keyPem, protocolVersion: version });
  sessions.push(session);
  session.sendPacket({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: version,
    clientId,
    clean: options.clean ?? true,
    keepalive: 30,
    username: identity,
    ...(options.properties ? { properties: options.properties } : {}),
  });
  const connack = (await session.next()) as mqttPacket.IConnackPacket;
  expect(connack).toMatchObject({ cmd: 'connack' });
  expect(connack.reasonCode ?? connack.returnCode).toBe(0);
  return { session, connack };
}

async function subscribe(session: RawSession, topic: string, messageId = 1): Promise<void> {
  session.sendPacket({ cmd: 'subscribe', messageId, subscriptions: [{ topic, qos: 1 }] });
  expect(await session.next()).toMatchObject({ cmd: 'suback', granted: [1] });
}

/** The observer, which may publish to every client's topics; `publish` resolves on the PUBACK. */
async function observer(): Promise<(topic: string, payload: Buffer, qos?: 0 | 1) => Promise<void>> {
  const { session } = await connect('observer', 'observer-pub');
  let messageId = 0;
  return async (topic, payload, qos = 1) => {
    messageId += 1;
    session.sendPacket({ cmd: 'publish', topic, payload, qos, messageId: qos ? messageId : undefined, retain: false, dup: false } as Publish);
    if (qos) expect(await session.next()).toMatchObject({ cmd: 'puback', messageId });
  };
}

describe('M2: Subscription Identifiers are not supported', () => {
  it('the MQTT 5 CONNACK says so, and a SUBSCRIBE carrying one ends the connection with DISCONNECT 0xA1', async () => {
    await start();
    const { session, connack } = await connect('alpha', 'ids');
    expect(connack.properties?.subscriptionIdentifiersAvailable).toBe(false);
    await subscribe(session, 'mmc/alpha/ids/plain');
    session.sendPacket({ cmd: 'subscribe', messageId: 2, properties: { subscriptionIdentifier: 7 }, subscriptions: [{ topic: 'mmc/alpha/ids/with', qos: 1 }] });
    expect(await session.next()).toMatchObject({ cmd: 'disconnect', reasonCode: 0xa1 });
    expect(await session.closedWithin(2000)).toBe(true);
    expect(log.join('\n')).toMatch(/\[M2\]/);
  });

  it('under the M2 mutant the CONNACK says nothing of them and the SUBSCRIBE is granted', async () => {
    await start(mutatedBehaviour(['M2']));
    const { session, connack } = await connect('alpha', 'ids');
    expect(connack.properties?.subscriptionIdentifiersAvailable).toBeUndefined();
    session.sendPacket({ cmd: 'subscribe', messageId: 2, properties: { subscriptionIdentifier: 7 }, subscriptions: [{ topic: 'mmc/alpha/ids/with', qos: 1 }] });
    expect(await session.next()).toMatchObject({ cmd: 'suback', granted: [1] });
  });
});

describe.each([4, 5] as const)('a SUBACK has one code per filter, in order (MQTT %s) [MQTT-3.8.4-6, MQTT-3.9.3-1]', (version) => {
  const refused = version === 5 ? 0x87 : 0x80;

  it('repeated filters, all granted: each gets its own code', async () => {
    await start();
    const { session } = await connect('alpha', 'twice', { version });
    session.sendPacket({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'mmc/alpha/a', qos: 0 }, { topic: 'mmc/alpha/a', qos: 1 }, { topic: 'mmc/alpha/b', qos: 1 }, { topic: 'mmc/alpha/a', qos: 0 }] });
    expect(await session.next()).toMatchObject({ cmd: 'suback', messageId: 3, granted: [0, 1, 1, 0] });
  });

  it('repeated filters beside refused ones: each code in its place', async () => {
    await start();
    const { session } = await connect('alpha', 'mixed', { version });
    session.sendPacket({
      cmd: 'subscribe',
      messageId: 4,
      subscriptions: [
        { topic: 'mmc/alpha/a', qos: 1 },
        { topic: 'elsewhere/x', qos: 1 },
        { topic: 'mmc/alpha/a', qos: 0 },
        { topic: 'mmc/alpha/b', qos: 1 },
        { topic: 'elsewhere/x', qos: 0 },
        { topic: 'mmc/alpha/b', qos: 1 },
      ],
    });
    expect(await session.next()).toMatchObject({ cmd: 'suback', messageId: 4, granted: [1, refused, 0, 1, refused, 1] });
    // The last of the repeats is the subscription kept [MQTT-3.8.4-3]: mmc/alpha/a at QoS 0.
    const publish = await observer();
    await publish('mmc/alpha/a', Buffer.from('to a'));
    expect(await session.next()).toMatchObject({ cmd: 'publish', qos: 0, payload: Buffer.from('to a') });
  });

  it('only refused filters, repeated: every one refused in its place', async () => {
    await start();
    const { session } = await connect('alpha', 'none', { version });
    session.sendPacket({ cmd: 'subscribe', messageId: 5, subscriptions: [{ topic: 'elsewhere/x', qos: 1 }, { topic: 'elsewhere/x', qos: 1 }] });
    expect(await session.next()).toMatchObject({ cmd: 'suback', messageId: 5, granted: [refused, refused] });
  });
});
