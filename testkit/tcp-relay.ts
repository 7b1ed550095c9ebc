// A TCP relay on 127.0.0.1 that passes the bytes of each connection through to a target unread (TLS
// included, so mutual TLS still runs end to end) but re-times them, as a load balancer or a remote
// namespace can: "join" holds what arrives for a moment and writes it in chunks of several packets, so that packets sent
// apart arrive back to back in one read; "split" writes the bytes one at a time, waiting for each write;
// "delay" holds the target's answers for a set time, as a distant server would (what waits for answers
// in turn then takes that time per answer waited for).
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

export type RelayMode = 'join' | 'split' | 'delay';

export interface Relay {
  port: number;
  /** The target's URL with the relay's port in place of the target's. */
  url: string;
  /** Connections relayed so far. */
  readonly connections: number;
  /** "delay": how long each of the target's writes is held before it is passed on, ms (0 at first; may change). */
  delayMs: number;
  stop(): Promise<void>;
}

/** How long "join" holds the bytes that arrive before writing them as one chunk. */
const JOIN_MS = 5;
/**
 * The most "join" writes at once: more held waits for the next turn, so that a burst (a session's
 * queue delivered on resumption) arrives as several reads of many packets each, the later ones while
 * the client is already waiting for messages.
 */
const JOIN_BYTES = 4096;

/**
 * How much of each read "split" writes a byte at a time: every TLS handshake message and MQTT control
 * packet, and the start of a large PUBLISH (all of one, a byte at a time, would make the 1 MB queues of
 * L8 take longer to publish than a session lives).
 */
const SPLIT_BYTES = 512;

/** Pipes `from` into `to`, re-timed by `mode`; ends `to` when `from` ends and all before it is written. */
function pipe(from: Socket, to: Socket, mode: Exclude<RelayMode, 'delay'> | { delayMs(): number }): void {
  if (typeof mode === 'object') {
    // In order: a chunk is written no sooner than the one before it.
    let written = Promise.resolve();
    const later = (write: () => void) => {
      const at = performance.now() + mode.delayMs();
      written = written.then(() => new Promise<void>((resolve) => setTimeout(resolve, at - performance.now()))).then(write);
    };
    from.on('data', (chunk: Buffer) => later(() => to.destroyed || to.write(chunk)));
    from.on('end', () => later(() => to.end()));
    return;
  }
  if (mode === 'join') {
    let held = Buffer.alloc(0);
    let ended = false;
    let scheduled = false;
    const flush = () => {
      scheduled = false;
      if (to.destroyed) return;
      to.write(held.subarray(0, JOIN_BYTES));
      held = held.subarray(JOIN_BYTES);
      if (held.length > 0) schedule();
      else if (ended) to.end();
    };
    const schedule = () => {
      if (scheduled) return;
      scheduled = true;
      setTimeout(flush, JOIN_MS);
    };
    from.on('data', (chunk: Buffer) => {
      held = Buffer.concat([held, chunk]);
      schedule();
    });
    from.on('end', () => {
      ended = true;
      if (held.length === 0 && !scheduled) to.end();
    });
    return;
  }
  // "split": the first SPLIT_BYTES of each read one byte per write, the next only once the last is
  // handed to the kernel, so that no two are coalesced by the writer; the rest of the read in one write.
  // The source is paused meanwhile.
  let writing = Promise.resolve();
  const write = (bytes: Buffer) => new Promise<void>((resolve) => (to.destroyed ? resolve() : to.write(bytes, () => resolve())));
  from.on('data', (chunk: Buffer) => {
    from.pause();
    writing = writing.then(async () => {
      for (let index = 0; index < Math.min(chunk.length, SPLIT_BYTES); index += 1) await write(chunk.subarray(index, index + 1));
      if (chunk.length > SPLIT_BYTES) await write(chunk.subarray(SPLIT_BYTES));
      from.resume();
    });
  });
  from.on('end', () => void writing.then(() => to.end()));
}

/** Starts a relay to the target URL's host and port (mqtts://HOST:PORT). */
export async function startRelay(targetUrl: string, mode: RelayMode): Promise<Relay> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  let connections = 0;
  // Half-open sockets: an end is passed on only after the bytes held before it, so that a refusal
  // written just before the server closes still arrives.
  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    connections += 1;
    const upstream = connect({ host: target.hostname, port: Number(target.port), allowHalfOpen: true });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('error', () => {});
      // A reset on either side resets the other, as it would a direct connection.
      socket.on('close', (hadError) => {
        sockets.delete(socket);
        if (hadError) for (const other of [client, upstream]) other.destroy();
      });
    }
    if (mode === 'delay') {
      client.pipe(upstream);
      pipe(upstream, client, { delayMs: () => relay.delayMs });
    } else {
      pipe(client, upstream, mode);
      pipe(upstream, client, mode);
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const url = new URL(targetUrl);
  url.port = String(port);
  const relay: Relay = {
    port,
    url: url.toString().replace(/\/$/, ''),
    delayMs: 0,
    get connections() {
      return connections;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return relay;
}
