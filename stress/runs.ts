// The stress runs against a broker process: each is bounded by its count, returns its figures, and
// counts as a violation anything the namespace's rules or the broker's robustness forbid.
import { connect as netConnect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import type { CertificateCaseSet } from '../certs/crafted.ts';
import type { LoadedPki } from '../certs/manifest.ts';
import type { Transport } from '../rules/transports.ts';
import { DEFAULT_TOPIC_ROOT, OBSERVER, ownTopics } from '../eventgrid/suite-contract.ts';
import { connectAnnouncing, connectV5, disconnectV5, sessionExpiryProperty, variableByteInteger } from '../testkit/raw-packets.ts';
import { openRawSession, type RawSession, type RawSessionOptions } from '../testkit/raw-session.ts';
import type { BrokerProcess } from './broker-process.ts';
import { tlsTo, upgradeRequest } from './websocket-abuse.ts';

export interface StressContext {
  broker: BrokerProcess;
  /** Instances of one namespace (on Redis) that the racers and the noloss owner's connections alternate between; absent: the broker alone. */
  instances?: BrokerProcess[];
  /** The transports connections take, in turn (one, or both: MQTT over TLS and over WebSockets alternately). */
  transports: readonly Transport[];
  pki: LoadedPki;
  certificates: CertificateCaseSet;
  handshakeTimeoutMs: number;
  connectTimeoutMs: number;
  /** The namespace's packet limit, bytes (L15). */
  maximumPacketSize: number;
  /** Connections opened at once. */
  parallel: number;
  /** How long the broker is left to settle after a run before its memory is read, ms. */
  settleMs: number;
  log: (line: string) => void;
}

export interface Figure {
  run: string;
  rounds: number;
  violations: number;
  packets: number;
  crashes: number;
  memoryBeforeMiB?: number;
  memoryAfterMiB?: number;
  /** Sockets the broker held open before the run and once it had settled after it. */
  socketsBefore?: number;
  socketsAfter?: number;
  seconds: number;
  /** Run-specific counts, shown after the common ones. */
  extra?: Record<string, number | string>;
  /** The first few violations, described. */
  examples: string[];
}

export function formatFigure(figure: Figure): string {
  const mib = (value: number | undefined) => (value === undefined ? '?' : value.toFixed(0));
  const count = (value: number | undefined) => (value === undefined ? '?' : String(value));
  const extra = Object.entries(figure.extra ?? {})
    .map(([key, value]) => ` ${key}=${value}`)
    .join('');
  return (
    `${figure.run.padEnd(9)} rounds=${figure.rounds} violations=${figure.violations} packets=${figure.packets} crashes=${figure.crashes}` +
    ` memory=${mib(figure.memoryBeforeMiB)}->${mib(figure.memoryAfterMiB)} MiB sockets=${count(figure.socketsBefore)}->${count(figure.socketsAfter)} time=${figure.seconds.toFixed(1)}s${extra}`
  );
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `count` tasks, `parallel` at a time. */
export async function pool(count: number, parallel: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

/** A small seeded generator (mulberry32): a run with the same seed sends the same bytes. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Tally {
  violations = 0;
  packets = 0;
  readonly examples: string[] = [];
  violation(description: string): void {
    this.violations += 1;
    if (this.examples.length < 5) this.examples.push(description);
  }
}

/** How long the broker has to close the sockets of a run's connections after the run, beyond settleMs: a WebSocket it ends waits a second for the peer's close frame. */
const SOCKETS_SETTLE_MS = 5000;

export async function measured(context: StressContext, run: string, rounds: number, body: (tally: Tally) => Promise<Record<string, number | string> | void>): Promise<Figure> {
  const tally = new Tally();
  const started = Date.now();
  const memoryBeforeMiB = context.broker.rssMiB();
  const socketsBefore = context.broker.openSockets();
  let extra: Record<string, number | string> | void = undefined;
  try {
    extra = await body(tally);
  } catch (error) {
    if (context.broker.exitCode() === undefined) throw error;
  }
  // Let the broker close what the run left and settle before its memory is read.
  await sleep(context.settleMs);
  // Every connection of the run is closed on the client's side: the broker must have let go of each.
  for (let waited = 0; waited < SOCKETS_SETTLE_MS && (context.broker.openSockets() ?? 0) > (socketsBefore ?? Infinity); waited += 100) await sleep(100);
  const socketsAfter = context.broker.openSockets();
  if (socketsBefore !== undefined && socketsAfter !== undefined && socketsAfter > socketsBefore) {
    tally.violation(`the broker holds ${socketsAfter - socketsBefore} more socket(s) than before the run, ${context.settleMs + SOCKETS_SETTLE_MS} ms after it`);
  }
  const crashed = context.broker.exitCode() !== undefined;
  if (crashed) {
    tally.violation('the broker exited');
    tally.examples.unshift(`the broker exited (code ${context.broker.exitCode()}): ${context.broker.output().slice(-4).join(' | ')}`);
  }
  return {
    run,
    rounds,
    violations: tally.violations,
    packets: tally.packets,
    crashes: crashed ? 1 : 0,
    memoryBeforeMiB,
    memoryAfterMiB: context.broker.rssMiB(),
    socketsBefore,
    socketsAfter,
    seconds: (Date.now() - started) / 1000,
    extra: extra ?? undefined,
    examples: tally.examples,
  };
}

export function identity(context: StressContext, id: string): Pick<RawSessionOptions, 'cert' | 'key'> {
  const loaded = context.pki.identities.get(id);
  if (!loaded) throw new Error(`no identity ${id} in the PKI`);
  return { cert: loaded.certificatePem, key: loaded.keyPem };
}

/** The transport of the `index`th connection: the run's transports in turn. */
export function transportAt(context: StressContext, index: number): Transport {
  return context.transports[index % context.transports.length]!;
}

/**
 * A raw session over the `index`th connection's transport (transportAt), to the `instance`th instance
 * in turn (the broker, when it is alone).
 */
export function open(context: StressContext, options: Partial<RawSessionOptions> = {}, index = 0, instance = 0): Promise<RawSession> {
  const broker = context.instances ? context.instances[instance % context.instances.length]! : context.broker;
  const transport = transportAt(context, index);
  return openRawSession({ port: transport === 'wss' ? broker.wsPort : broker.port, transport, ca: context.pki.rootCaPem, ...options });
}

type Connect = mqttPacket.IConnectPacket;
export const connectPacket = (clientId: string, username: string, version: 4 | 5, extra: Partial<Connect> = {}): Connect => ({
  cmd: 'connect',
  protocolId: 'MQTT',
  protocolVersion: version,
  clientId,
  username,
  clean: true,
  keepalive: 60,
  ...extra,
});

/** CONNACK code of a CONNECT on a fresh connection (undefined: closed without one). */
export async function connackOf(session: RawSession, packet: Connect): Promise<number | undefined> {
  session.sendPacket(packet);
  const reply = (await session.next(5000)) as { cmd?: string; reasonCode?: number; returnCode?: number } | undefined;
  if (reply?.cmd !== 'connack') return undefined;
  return reply.reasonCode ?? reply.returnCode;
}

/** Whether the broker still serves: a fresh CONNECT from `observer` is accepted over each of the run's transports. */
export async function healthy(context: StressContext, name: string): Promise<boolean> {
  if (context.broker.exitCode() !== undefined) return false;
  for (let index = 0; index < context.transports.length; index += 1) {
    try {
      const session = await open(context, identity(context, OBSERVER), index);
      const code = await connackOf(session, connectPacket(`${name}-${transportAt(context, index)}`, OBSERVER, 5));
      session.end();
      if (code !== 0) return false;
    } catch {
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------
// race: four identities CONNECT with one session name at the same moment; two identities holding one
// name at once is a hijack.
const RACERS = ['alpha', 'beta', 'gamma', OBSERVER];

export function raceRun(context: StressContext, rounds: number): Promise<Figure> {
  return measured(context, 'race', rounds, async (tally) => {
    let accepted = 0;
    let refused = 0;
    const stamp = Date.now().toString(36);
    await pool(rounds, Math.max(1, Math.floor(context.parallel / RACERS.length)), async (round) => {
      const name = `race-${stamp}-${round}`;
      const version: 4 | 5 = round % 2 ? 5 : 4;
      // Over both transports, the racers alternate between them, and the first of them from round to round.
      const sessions = await Promise.all(RACERS.map((id, index) => open(context, identity(context, id), round + index, index).catch(() => undefined)));
      const codes = await Promise.all(sessions.map((session, index) => (session ? connackOf(session, connectPacket(name, RACERS[index]!, version)) : undefined)));
      tally.packets += codes.length * 2;
      const winners = RACERS.filter((_, index) => codes[index] === 0);
      accepted += winners.length;
      refused += codes.filter((code) => code !== undefined && code !== 0).length;
      if (winners.length > 1) tally.violation(`round ${round}: ${winners.join(' and ')} both hold session "${name}"`);
      for (const session of sessions) session?.end();
    });
    return { hijacks: tally.violations, accepted, refused };
  });
}

// ---------------------------------------------------------------------------------------------------
// hostile: seeded malformed and protocol-violating packets; the broker must stay up and keep serving.
const PROPERTY_BYTES: ((random: () => number) => Buffer)[] = [
  (random) => sessionExpiryProperty(Math.floor(random() * 0xffffffff)),
  (random) => Buffer.from([0x21, 0, Math.floor(random() * 3)]), // Receive Maximum (0 is a protocol error)
  (random) => Buffer.from([0x27, 0, 0, Math.floor(random() * 2), 0]), // Maximum Packet Size
  (random) => Buffer.from([0x22, 0, Math.floor(random() * 5)]), // Topic Alias Maximum
  (random) => Buffer.from([0x19, Math.floor(random() * 3)]), // Request Response Information
  (random) => Buffer.from([0x17, Math.floor(random() * 3)]), // Request Problem Information
  () => Buffer.from([0x26, 0, 1, 0x6b, 0, 1, 0x76]), // User Property
  () => Buffer.from([0x13, 0, 5]), // Server Keep Alive (not allowed from a client)
  (random) => Buffer.from([Math.floor(random() * 256)]), // anything
];

function randomProperties(random: () => number): Buffer {
  const count = Math.floor(random() * 4);
  const parts: Buffer[] = [];
  for (let index = 0; index < count; index += 1) {
    // The Session Expiry Interval most often: given twice, it once ended the broker's process.
    const make = random() < 0.4 ? PROPERTY_BYTES[0]! : PROPERTY_BYTES[Math.floor(random() * PROPERTY_BYTES.length)]!;
    const bytes = make(random);
    parts.push(bytes);
    if (random() < 0.4) parts.push(bytes); // the same property again
  }
  return Buffer.concat(parts);
}

function mutate(bytes: Buffer, random: () => number): Buffer {
  const copy = Buffer.from(bytes);
  const flips = 1 + Math.floor(random() * 3);
  for (let index = 0; index < flips && copy.length; index += 1) copy[Math.floor(random() * copy.length)] = Math.floor(random() * 256);
  return random() < 0.3 ? copy.subarray(0, Math.floor(random() * copy.length)) : copy;
}

function randomString(random: () => number, max: number): string {
  return Array.from({ length: Math.floor(random() * max) }, () => String.fromCharCode(33 + Math.floor(random() * 90))).join('');
}

/** One hostile packet; the packet types mqtt-packet can build are built by it, then often broken. */
export function hostilePacket(random: () => number, sessionName: string): Buffer {
  // CONNECT and DISCONNECT with random properties twice as often as the rest.
  const kind = [0, 0, 1, 1, 2, 3, 4, 5, 6, 7][Math.floor(random() * 10)]!;
  const v5 = random() < 0.7;
  const generate = (packet: object) => mqttPacket.generate(packet as mqttPacket.Packet, { protocolVersion: v5 ? 5 : 4 });
  switch (kind) {
    case 0:
      return connectV5(sessionName, random() < 0.8 ? 'alpha' : randomString(random, 40), randomProperties(random));
    case 1:
      return disconnectV5(randomProperties(random));
    case 2:
      return mutate(connectV5(sessionName, 'alpha', randomProperties(random)), random);
    case 3:
      return Buffer.from(Array.from({ length: 1 + Math.floor(random() * 48) }, () => Math.floor(random() * 256)));
    case 4:
      return mutate(generate({ cmd: 'publish', topic: randomString(random, 20) || 't', payload: Buffer.from(randomString(random, 30)), qos: Math.floor(random() * 2), messageId: 1 + Math.floor(random() * 100), retain: false, dup: false }), random);
    case 5:
      return mutate(generate({ cmd: 'subscribe', messageId: 1 + Math.floor(random() * 100), subscriptions: [{ topic: randomString(random, 20) || '#', qos: Math.floor(random() * 3) }] }), random);
    case 6:
      // A header that announces more than follows, or a remaining length past four bytes.
      return Buffer.concat([Buffer.from([Math.floor(random() * 16) << 4]), variableByteInteger(Math.floor(random() * 600_000)), Buffer.alloc(Math.floor(random() * 32))]);
    default:
      return mutate(generate({ cmd: ['pingreq', 'puback', 'unsubscribe', 'pubrel'][Math.floor(random() * 4)], messageId: 1, unsubscriptions: ['a'] }), random);
  }
}

export function hostileRun(context: StressContext, packets: number, seed: number): Promise<Figure> {
  return measured(context, 'hostile', packets, async (tally) => {
    const perConnection = 8;
    const connections = Math.ceil(packets / perConnection);
    let closedByBroker = 0;
    let checks = 0;
    await pool(connections, context.parallel, async (index) => {
      const random = seeded(seed ^ Math.imul(index + 1, 0x9e3779b1));
      const withCertificate = random() < 0.8;
      let session: RawSession;
      try {
        session = await open(context, withCertificate ? identity(context, 'alpha') : {}, index);
      } catch {
        if (context.broker.exitCode() !== undefined) tally.violation(`connection ${index} (seed ${seed}): the broker is gone`);
        return;
      }
      const name = `h-${index}`;
      // Half start with a good CONNECT, so that what follows reaches the connected state's handlers.
      if (random() < 0.5) {
        session.send(connectV5(name, 'alpha', sessionExpiryProperty(Math.floor(random() * 5))));
        tally.packets += 1;
        await session.next(500);
      }
      const count = Math.min(perConnection, packets - tally.packets);
      for (let sent = 0; sent < count; sent += 1) {
        session.send(hostilePacket(random, name));
        tally.packets += 1;
      }
      if (await session.closedWithin(50)) closedByBroker += 1;
      session.end();
      if (index % 500 === 499) {
        checks += 1;
        if (!(await healthy(context, `health-${index}`))) tally.violation(`after connection ${index} (seed ${seed}): the broker no longer accepts a good CONNECT`);
      }
    });
    checks += 1;
    if (!(await healthy(context, 'health-end'))) tally.violation(`at the end (seed ${seed}): the broker no longer accepts a good CONNECT`);
    return { connections, closedByBroker, healthChecks: checks, seed };
  });
}

// ---------------------------------------------------------------------------------------------------
// idle: silent TCP, TLS with no CONNECT, and a CONNECT sent a byte at a time: each must be closed
// within its timeout.
export function idleRun(context: StressContext, connections: number): Promise<Figure> {
  return measured(context, 'idle', connections, async (tally) => {
    // Each timeout, plus as much again (at most 2 s) for a loaded machine.
    const longest = Math.max(context.handshakeTimeoutMs, context.connectTimeoutMs);
    const deadline = longest + Math.min(longest, 2000);
    const opened: { kind: IdleKind; closed: () => boolean; destroy: () => void }[] = [];
    let stop = false;
    /** Writes `bytes` a write every 250 ms until the connection closes or the run stops. */
    const trickle = (write: (bytes: Buffer) => void, chunks: Buffer[], closed: () => boolean) =>
      void (async () => {
        for (let at = 0; at < chunks.length && !closed() && !stop; at += 1) {
          write(chunks[at]!);
          await sleep(250);
        }
      })();
    const bytewise = (bytes: Buffer) => Array.from(bytes, (_, at) => bytes.subarray(at, at + 1));
    await pool(connections, context.parallel * 4, async (index) => {
      // Over both transports, each kind of either in turn.
      const transport = transportAt(context, index);
      const kinds = IDLE_KINDS[transport];
      const kind = kinds[Math.floor(index / context.transports.length) % kinds.length]!;
      const port = transport === 'wss' ? context.broker.wsPort : context.broker.port;
      let closed = false;
      const isClosed = () => closed;
      if (kind === 'tcp' || kind === 'wss-tcp') {
        const socket: Socket = netConnect({ host: '127.0.0.1', port });
        socket.on('error', () => {});
        socket.once('close', () => (closed = true));
        opened.push({ kind, closed: isClosed, destroy: () => socket.destroy() });
        return;
      }
      if (kind === 'wss-tls' || kind === 'wss-half-upgrade' || kind === 'wss-slow-upgrade') {
        const socket = await tlsTo({ port, ca: context.pki.rootCaPem, ...identity(context, 'alpha') }).catch(() => undefined);
        if (!socket) return tally.violation(`${kind} connection ${index}: TLS handshake failed`);
        socket.once('close', () => (closed = true));
        opened.push({ kind, closed: isClosed, destroy: () => socket.destroy() });
        const request = upgradeRequest('/mqtt', 'mqtt');
        if (kind === 'wss-half-upgrade') socket.write(request.subarray(0, request.length >> 1));
        if (kind === 'wss-slow-upgrade') trickle((bytes) => socket.write(bytes), bytewise(request), isClosed);
        return;
      }
      const session = await open(context, kind === 'wss-upgraded' ? identity(context, 'alpha') : {}, index).catch(() => undefined);
      if (!session) return tally.violation(`${kind} connection ${index}: TLS handshake or WebSocket upgrade failed`);
      session.socket.once('close', () => (closed = true));
      opened.push({ kind, closed: isClosed, destroy: () => session.end() });
      if (kind === 'slow' || kind === 'wss-slow') {
        tally.packets += 1;
        // Over WebSockets, each byte a message of its own.
        trickle((bytes) => session.send(bytes), bytewise(connectV5(`slow-${index}`, 'alpha', Buffer.alloc(0))), isClosed);
      }
    });
    const started = Date.now();
    while (Date.now() - started < deadline && opened.some((entry) => !entry.closed())) await sleep(100);
    stop = true;
    const left = opened.filter((entry) => !entry.closed());
    for (const entry of left) tally.violation(`a ${entry.kind} connection is still open ${deadline} ms after it opened`);
    for (const entry of opened) entry.destroy();
    const kinds = [...new Set(context.transports.flatMap((transport) => IDLE_KINDS[transport]))];
    return { ...Object.fromEntries(kinds.map((kind) => [kind, opened.filter((entry) => entry.kind === kind).length])), stillOpen: left.length };
  });
}

/**
 * The idle run's connections. Over TLS: silent TCP, TLS with no CONNECT, a CONNECT a byte at a time.
 * Over WebSockets: silent TCP, TLS with no upgrade request, half an upgrade request, one a byte at a
 * time, a WebSocket that sends nothing, and a CONNECT a byte (a message) at a time.
 */
const IDLE_KINDS = {
  tcp: ['tcp', 'tls', 'slow'],
  wss: ['wss-tcp', 'wss-tls', 'wss-half-upgrade', 'wss-slow-upgrade', 'wss-upgraded', 'wss-slow'],
} as const;
type IdleKind = (typeof IDLE_KINDS)[Transport][number];

// ---------------------------------------------------------------------------------------------------
// oversized: certificate-less connections announce a 268 MB CONNECT and keep sending; each must be cut
// off long before the broker has buffered a megabyte of it.
export function oversizedRun(context: StressContext, connections: number): Promise<Figure> {
  return measured(context, 'oversized', connections, async (tally) => {
    let maxSentKiB = 0;
    const limit = 8 * 1024 * 1024;
    await pool(connections, context.parallel, async (index) => {
      // Over WebSockets, in messages of 64 KiB (the limit on a message is twice the packet limit).
      const session = await open(context, {}, index).catch(() => undefined);
      if (!session) return tally.violation(`connection ${index}: TLS handshake failed`);
      session.send(connectAnnouncing(268_435_455));
      tally.packets += 1;
      const chunk = Buffer.alloc(64 * 1024, 0x41);
      let sent = 0;
      while (!(await session.closedWithin(0)) && sent < limit) {
        if (!session.socket.write(chunk)) await Promise.race([new Promise((resolve) => session.socket.once('drain', resolve)), session.closedWithin(1000)]);
        sent += chunk.length;
      }
      maxSentKiB = Math.max(maxSentKiB, sent / 1024);
      if (!(await session.closedWithin(2000))) tally.violation(`connection ${index}: still open after ${sent / 1024} KiB of a 268 MB CONNECT`);
      session.end();
    });
    return { maxSentKiB: Math.round(maxSentKiB) };
  });
}

// ---------------------------------------------------------------------------------------------------
// badcert: the crafted certificate set, each bad one refused and each good one accepted.
export function badCertificateRun(context: StressContext, rounds: number): Promise<Figure> {
  return measured(context, 'badcert', rounds, async (tally) => {
    let acceptedBad = 0;
    let refusedGood = 0;
    const attempts = rounds * context.certificates.cases.length;
    await pool(attempts, context.parallel, async (attempt) => {
      const certificateCase = context.certificates.cases[attempt % context.certificates.cases.length]!;
      // Each case over each transport in turn: attempt / cases counts the rounds.
      const round = Math.floor(attempt / context.certificates.cases.length);
      const session = await open(context, { cert: certificateCase.chainPem, key: certificateCase.keyPem, permissive: true }, round).catch(() => undefined);
      const code = session ? await connackOf(session, connectPacket(`cert-${attempt}`, context.certificates.commonName, 5)) : undefined;
      session?.end();
      tally.packets += 2;
      if (certificateCase.expect === 'refused' && code === 0) {
        acceptedBad += 1;
        tally.violation(`accepted: ${certificateCase.name}`);
      }
      if (certificateCase.expect === 'accepted' && code !== 0) {
        refusedGood += 1;
        tally.violation(`refused (${code ?? 'closed'}): ${certificateCase.name}`);
      }
    });
    return { attempts, acceptedBad, refusedGood };
  });
}

// ---------------------------------------------------------------------------------------------------
// noloss: QoS 1 messages at a steady rate to a persistent session that its owner takes over again and
// again on a timer, while other identities try to take its name. The subscriber acknowledges every
// PUBLISH at once, as mqtt.js does. A violation is a message the broker accepted that never reached the
// session, one delivered again without DUP=1, a connection of the session the broker closed other than
// by a takeover's DISCONNECT 0x8E, a takeover that found the session gone, or a thief given the name.
export interface NoLossOptions {
  /** QoS 1 messages to publish. */
  messages: number;
  /** Messages a second the publisher sends (paced; at most 1,000 unacknowledged at a time). */
  rate: number;
  /** The owner takes its session over this often, ms. */
  takeoverEveryMs: number;
}

/** One connection of the subscriber, and how it ended. */
interface SubscriberConnection {
  number: number;
  raw: RawSession;
  /** Reason code of the DISCONNECT the broker sent it, if any. */
  disconnect?: number;
  /** Ended by the run itself. */
  ended: boolean;
  /** How the connection failed, if it did (EPIPE, ECONNRESET: the broker closed it with bytes of it unread). */
  error?: string;
}

export function noLossRun(context: StressContext, options: NoLossOptions): Promise<Figure> {
  const { messages, rate, takeoverEveryMs } = options;
  return measured(context, 'noloss', messages, async (tally) => {
    const session = `noloss-${Date.now().toString(36)}`;
    // Under alpha's own topics, where the default namespace lets alpha subscribe and the observer publish.
    const topic = `${ownTopics(DEFAULT_TOPIC_ROOT, 'alpha')}${session}`;
    /** Each message received: where it first came, and whether a copy with DUP=0 has. */
    const received = new Map<number, { first: string; plain: boolean }>();
    const counts = { takeovers: 0, thefts: 0, theftsAccepted: 0, redeliveries: 0, duplicatesWithoutDup: 0, closedByBroker: 0, sessionsLost: 0, refused: 0 };
    let stopped = false;
    /** When the owner reconnects after the broker closed its connection. */
    let reconnectAt = 0;

    // --- the subscriber: one connection after another, every one acknowledging at once.
    let connectionNumber = 0;
    let current: SubscriberConnection | undefined;
    const connections: SubscriberConnection[] = [];
    const connectSubscriber = async (clean: boolean): Promise<SubscriberConnection | undefined> => {
      const number = (connectionNumber += 1);
      let connection: SubscriberConnection | undefined;
      // Over both transports, each takeover comes over the other one; with several instances, at the next one.
      const raw = await open(context, {
        ...identity(context, 'alpha'),
        onPacket(packet, self) {
          if (packet.cmd === 'disconnect') {
            if (connection) connection.disconnect = packet.reasonCode ?? 0;
            return true;
          }
          if (packet.cmd !== 'publish') return false;
          tally.packets += 1;
          const message = Number(packet.payload.toString().slice(2));
          // A message may come again, with DUP=1; only one copy may have DUP=0. (Copies on two connections
          // can be read here in another order than the broker sent them: a DUP=1 copy may come first.)
          const seen = received.get(message);
          if (seen === undefined) received.set(message, { first: `on connection ${number} as packet id ${packet.messageId}`, plain: !packet.dup });
          else {
            counts.redeliveries += 1;
            if (!packet.dup && seen.plain) {
              counts.duplicatesWithoutDup += 1;
              tally.violation(`message ${message} delivered again without DUP=1 (connection ${number}, packet id ${packet.messageId}; first ${seen.first})`);
            }
            if (!packet.dup) seen.plain = true;
          }
          if (packet.messageId !== undefined) self.sendPacket({ cmd: 'puback', messageId: packet.messageId });
          return true;
        },
      }, number, number).catch(() => undefined);
      if (!raw) return undefined;
      connection = { number, raw, ended: false };
      raw.socket.on('error', (error: NodeJS.ErrnoException) => (connection!.error ??= error.code ?? error.message));
      raw.socket.once('close', () => {
        // A takeover ends the connection it takes over with DISCONNECT 0x8E; nothing else may end one.
        if (connection!.ended || connection!.disconnect === 0x8e) return;
        counts.closedByBroker += 1;
        // As mqtt.js does (reconnectPeriod 1000 ms): the owner is back a second later, not at its next takeover.
        if (connection === current) reconnectAt = Date.now() + 1000;
        const how = connection!.disconnect === undefined ? 'without a DISCONNECT' : `with DISCONNECT 0x${connection!.disconnect.toString(16)}`;
        tally.violation(`connection ${number} of session "${session}" was closed by the broker ${how}${connection!.error ? ` (${connection!.error})` : ''}`);
      });
      raw.sendPacket(connectPacket(session, 'alpha', 5, { clean, properties: { sessionExpiryInterval: 600 } }));
      const connack = (await raw.next(5000)) as { cmd?: string; reasonCode?: number; sessionPresent?: boolean } | undefined;
      tally.packets += 2;
      if (connack?.cmd !== 'connack' || connack.reasonCode) {
        counts.refused += 1;
        tally.violation(`the owner's CONNECT ${number} for session "${session}" was ${connack?.cmd === 'connack' ? `refused (0x${connack.reasonCode!.toString(16)})` : 'closed without a CONNACK'}`);
        connection.ended = true;
        raw.end();
        return undefined;
      }
      connections.push(connection);
      if (!clean && !connack.sessionPresent) {
        counts.sessionsLost += 1;
        tally.violation(`takeover ${number}: session "${session}" was gone (Session Present 0)`);
      }
      if (clean || !connack.sessionPresent) {
        // A new session: subscribe, as mqtt.js resubscribes when the session was not present.
        raw.sendPacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
        tally.packets += 1;
      }
      current = connection;
      return connection;
    };
    if (!(await connectSubscriber(true))) throw new Error(`the owner could not open session "${session}"`);
    await sleep(50);

    // --- the owner takes its session over on a timer; after each takeover another identity tries the name.
    const attempts: Promise<void>[] = [];
    const takeovers = (async () => {
      // Every takeoverEveryMs; after a pause (a reconnection), the cadence starts again.
      for (let next = Date.now() + takeoverEveryMs; !stopped; next = Math.max(next + takeoverEveryMs, Date.now())) {
        await sleep(Math.max(0, next - Date.now(), reconnectAt - Date.now()));
        if (stopped) break;
        counts.takeovers += 1;
        await connectSubscriber(false);
        const thief = RACERS[1 + (counts.takeovers % 3)]!;
        attempts.push(
          (async () => {
            const attempt = await open(context, identity(context, thief), counts.takeovers).catch(() => undefined);
            if (!attempt) return;
            counts.thefts += 1;
            if ((await connackOf(attempt, connectPacket(session, thief, 5, { clean: false }))) === 0) {
              counts.theftsAccepted += 1;
              tally.violation(`${thief} was given session "${session}"`);
            }
            attempt.end();
          })(),
        );
      }
    })();

    // --- the publisher: `rate` messages a second, every one acknowledged by the broker.
    const inFlight = new Map<number, number>();
    const accepted = new Set<number>();
    let refusedByBroker = 0;
    const publisher = await open(context, {
      ...identity(context, OBSERVER),
      onPacket(packet) {
        if (packet.cmd !== 'puback') return false;
        const message = inFlight.get(packet.messageId!);
        if (message !== undefined) {
          inFlight.delete(packet.messageId!);
          // 0x10 (no matching subscribers) is accepted too: the session should have been there.
          if ((packet.reasonCode ?? 0) >= 0x80) refusedByBroker += 1;
          else accepted.add(message);
        }
        return true;
      },
      // Over both transports, over WebSockets (the subscriber's first connection is over TLS).
    }, 1);
    if ((await connackOf(publisher, connectPacket(`${session}-pub`, OBSERVER, 5))) !== 0) throw new Error('the publisher was refused');
    const started = Date.now();
    let messageId = 0;
    for (let sent = 0; sent < messages; ) {
      const due = Math.min(messages, Math.floor(((Date.now() - started) * rate) / 1000) + 1);
      while (sent < due && inFlight.size < 1000) {
        do messageId = (messageId % 65535) + 1;
        while (inFlight.has(messageId));
        sent += 1;
        inFlight.set(messageId, sent);
        publisher.sendPacket({ cmd: 'publish', topic, payload: Buffer.from(`m-${sent}`), qos: 1, messageId, retain: false, dup: false });
        tally.packets += 1;
      }
      await sleep(sent < due ? 5 : 2);
    }
    const publishSeconds = (Date.now() - started) / 1000;
    for (let waited = 0; inFlight.size && waited < 10_000; waited += 50) await sleep(50);
    stopped = true;
    await takeovers;
    await Promise.all(attempts);
    // What the broker accepted must arrive; the last connection stays open while it does.
    for (let waited = 0, before = -1; waited < 15_000; waited += 100) {
      if ([...accepted].every((message) => received.has(message))) break;
      if (waited % 3000 === 0) {
        if (received.size === before) break;
        before = received.size;
      }
      await sleep(100);
    }
    const lost = [...accepted].filter((message) => !received.has(message));
    if (lost.length) tally.violation(`${lost.length} of ${accepted.size} accepted QoS 1 messages never reached session "${session}" (first: ${lost.slice(0, 5).join(', ')})`);
    if (inFlight.size) tally.violation(`${inFlight.size} of ${messages} QoS 1 messages were never acknowledged to the publisher`);
    if (refusedByBroker) tally.violation(`${refusedByBroker} of ${messages} QoS 1 messages were refused to the publisher`);
    // What the broker said of the session, to show the mechanism of a failure.
    if (tally.violations) {
      const said = new Map<string, string>();
      for (const line of context.broker.output()) {
        const what = line.replace(/^\S+Z /, '');
        if (line.includes(session) && !/^(accepted|refused) session /.test(what) && !said.has(what)) said.set(what, line);
      }
      tally.examples.push(...[...said.values()].slice(0, 4).map((line) => `broker: ${line}`));
    }
    for (const connection of connections) connection.ended = true;
    current?.raw.end();
    publisher.end();
    return {
      acked: accepted.size,
      lost: lost.length,
      duplicatesWithoutDup: counts.duplicatesWithoutDup,
      redeliveries: counts.redeliveries,
      closedByBroker: counts.closedByBroker,
      sessionsLost: counts.sessionsLost,
      rate: Math.round(messages / publishSeconds),
      takeovers: counts.takeovers,
      thefts: counts.thefts,
      theftsAccepted: counts.theftsAccepted,
    };
  });
}
