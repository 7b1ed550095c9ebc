// upgrades: what the WebSocket endpoint refuses, over and over: each round sends every bad upgrade
// (another path, no or another subprotocol, plain HTTP to the TLS port, an HTTPS request that is no
// upgrade, bytes that are no HTTP), a WebSocket without a client certificate, a frame announcing more
// than the broker takes, and packets over the packet limit in one message (by a byte, and past the
// WebSocket's own bound). A violation is an answer other than the one the endpoint owes, a connection
// it leaves open, or (as in every run) a crash or a socket still held after the run.
import { connect as netConnect } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { OBSERVER } from '../eventgrid/suite-contract.ts';
import { connackOf, connectPacket, healthy, identity, measured, open, pool, type Figure, type StressContext, type Tally } from './runs.ts';
import { frameHeader, httpAnswerOf, tlsTo, upgradeRequest, type HttpAnswer } from './websocket-abuse.ts';

/** How long an answer may take, and the closing after it, ms (a loaded machine). */
const ANSWER_MS = 5000;

/** A case: what it sends, and what is wrong with what came back (undefined: as owed). */
type Case = (context: StressContext, round: number) => Promise<string | undefined>;

/** Status and close owed to an HTTP refusal. */
function refusedWith(status: number, answer: HttpAnswer): string | undefined {
  if (answer.status !== status) return `answered ${answer.status ?? 'nothing'}, not ${status}`;
  return answer.closed ? undefined : `answered ${status} but left the connection open`;
}

/** An upgrade request (or other bytes) over TLS to the WebSocket port, and the HTTP refusal owed to it. */
function overTls(bytes: () => Buffer, status: number): Case {
  return async (context) => {
    const socket = await tlsTo({ port: context.broker.wsPort, ca: context.pki.rootCaPem, ...identity(context, 'alpha') });
    try {
      const answer = httpAnswerOf(socket, ANSWER_MS);
      socket.write(bytes());
      return refusedWith(status, await answer);
    } finally {
      socket.destroy();
    }
  };
}

