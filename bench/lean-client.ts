// A minimal MQTT 5 client over mutual TLS, or over WebSockets on it, for benchmarks: CONNECT,
// optionally one SUBSCRIBE, then DISCONNECT, with nothing else in the way, so that the broker's cost is
// what is measured.
import { createSecureContext, type SecureContext } from 'node:tls';
import mqttPacket from 'mqtt-packet';
import type { LoadedIdentity, LoadedPki } from '../certs/manifest.ts';
import { openStream } from '../mqtt-client/transport.ts';

export function clientContext(pki: LoadedPki, identity: LoadedIdentity): SecureContext {
  return createSecureContext({ ca: pki.rootCaPem, cert: identity.certificatePem, key: identity.keyPem });
}

export interface LeanConnect {
  /** mqtts://HOST:PORT, or wss://HOST:PORT/mqtt. */
  url: string;
  context: SecureContext;
  username: string;
  clientId: string;
  /** Session Expiry Interval; 0 with Clean Start ends the session with the connection. */
  expirySeconds: number;
  /** Subscribe to one topic at QoS 1 before disconnecting, so that the broker has state to hold. */
  subscribe?: string;
}

/** Connects, waits for the CONNACK, then ends; resolves with the CONNECT -> CONNACK time in ms (TLS handshake included). */
export async function leanConnect(options: LeanConnect): Promise<number> {
  const started = performance.now();
  const { stream: socket, ready } = openStream(options.url, { secureContext: options.context });
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  const packets: mqttPacket.Packet[] = [];
  const waiters: Array<() => void> = [];
  parser.on('packet', (packet) => {
    packets.push(packet);
    waiters.shift()?.();
  });
  socket.on('data', (chunk) => parser.parse(chunk));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  // A reset after our DISCONNECT is no failure; one before it rejects what is being waited for.
  socket.on('error', () => {});
  const failed = new Promise<never>((_, reject) => socket.once('error', reject));
  failed.catch(() => {});
  const next = async (): Promise<mqttPacket.Packet> => {
    if (!packets.length) await Promise.race([new Promise<void>((resolve) => waiters.push(resolve)), failed, closed]);
    const packet = packets.shift();
    if (!packet) throw new Error('the broker closed the connection');
    return packet;
  };
  try {
    await Promise.race([ready, failed]);
    socket.write(
      mqttPacket.generate(
        {
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 5,
          clean: options.expirySeconds === 0,
          clientId: options.clientId,
          keepalive: 60,
          username: options.username,
          properties: { sessionExpiryInterval: options.expirySeconds },
        },
        { protocolVersion: 5 },
      ),
    );
    const connack = (await next()) as mqttPacket.IConnackPacket;
    const elapsed = performance.now() - started;
    if (connack.cmd !== 'connack' || connack.reasonCode) throw new Error(`refused: ${connack.cmd} ${connack.reasonCode}`);
    if (options.subscribe) {
      socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: options.subscribe, qos: 1 }] }, { protocolVersion: 5 }));
      const suback = await next();
      if (suback.cmd !== 'suback') throw new Error(`expected SUBACK, got ${suback.cmd}`);
    }
    socket.end(mqttPacket.generate({ cmd: 'disconnect' }, { protocolVersion: 5 }));
    await closed;
    return elapsed;
  } finally {
    socket.destroy();
  }
}

/** `count` connects, `concurrency` at a time; returns every latency and the overall rate per second. */
export async function leanRate(make: (index: number) => LeanConnect, count: number, concurrency: number): Promise<{ rate: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) latencies.push(await leanConnect(make(next++)));
    }),
  );
  return { rate: count / ((performance.now() - started) / 1000), latencies };
}
