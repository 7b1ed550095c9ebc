// The library changes no other package: importing it, and running a reference broker through a
// session's CONNACK, a SUBSCRIBE the packet gate partly refuses and a PUBLISH, leaves mqtt-packet's
// exports exactly as they were (the broker amends its own connections' packets, never mqtt-packet).
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { openRawSession } from './testkit/raw-session.ts';
import { startTestBroker } from './testkit/test-broker.ts';

describe('importing the library', () => {
  it("leaves mqtt-packet's exports identical, before and after a broker has served", async () => {
    const before = new Map(Object.entries(mqttPacket));
    const library = await import('./index.ts');
    expect(new Map(Object.entries(mqttPacket))).toEqual(before);
    for (const [name, value] of Object.entries(mqttPacket)) expect(value, name).toBe(before.get(name));

    const t = await startTestBroker(library.startReferenceBroker);
    try {
      const alpha = t.pki.identities.get('alpha')!;
      const raw = await openRawSession({ port: t.broker.port, ca: t.pki.rootCaPem, cert: alpha.certificatePem, key: alpha.keyPem });
      raw.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 30, clientId: 's1', username: 'alpha' });
      expect(await raw.next()).toMatchObject({ cmd: 'connack', reasonCode: 0, properties: { maximumQoS: 1 } });
      // One filter the client may hold, one it may not: aedes' SUBACK is amended on this connection.
      raw.sendPacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'mmc/alpha/#', qos: 1 }, { topic: 'elsewhere/#', qos: 1 }] });
      expect(await raw.next()).toMatchObject({ cmd: 'suback', messageId: 1, granted: [1, 0x87] });
      raw.end();
    } finally {
      await t.stop();
    }
    for (const [name, value] of Object.entries(mqttPacket)) expect(value, name).toBe(before.get(name));
    expect(Object.keys(mqttPacket)).toEqual([...before.keys()]);
  });
});