/** A WebSocket upgraded by hand (the 101 read), for bytes no WebSocket library sends. */
async function upgradedByHand(context: StressContext): Promise<{ socket: Awaited<ReturnType<typeof tlsTo>>; received: () => Buffer }> {
  const socket = await tlsTo({ port: context.broker.wsPort, ca: context.pki.rootCaPem, ...identity(context, 'alpha') });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.write(upgradeRequest('/mqtt', 'mqtt'));
  const received = () => Buffer.concat(chunks);
  for (let waited = 0; !received().includes('\r\n\r\n') && !socket.destroyed && waited < ANSWER_MS; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
  const head = received().toString('latin1');
  if (!head.startsWith('HTTP/1.1 101 ')) {
    socket.destroy();
    throw new Error(`the upgrade was answered ${head.slice(0, 12) || 'with nothing'}`);
  }
  return { socket, received: () => received().subarray(received().indexOf('\r\n\r\n') + 4) };
}

const CASES: Record<string, Case> = {
  'wrong-path': overTls(() => upgradeRequest('/other', 'mqtt'), 404),
  'no-subprotocol': overTls(() => upgradeRequest('/mqtt', undefined), 400),
  'other-subprotocol': overTls(() => upgradeRequest('/mqtt', 'graphql-ws'), 400),
  'no-upgrade': overTls(() => Buffer.from('GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'), 400),
  'not-http': overTls(() => Buffer.from('\u0010\u0020MQTT over TLS sent to the WebSocket port\r\n\r\n'), 400),
  async 'plain-http'(context) {
    const socket = netConnect({ host: '127.0.0.1', port: context.broker.wsPort });
    socket.on('error', () => {});
    try {
      const answer = httpAnswerOf(socket, ANSWER_MS);
      socket.write(upgradeRequest('/mqtt', 'mqtt'));
      return refusedWith(400, await answer);
    } finally {
      socket.destroy();
    }
  },
  // A1 over WebSockets as over TLS: the connection is taken, its CONNECT refused 0x86.
  async 'no-certificate'(context, round) {
    const session = await open(context, {}, context.transports.indexOf('wss'));
    try {
      const code = await connackOf(session, connectPacket(`upgrades-${round}`, 'alpha', 5));
      return code === 0x86 ? undefined : `a CONNECT without a certificate was answered ${code === undefined ? 'with no CONNACK' : `0x${code.toString(16)}`}, not 0x86 (A1)`;
    } finally {
      session.end();
    }
  },
  // ws closes a WebSocket whose frame announces more than it takes (1009) on reading the header.
  async 'oversized-frame'(context) {
    const { socket, received } = await upgradedByHand(context);
    try {
      const closed = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(socket.destroyed), ANSWER_MS);
        socket.once('close', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      socket.write(Buffer.concat([frameHeader(2 ** 40), Buffer.alloc(1024)]));
      if (!(await closed)) return 'a frame announcing 1 TiB left the WebSocket open';
      const close = received();
      // The close frame: 0x88, its length, then the code.
      return close[0] === 0x88 && close.readUInt16BE(2) === 1009 ? undefined : `a frame announcing 1 TiB was closed with ${close.length ? `0x${close.subarray(0, 4).toString('hex')}` : 'no close frame'}, not 1009`;
    } finally {
      socket.destroy();
    }
  },
  // L15: a packet one byte over the limit, in one message after a good CONNECT: DISCONNECT 0x95, closed.
  'oversized-packet': oversizedPacket('packet', (limit) => limit + 1),
  // The same for a packet past the WebSocket's own bound (twice the limit), as mqtt.js sends a big PUBLISH: one message.
  'oversized-message': oversizedPacket('message', (limit) => 3 * limit),
};

/** A PUBLISH of `size(limit)` bytes in all, in one WebSocket message after a good CONNECT, and the DISCONNECT 0x95 owed to it (L15). */
function oversizedPacket(name: string, size: (limit: number) => number): Case {
  return async (context, round) => {
    const session = await open(context, identity(context, 'alpha'), context.transports.indexOf('wss'));
    try {
      if ((await connackOf(session, connectPacket(`upgrades-big-${name}-${round}`, 'alpha', 5))) !== 0) return 'the CONNECT before the oversized packet was refused';
      const limit = context.maximumPacketSize;
      const publish = (bytes: number) => mqttPacket.generate({ cmd: 'publish', topic: 'mmc/alpha/oversized', payload: Buffer.alloc(bytes), qos: 0, dup: false, retain: false }, { protocolVersion: 5 });
      // The header's Remaining Length takes more bytes as the packet grows: measured at the size sent.
      const total = size(limit);
      session.send(publish(total - (publish(total).length - total)));
      const reply = (await session.next(ANSWER_MS)) as { cmd?: string; reasonCode?: number } | undefined;
      if (reply?.cmd !== 'disconnect' || reply.reasonCode !== 0x95) {
        const answer = reply ? `${reply.cmd} ${reply.reasonCode ?? ''}` : (await session.closedWithin(0)) ? 'by a close with no packet' : `with nothing in ${ANSWER_MS} ms`;
        return `a packet of ${size(limit)} bytes was answered ${answer}, not DISCONNECT 0x95 (L15)`;
      }
      return (await session.closedWithin(ANSWER_MS)) ? undefined : 'the connection stayed open after DISCONNECT 0x95';
    } finally {
      session.end();
    }
  };
}

export const UPGRADE_CASES = Object.keys(CASES);

export function upgradesRun(context: StressContext, rounds: number): Promise<Figure> {
  return measured(context, 'upgrades', rounds, async (tally: Tally) => {
    const answered = Object.fromEntries(UPGRADE_CASES.map((name) => [name, 0]));
    const attempts = rounds * UPGRADE_CASES.length;
    await pool(attempts, context.parallel, async (attempt) => {
      const name = UPGRADE_CASES[attempt % UPGRADE_CASES.length]!;
      const round = Math.floor(attempt / UPGRADE_CASES.length);
      tally.packets += 1;
      const wrong = await CASES[name]!(context, round).catch((error: Error) => `failed: ${error.message}`);
      if (wrong) tally.violation(`${name} (round ${round}): ${wrong}`);
      else answered[name]! += 1;
    });
    if (!(await healthy(context, 'upgrades-end'))) tally.violation(`at the end: the broker no longer accepts a good CONNECT from ${OBSERVER}`);
    return { attempts, ...answered };
  });
}
