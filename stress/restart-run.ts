// restart: the broker killed (SIGKILL, as a crash or the OOM killer ends it) in the middle of QoS 1
// traffic to mqtt.js clients holding persistent sessions over the run's transports, and started again on
// the same ports. Every client must reconnect on its own (mqtt.js' reconnect) and get its messages
// again. In memory the broker forgets every session (documented: docs/reference-broker.md), so a client
// is back with Session Present 0 and subscribes again; on Redis (--redis) each session must survive the
// kill, over WebSockets as over TLS: Session Present 1, and messages delivered with no new SUBSCRIBE.
// A violation is a broker that does not start again, a client not back within RECONNECT_MS, a session
// lost on Redis or a message the broker acknowledged that a session kept in Redis never gets, or a
// message published once every client was back that does not arrive.
import mqtt, { type MqttClient } from 'mqtt';
import { DEFAULT_TOPIC_ROOT, OBSERVER, ownTopics } from '../eventgrid/suite-contract.ts';
import type { Transport } from '../rules/transports.ts';
import type { BrokerProcess } from './broker-process.ts';
import { healthy, identity, measured, sleep, transportAt, type Figure, type StressContext } from './runs.ts';

/** How long every client has to be back after the broker listens again, ms. */
const RECONNECT_MS = 15_000;
/** Sessions that receive, over the run's transports in turn. */
const SUBSCRIBERS = 8;
/** QoS 1 messages a second before the kill, and messages to each session once all are back. */
const RATE = 500;
const AFTER_RESTART = 25;

export interface RestartOptions {
  /** Starts the broker again on the ports of the one killed. */
  startAgain: (ports: { port: number; wsPort: number }) => Promise<BrokerProcess>;
  /** The broker keeps its sessions in Redis: they must survive. */
  durable: boolean;
}

interface Subscriber {
  name: string;
  transport: Transport;
  topic: string;
  client: MqttClient;
  /** Session Present of each CONNACK. */
  connacks: boolean[];
  /** SUBACKs received: a session subscribes again only when the broker had forgotten it. */
  subacks: number;
  received: Set<string>;
}

function urlOf(broker: BrokerProcess, transport: Transport): string {
  return transport === 'wss' ? `wss://127.0.0.1:${broker.wsPort}/mqtt` : `mqtts://127.0.0.1:${broker.port}`;
}

