// The stress runs against a broker process: each is bounded by its count, returns its figures, and
// counts as a violation anything the namespace's rules or the broker's robustness forbid.
import { connect as netConnect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import type { CertificateCaseSet } from '../certs/crafted.ts';
import type { LoadedPki } from '../certs/manifest.ts';
import { DEFAULT_TOPIC_ROOT, OBSERVER, ownTopics } from '../eventgrid/suite-contract.ts';
import { connectAnnouncing, connectV5, disconnectV5, sessionExpiryProperty, variableByteInteger } from '../testkit/raw-packets.ts';
import { openRawSession, type RawSession, type RawSessionOptions } from '../testkit/raw-session.ts';
import type { BrokerProcess } from './broker-process.ts';

export interface StressContext {
  broker: BrokerProcess;
  pki: LoadedPki;
  certificates: CertificateCaseSet;
  handshakeTimeoutMs: number;
  connectTimeoutMs: number;
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
  seconds: number;
  /** Run-specific counts, shown after the common ones. */
  extra?: Record<string, number | string>;
  /** The first few violations, described. */
  examples: string[];
}

export function formatFigure(figure: Figure): string {
  const mib = (value: number | undefined) => (value === undefined ? '?' : value.toFixed(0));
  const extra = Object.entries(figure.extra ?? {})
    .map(([key, value]) => ` ${key}=${value}`)
    .join('');
  return (
    `${figure.run.padEnd(9)} rounds=${figure.rounds} violations=${figure.violations} packets=${figure.packets} crashes=${figure.crashes}` +
    ` memory=${mib(figure.memoryBeforeMiB)}->${mib(figure.memoryAfterMiB)} MiB time=${figure.seconds.toFixed(1)}s${extra}`
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `count` tasks, `parallel` at a time. */
async function pool(count: number, parallel: number, task: (index: number) => Promise<void>): Promise<void> {
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

class Tally {
  violations = 0;
  packets = 0;
  readonly examples: string[] = [];
  violation(description: string): void {
    this.violations += 1;
    if (this.examples.length < 5) this.examples.push(description);
  }
}

async function measured(context: StressContext, run: string, rounds: number, body: (tally: Tally) => Promise<Record<string, number | string> | void>): Promise<Figure> {
  const tally = new Tally();
  const started = Date.now();
  const memoryBeforeMiB = context.broker.rssMiB();
  let extra: Record<string, number | string> | void;
  try {
    extra = await body(tally);
  } catch (error) {
    if (context.broker.exitCode() === undefined) throw error;
  }
  // Let the broker close what the run left and settle before its memory is read.
  await sleep(context.settleMs);
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
    seconds: (Date.now() - started) / 1000,
    extra: extra ?? undefined,
    examples: tally.examples,
  };
}

function identity(context: StressContext, id: string): Pick<RawSessionOptions, 'cert' | 'key'> {
  const loaded = context.pki.identities.get(id);
  if (!loaded) throw new Error(`no identity ${id} in the PKI`);
  return { cert: loaded.certificatePem, key: loaded.keyPem };
}

function open(context: StressContext, options: Partial<RawSessionOptions> = {}): Promise<RawSession> {
  return openRawSession({ port: context.broker.port, ca: context.pki.rootCaPem, ...options });
}

type Connect = mqttPacket.IConnectPacket;
const connectPacket = (clientId: string, username: string, version: 4 | 5, extra: Partial<Connect> = {}): Connect => ({
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
async function connackOf(session: RawSession, packet: Connect): Promise<number | undefined> {
  session.sendPacket(packet);
  const reply = (await session.next(5000)) as { cmd?: string; reasonCode?: number; returnCode?: number } | undefined;
  if (reply?.cmd !== 'connack') return undefined;
  return reply.reasonCode ?? reply.returnCode;
}

/** Whether the broker still serves: a fresh CONNECT from `observer` is accepted. */
async function healthy(context: StressContext, name: string): Promise<boolean> {
  if (context.broker.exitCode() !== undefined) return false;
  try {
    const session = await open(context, identity(context, 'observer'));
    const code = await connackOf(session, connectPacket(name, 'observer', 5));
    session.end();
    return code === 0;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------
// race: four identities CONNECT with one session name at the same moment; two identities holding one
// name at once is a hijack.
const RACERS = ['alpha', 'beta', 'gamma', 'observer'];

export function raceRun(context: StressContext, rounds: number): Promise<Figure> {
  return measured(context, 'race', rounds, async (tally) => {
    let accepted = 0;
    let refused = 0;
    const stamp = Date.now().toString(36);
    await pool(rounds, Math.max(1, Math.floor(context.parallel / RACERS.length)), async (round) => {
      const name = `race-${stamp}-${round}`;
      const version: 4 | 5 = round % 2 ? 5 : 4;
      const sessions = await Promise.all(RACERS.map((id) => open(context, identity(context, id)).catch(() => undefined)));
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
        session = await open(context, withCertificate ? identity(context, 'alpha') : {});
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
    const kinds = ['tcp', 'tls', 'slow'] as const;
    const open_: { kind: (typeof kinds)[number]; closed: () => boolean; destroy: () => void }[] = [];
    let stop = false;
    await pool(connections, context.parallel * 4, async (index) => {
      const kind = kinds[index % 3]!;
      if (kind === 'tcp') {
        const socket: Socket = netConnect({ host: '127.0.0.1', port: context.broker.port });
        socket.on('error', () => {});
        let closed = false;
        socket.once('close', () => (closed = true));
        open_.push({ kind, closed: () => closed, destroy: () => socket.destroy() });
        return;
      }
      const session = await open(context).catch(() => undefined);
      if (!session) return tally.violation(`${kind} connection ${index}: TLS handshake failed`);
      let closed = false;
      session.socket.once('close', () => (closed = true));
      open_.push({ kind, closed: () => closed, destroy: () => session.end() });
      if (kind === 'slow') {
        const bytes = connectV5(`slow-${index}`, 'alpha', Buffer.alloc(0));
        void (async () => {
          for (let at = 0; at < bytes.length && !closed && !stop; at += 1) {
            session.socket.write(bytes.subarray(at, at + 1));
            tally.packets += at === 0 ? 1 : 0;
            await sleep(250);
          }
        })();
      }
    });
    const started = Date.now();
    while (Date.now() - started < deadline && open_.some((entry) => !entry.closed())) await sleep(100);
    stop = true;
    const left = open_.filter((entry) => !entry.closed());
    for (const entry of left) tally.violation(`a ${entry.kind} connection is still open ${deadline} ms after it opened`);
    for (const entry of open_) entry.destroy();
    return { tcp: open_.filter((e) => e.kind === 'tcp').length, tls: open_.filter((e) => e.kind === 'tls').length, slow: open_.filter((e) => e.kind === 'slow').length, stillOpen: left.length };
  });
}

// ---------------------------------------------------------------------------------------------------
// oversized: certificate-less connections announce a 268 MB CONNECT and keep sending; each must be cut
// off long before the broker has buffered a megabyte of it.
export function oversizedRun(context: StressContext, connections: number): Promise<Figure> {
  return measured(context, 'oversized', connections, async (tally) => {
    let maxSentKiB = 0;
    const limit = 8 * 1024 * 1024;
    await pool(connections, context.parallel, async (index) => {
      const session = await open(context).catch(() => undefined);
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
      const session = await open(context, { cert: certificateCase.chainPem, key: certificateCase.keyPem, permissive: true }).catch(() => undefined);
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
// noloss: QoS 1 messages to a persistent session that is taken over again and again by its owner,
// while other identities try to take its name: none lost, none to another identity.
export function noLossRun(context: StressContext, messages: number, takeovers: number): Promise<Figure> {
  return measured(context, 'noloss', messages, async (tally) => {
    const session = `noloss-${Date.now().toString(36)}`;
    // Under alpha's own topics, where the default namespace lets alpha subscribe and the observer publish.
    const topic = `${ownTopics(DEFAULT_TOPIC_ROOT, 'alpha')}${session}`;
    const received = new Set<number>();
    let thefts = 0;
    let theftsAccepted = 0;
    let duplicates = 0;
    const subscriber = async (clean: boolean) => {
      const raw = await open(context, {
        ...identity(context, 'alpha'),
        onPacket(packet, self) {
          if (packet.cmd !== 'publish') return false;
          const number = Number(packet.payload.toString().slice(2));
          if (received.has(number)) duplicates += 1;
          received.add(number);
          tally.packets += 1;
          if (packet.messageId !== undefined) self.sendPacket({ cmd: 'puback', messageId: packet.messageId });
          return true;
        },
      });
      const code = await connackOf(raw, connectPacket(session, 'alpha', 5, { clean, properties: { sessionExpiryInterval: 600 } }));
      if (code !== 0) throw new Error(`the subscriber was refused its own session (${code})`);
      return raw;
    };
    let current = await subscriber(true);
    current.sendPacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
    await current.next(5000);

    const publisher = await open(context, identity(context, OBSERVER));
    if ((await connackOf(publisher, connectPacket(`${session}-pub`, OBSERVER, 5))) !== 0) throw new Error('the publisher was refused');
    const pending = new Map<number, () => void>();
    publisher.socket.removeAllListeners('data');
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    parser.on('packet', (packet) => {
      if (packet.cmd === 'puback') pending.get(packet.messageId!)?.();
    });
    publisher.socket.on('data', (chunk) => parser.parse(chunk));

    const every = Math.max(1, Math.floor(messages / Math.max(1, takeovers)));
    let done = 0;
    const window = 32;
    const inFlight = new Set<Promise<void>>();
    for (let number = 1; number <= messages; number += 1) {
      const messageId = ((number - 1) % 60000) + 1;
      const acked = new Promise<void>((resolve) => pending.set(messageId, resolve)).then(() => {
        pending.delete(messageId);
        done += 1;
      });
      inFlight.add(acked);
      void acked.then(() => inFlight.delete(acked));
      publisher.sendPacket({ cmd: 'publish', topic, payload: Buffer.from(`m-${number}`), qos: 1, messageId, retain: false, dup: false });
      tally.packets += 1;
      if (inFlight.size >= window) await Promise.race(inFlight);
      if (number % every === 0) {
        // The owner takes its session over; another identity tries to take the name.
        current = await subscriber(false);
        const thief = RACERS[1 + (number % 3)]!;
        const attempt = await open(context, identity(context, thief));
        thefts += 1;
        if ((await connackOf(attempt, connectPacket(session, thief, 5, { clean: false }))) === 0) {
          theftsAccepted += 1;
          tally.violation(`${thief} was given session "${session}"`);
        }
        attempt.end();
      }
    }
    await Promise.race([Promise.all(inFlight), sleep(10_000)]);
    for (let waited = 0; received.size < messages && waited < 10_000; waited += 100) await sleep(100);
    const lost = messages - received.size;
    if (lost > 0) tally.violation(`${lost} of ${messages} QoS 1 messages never reached session "${session}"`);
    current.end();
    publisher.end();
    return { acked: done, lost, duplicates, takeovers: Math.floor(messages / every), thefts, theftsAccepted };
  });
}
