// A SessionClient sees every message however the bytes arrive: a server that sends several PUBLISHes
// in one write (as a relay or a load balancer puts them back to back) delivers them in one read, and
// each one waited for is taken, none swallowed by a waiter that already had its message.
import { once } from 'node:events';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadPki, type LoadedPki } from '../certs/manifest.ts';
import type { MqttVersion } from '../rules/catalogue.ts';
import { SessionClient } from './session-client.ts';

const TOPIC = 'mmc/alpha/s1';
const COUNT = 5;

let pki: LoadedPki;
let server: Server;
let url: string;

/** Answers a CONNECT, and a PUBLISH on "go" with COUNT PUBLISHes on TOPIC in a single write. */
beforeAll(async () => {
  pki = loadPki(inject('pkiDir'));
  server = createServer(
    { cert: pki.read(pki.manifest.server.chain!), key: pki.read(pki.manifest.server.key), ca: pki.rootCaPem, requestCert: true, rejectUnauthorized: false },
    (socket: TLSSocket) => {
      socket.on('error', () => {});
      let protocolVersion = 4;
      const parser = mqttPacket.parser({ protocolVersion: 5 });
      parser.on('packet', (packet) => {
        if (packet.cmd === 'connect') {
          protocolVersion = packet.protocolVersion ?? 4;
          socket.write(mqttPacket.generate({ cmd: 'connack', returnCode: 0, reasonCode: 0, sessionPresent: false }, { protocolVersion }));
        } else if (packet.cmd === 'publish' && packet.topic === 'go') {
          const burst = Array.from({ length: COUNT }, (_, index) =>
            mqttPacket.generate({ cmd: 'publish', topic: TOPIC, payload: `m${index}`, qos: 0, dup: false, retain: false }, { protocolVersion }),
          );
          socket.write(Buffer.concat(burst));
        }
      });
      socket.on('data', (chunk) => parser.parse(chunk));
    },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `mqtts://localhost:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe.each(['3.1.1', '5'] as MqttVersion[])('MQTT %s', (version) => {
  it(`takes each of ${COUNT} PUBLISHes that arrive in one write, in order`, async () => {
    const outcome = await SessionClient.connect({ url, ca: pki.rootCaPem, identity: pki.identities.get('alpha')!, sessionName: 's1', version, timeoutMs: 2000 });
    if (!outcome.accepted) throw new Error(`not accepted: ${outcome.message}`);
    const client = outcome.client;
    try {
      // A waiter is registered before the burst arrives: the one that takes the first message.
      const first = client.nextMessage(TOPIC, 2000);
      client.sendPublish('go', '', 0);
      const payloads = [(await first).payload];
      for (let index = 1; index < COUNT; index += 1) payloads.push((await client.nextMessage(TOPIC, 2000)).payload);
      expect(payloads).toEqual(Array.from({ length: COUNT }, (_, index) => `m${index}`));
      expect(client.pending()).toEqual([]);
    } finally {
      client.close();
    }
  });
});
