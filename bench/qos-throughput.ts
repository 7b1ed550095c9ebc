// QoS 1 throughput through a broker, end to end: one publisher sends QoS 1 messages as fast as the
// broker acknowledges them (a window of them unacknowledged at a time) to one subscriber that holds a
// persistent session (so that every message goes through the broker's session queue) and acknowledges
// each at once. The rate is messages received by the subscriber per second, from the first PUBLISH to
// the last delivery; lost and duplicated messages are counted too. With `group`, several subscriber
// sessions of the one identity share the stream through `$share/{group}/{topic}` (M3): the rate is then
// what they receive between them, each message counted once across them.
import { once } from 'node:events';
import { connect, type SecureContext, type TLSSocket } from 'node:tls';
import mqttPacket from 'mqtt-packet';

export interface QosThroughputOptions {
  host: string;
  port: number;
  subscriber: { context: SecureContext; username: string };
  publisher: { context: SecureContext; username: string };
  topic: string;
  messages: number;
  /** Subscriber sessions (default 1); with more than one, give `group`. */
  subscribers?: number;
  /** The shared subscription group the subscribers join (`$share/{group}/{topic}`); none: a plain subscription. */
  group?: string;
  /** PUBLISHes the publisher has unacknowledged at a time. */
  window: number;
  /** Give up after this long, ms. */
  timeoutMs?: number;
}

export interface QosThroughput {
  rate: number;
  seconds: number;
  lost: number;
  duplicates: number;
}

interface Session {
  socket: TLSSocket;
  send(packet: mqttPacket.Packet): void;
  next(cmd: string): Promise<mqttPacket.Packet>;
}

async function open(host: string, port: number, context: SecureContext, onPacket: (packet: mqttPacket.Packet, session: Session) => boolean): Promise<Session> {
  const socket = connect({ host, port, secureContext: context });
  socket.setNoDelay(true);
  socket.on('error', () => {});
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  const waiting = new Map<string, (packet: mqttPacket.Packet) => void>();
  let session: Session;
  parser.on('packet', (packet) => {
    if (onPacket(packet, session)) return;
    const waiter = waiting.get(packet.cmd);
    waiting.delete(packet.cmd);
    waiter?.(packet);
  });
  socket.on('data', (chunk: Buffer) => parser.parse(chunk));
  await once(socket, 'secureConnect');
  session = {
    socket,
    send: (packet) => void socket.write(mqttPacket.generate(packet, { protocolVersion: 5 })),
    next: (cmd) =>
      new Promise((resolve, reject) => {
        waiting.set(cmd, resolve);
        socket.once('close', () => reject(new Error(`the broker closed the connection before a ${cmd}`)));
      }),
  };
  return session;
}

const connectPacket = (clientId: string, username: string, clean: boolean, expirySeconds: number): mqttPacket.IConnectPacket => ({
  cmd: 'connect',
  protocolId: 'MQTT',
  protocolVersion: 5,
  clean,
  clientId,
  keepalive: 60,
  username,
  properties: { sessionExpiryInterval: expirySeconds },
});

export async function qosThroughput(options: QosThroughputOptions): Promise<QosThroughput> {
  const { host, port, topic, messages, window } = options;
  const stamp = `${process.pid}-${Date.now().toString(36)}`;
  const counts = new Uint8Array(messages + 1);
  let received = 0;
  let allReceived = () => {};
  const whole = new Promise<void>((resolve) => (allReceived = resolve));
  const receive = (packet: mqttPacket.Packet, session: Session) => {
    if (packet.cmd !== 'publish') return false;
    const message = Number(packet.payload.toString());
    if (counts[message]! < 255) counts[message]! += 1;
    if (counts[message] === 1 && ++received === messages) allReceived();
    session.send({ cmd: 'puback', messageId: packet.messageId! });
    return true;
  };
  const subscribers = await Promise.all(Array.from({ length: options.subscribers ?? 1 }, () => open(host, port, options.subscriber.context, receive)));
  const publisher = await open(host, port, options.publisher.context, (packet) => {
    if (packet.cmd !== 'puback') return false;
    inFlight -= 1;
    wake();
    return true;
  });
  let inFlight = 0;
  let wake = () => {};
  try {
    for (const [session, clientId, username, expiry] of [
      ...subscribers.map((subscriber, index) => [subscriber, `bench-qos-sub-${stamp}-${index}`, options.subscriber.username, 3600] as const),
      [publisher, `bench-qos-pub-${stamp}`, options.publisher.username, 0] as const,
    ]) {
      session.send(connectPacket(clientId, username, true, expiry));
      const connack = (await session.next('connack')) as mqttPacket.IConnackPacket;
      if (connack.reasonCode) throw new Error(`${clientId} refused: ${connack.reasonCode}`);
    }
    const filter = options.group ? `$share/${options.group}/${topic}` : topic;
    for (const subscriber of subscribers) {
      subscriber.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 1 }] });
      const suback = (await subscriber.next('suback')) as mqttPacket.ISubackPacket;
      if (suback.granted[0] !== 1) throw new Error(`subscription to ${filter} refused: ${suback.granted[0]}`);
    }

    const started = performance.now();
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, options.timeoutMs ?? 60_000).unref());
    for (let message = 1; message <= messages; message += 1) {
      while (inFlight >= window) await new Promise<void>((resolve) => (wake = resolve));
      inFlight += 1;
      publisher.send({ cmd: 'publish', topic, payload: Buffer.from(String(message)), qos: 1, messageId: (message % 65535) + 1, retain: false, dup: false });
    }
    await Promise.race([whole, timeout]);
    const seconds = (performance.now() - started) / 1000;
    let duplicates = 0;
    for (let message = 1; message <= messages; message += 1) duplicates += Math.max(0, counts[message]! - 1);
    return { rate: received / seconds, seconds, lost: messages - received, duplicates };
  } finally {
    // The persistent sessions end with their connections.
    for (const subscriber of subscribers) {
      subscriber.send({ cmd: 'disconnect', properties: { sessionExpiryInterval: 0 } });
      subscriber.socket.end(() => subscriber.socket.destroy());
    }
    publisher.socket.destroy();
  }
}