export function restartRun(context: StressContext, rounds: number, options: RestartOptions): Promise<Figure> {
  return measured(context, 'restart', rounds, async (tally) => {
    const stamp = Date.now().toString(36);
    const connect = (id: string, clientId: string, transport: Transport, persistent: boolean) =>
      mqtt.connect(urlOf(context.broker, transport), {
        protocolVersion: 5,
        clientId,
        username: id,
        clean: !persistent,
        ...(persistent ? { properties: { sessionExpiryInterval: 600 } } : {}),
        ca: context.pki.rootCaPem,
        ...identity(context, id),
        // mqtt.js' default reconnect period; a kill must not need more.
        reconnectPeriod: 1000,
        connectTimeout: 5000,
      });
    const subscribers: Subscriber[] = Array.from({ length: SUBSCRIBERS }, (_, index) => {
      const name = `restart-${stamp}-${index}`;
      const transport = transportAt(context, index);
      const subscriber: Subscriber = { name, transport, topic: `${ownTopics(DEFAULT_TOPIC_ROOT, 'alpha')}${name}`, client: connect('alpha', name, transport, true), connacks: [], subacks: 0, received: new Set() };
      subscriber.client.on('connect', (connack) => subscriber.connacks.push(connack.sessionPresent));
      subscriber.client.on('packetreceive', (packet) => (subscriber.subacks += packet.cmd === 'suback' ? 1 : 0));
      subscriber.client.on('message', (_topic, payload) => subscriber.received.add(payload.toString()));
      subscriber.client.on('error', () => {});
      return subscriber;
    });
    // The publisher over WebSockets when the run has them, over TLS otherwise.
    const publisherTransport = transportAt(context, 1);
    const publisher = connect(OBSERVER, `restart-${stamp}-pub`, publisherTransport, false);
    publisher.on('error', () => {});
    const counts = { reconnected: 0, sessionsPresent: 0, sessionsLost: 0, lost: 0, restartMs: 0, reconnectMs: 0, ackedNotDelivered: 0 };
    try {
      await Promise.all(subscribers.map(async (subscriber) => {
        await new Promise((resolve) => subscriber.client.once('connect', resolve));
        await subscriber.client.subscribeAsync(subscriber.topic, { qos: 1 });
      }));
      if (!publisher.connected) await new Promise((resolve) => publisher.once('connect', resolve));
      let sequence = 0;
      /** Messages the broker acknowledged to the publisher (PUBACK), before or after a kill. */
      const acked: { subscriber: Subscriber; message: string }[] = [];
      /** Publishes a message to each session, `rate` a second, until told to stop (not awaited: the broker dies under it). */
      const traffic = () => {
        let stopped = false;
        void (async () => {
          while (!stopped) {
            for (const subscriber of subscribers) {
              const message = `during-${(sequence += 1)}`;
              publisher.publish(subscriber.topic, message, { qos: 1 }, (error) => error || acked.push({ subscriber, message }));
            }
            tally.packets += subscribers.length;
            await sleep((1000 * subscribers.length) / RATE);
          }
        })();
        return () => (stopped = true);
      };
      for (let round = 0; round < rounds; round += 1) {
        const stop = traffic();
        await sleep(1000);
        const killed = context.broker;
        const connacksBefore = subscribers.map((subscriber) => subscriber.connacks.length);
        const subacksBefore = subscribers.map((subscriber) => subscriber.subacks);
        await killed.kill();
        const killedAt = Date.now();
        context.broker = await options.startAgain({ port: killed.port, wsPort: killed.wsPort });
        if (context.instances) context.instances[context.instances.indexOf(killed)] = context.broker;
        counts.restartMs = Math.max(counts.restartMs, Date.now() - killedAt);
        const listening = Date.now();
        // Every client back: a CONNACK since the kill (and, where the broker forgot the session, its SUBACK).
        const back = (subscriber: Subscriber, index: number) =>
          subscriber.connacks.length > connacksBefore[index]! && (subscriber.connacks.at(-1) || subscriber.subacks > subacksBefore[index]!);
        while (Date.now() - listening < RECONNECT_MS && !(subscribers.every(back) && publisher.connected)) await sleep(50);
        stop();
        counts.reconnectMs = Math.max(counts.reconnectMs, Date.now() - listening);
        for (const [index, subscriber] of subscribers.entries()) {
          if (!back(subscriber, index)) {
            tally.violation(`round ${round}: session "${subscriber.name}" over ${subscriber.transport} not back ${RECONNECT_MS} ms after the broker listened again`);
            continue;
          }
          counts.reconnected += 1;
          const present = subscriber.connacks.at(-1)!;
          counts[present ? 'sessionsPresent' : 'sessionsLost'] += 1;
          if (options.durable && !present) tally.violation(`round ${round}: session "${subscriber.name}" over ${subscriber.transport} was lost by the restart (Session Present 0), though it is kept in Redis`);
          if (options.durable && subscriber.subacks > subacksBefore[index]!) tally.violation(`round ${round}: session "${subscriber.name}" subscribed again after the restart`);
        }
        if (!publisher.connected) tally.violation(`round ${round}: the publisher over ${publisherTransport} not back ${RECONNECT_MS} ms after the broker listened again`);
        // Once all are back, every message must arrive.
        const expected = subscribers.map((subscriber) => Array.from({ length: AFTER_RESTART }, (_, index) => `after-${round}-${subscriber.name}-${index}`));
        await Promise.all(subscribers.flatMap((subscriber, index) => expected[index]!.map((message) => publisher.publishAsync(subscriber.topic, message, { qos: 1 }).catch(() => undefined))));
        tally.packets += subscribers.length * AFTER_RESTART;
        const arrived = () => subscribers.every((subscriber, index) => expected[index]!.every((message) => subscriber.received.has(message)));
        for (let waited = 0; waited < 10_000 && !arrived(); waited += 50) await sleep(50);
        for (const [index, subscriber] of subscribers.entries()) {
          const missing = expected[index]!.filter((message) => !subscriber.received.has(message)).length;
          counts.lost += missing;
          if (missing) tally.violation(`round ${round}: ${missing} of ${AFTER_RESTART} messages published after the restart never reached "${subscriber.name}" over ${subscriber.transport}`);
        }
        // What the broker acknowledged to the publisher must reach a session it kept (in memory it goes with the sessions).
        const undelivered = acked.splice(0).filter(({ subscriber, message }) => !subscriber.received.has(message));
        counts.ackedNotDelivered += undelivered.length;
        if (options.durable && undelivered.length) tally.violation(`round ${round}: ${undelivered.length} messages acknowledged to the publisher around the kill never arrived (first: ${undelivered[0]!.message} to "${undelivered[0]!.subscriber.name}")`);
        if (!(await healthy(context, `restart-health-${round}`))) tally.violation(`round ${round}: the restarted broker does not accept a good CONNECT`);
      }
    } finally {
      await Promise.all([...subscribers.map((subscriber) => subscriber.client.endAsync(true)), publisher.endAsync(true)]);
    }
    return { subscribers: SUBSCRIBERS, ...counts };
  });
}
