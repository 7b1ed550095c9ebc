import mqttPacket from 'mqtt-packet';
import { loadPki, serverTlsFromPki } from './certs/manifest.ts';
import { namespaceFromPki } from './certs/namespace.ts';
import { startReferenceBroker } from './reference/broker.ts';
import { openRawSession } from './testkit/raw-session.ts';
const pki = loadPki('pki');
const broker = await startReferenceBroker({ namespace: namespaceFromPki(pki), tls: serverTlsFromPki(pki), log: () => {} });
const alpha = pki.identities.get('alpha')!;
const obs = pki.identities.get('observer')!;
const limit = 524288;
const publish = (bytes: number) => mqttPacket.generate({ cmd: 'publish', topic: 'mmc/alpha/oversized', payload: Buffer.alloc(bytes), qos: 0, dup: false, retain: false }, { protocolVersion: 5 });
const big = publish(limit + 1 - publish(0).length);
const connect = (id: string, user: string, clean: boolean) => mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: id, username: user, clean, keepalive: 60, properties: { sessionExpiryInterval: 600 } } as any, { protocolVersion: 5 });
for (const transport of ['tcp', 'wss'] as const) {
  const port = transport === 'wss' ? broker.wsPort! : broker.port;
  // pipelined
  let s = await openRawSession({ port, transport, ca: pki.rootCaPem, cert: alpha.certificatePem, key: alpha.keyPem });
  s.send(Buffer.concat([connect('pipe', 'alpha', true), big]));
  console.log(transport, 'pipelined:', JSON.stringify([await s.next(3000), await s.next(3000)].map((p: any) => p && [p.cmd, p.reasonCode])));
  s.end();
  // a session with 100 queued messages, resumed, oversized sent on the CONNACK
  const sub = await openRawSession({ port, transport, ca: pki.rootCaPem, cert: alpha.certificatePem, key: alpha.keyPem });
  sub.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'queued-' + transport, username: 'alpha', clean: true, keepalive: 60, properties: { sessionExpiryInterval: 600 } } as any);
  await sub.next(); sub.sendPacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'mmc/alpha/q', qos: 1 }] } as any); await sub.next(); sub.end();
  await new Promise((r) => setTimeout(r, 200));
  const p = await openRawSession({ port: broker.port, ca: pki.rootCaPem, cert: obs.certificatePem, key: obs.keyPem });
  p.sendPacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'pub-' + transport, username: 'observer', clean: true, keepalive: 60 } as any); await p.next();
  for (let i = 1; i <= 90; i++) p.sendPacket({ cmd: 'publish', topic: 'mmc/alpha/q', payload: Buffer.alloc(10000), qos: 1, messageId: i, retain: false, dup: false } as any);
  await new Promise((r) => setTimeout(r, 500)); p.end();
  const back = await openRawSession({ port, transport, ca: pki.rootCaPem, cert: alpha.certificatePem, key: alpha.keyPem, onPacket: (pk: any) => pk.cmd === 'publish' });
  back.send(connect('queued-' + transport, 'alpha', false));
  const ca = await back.next(3000);
  back.send(big);
  console.log(transport, 'on resume:', JSON.stringify([ca, await back.next(3000)].map((p: any) => p && [p.cmd, p.reasonCode, p.sessionPresent])), 'closed', await back.closedWithin(2000));
  back.end();
}
await broker.stop();
