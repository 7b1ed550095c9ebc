// The broker's WebSocket listener (reference/ports/listener.ts): MQTT over WebSockets over the same
// mutual TLS as adapters/tls-listener.ts (same server certificate, same client-certificate request and
// CA trust), as Event Grid serves it on port 443 at path /mqtt. `ws` does the HTTP upgrade and the
// framing; each WebSocket becomes a stream of MQTT bytes handed to the same `accept` as a TCP
// connection, with the TLS session it came over, so one namespace serves both transports.
import type { IncomingMessage } from 'node:http';
import { createServer as createHttpServer, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { Connection, Listener } from '../ports/listener.ts';
import { listenTls, type TlsListenerOptions } from './tls-listener.ts';
import { closeOnStreamDestroy, onMessageTooLarge } from './ws-internals.ts';

export const WEBSOCKET_PATH = '/mqtt';
export const MQTT_SUBPROTOCOL = 'mqtt';
/** How long a closed WebSocket's stream waits for aedes to read what came before the close, and a peer
 * has to answer the close frame of a connection the broker ends, ms. */
const CLOSE_GRACE_MS = 1000;
/** A TLS record starts with its content type; 22 is a handshake (the ClientHello). */
const TLS_HANDSHAKE_RECORD = 0x16;

export interface WsListenerOptions extends TlsListenerOptions {
  /** The largest WebSocket message taken, bytes (past the namespace's packet limit, which aedes judges: L15); 0: ws' own default. */
  maxMessageBytes: number;
  /** A connection not upgraded to a WebSocket this long after its TLS handshake is closed, ms (as one that sends no CONNECT). */
  upgradeTimeoutMs: number;
}

/**
 * An HTTP refusal written straight to the socket, which is then closed. What else the peer sends is read
 * and dropped: a paused socket (plain HTTP is looked at before TLS, and paused) never sees the peer's end,
 * and was held open for good. A peer that keeps its side open is cut off after CLOSE_GRACE_MS.
 */
function refuse(socket: Duplex, status: number, why: string): void {
  const body = `${why}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  socket.resume();
  const cutOff = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
  cutOff.unref();
  socket.once('close', () => clearTimeout(cutOff));
}

/** Why an upgrade request is refused, with its HTTP status, or undefined when it is an MQTT WebSocket. */
function upgradeRefusal(request: IncomingMessage): { status: number; why: string } | undefined {
  const path = new URL(request.url ?? '/', 'https://broker').pathname;
  if (path !== WEBSOCKET_PATH) return { status: 404, why: `MQTT over WebSockets is served at ${WEBSOCKET_PATH}, not ${path}` };
  const offered = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((protocol) => protocol.trim());
  if (!offered.includes(MQTT_SUBPROTOCOL)) return { status: 400, why: `the WebSocket subprotocol "${MQTT_SUBPROTOCOL}" is required` };
  return undefined;
}

/**
 * Listens for MQTT over WebSockets (wss) on host:port. Another path is answered 404, an upgrade
 * without the mqtt subprotocol 400, an HTTPS request that is no upgrade 400, and plain HTTP sent to
 * the TLS port 400 in plain HTTP; a message over `maxMessageBytes` closes the WebSocket (1009), after
 * what the broker owes the client for it (an MQTT 5 client: DISCONNECT 0x95, as over TLS).
 */
export async function startWsListener(options: WsListenerOptions, accept: (connection: Connection) => void): Promise<Listener> {
  const sockets = new WebSocketServer({
    noServer: true,
    ...(options.maxMessageBytes > 0 ? { maxPayload: options.maxMessageBytes } : {}),
    // MQTT packets are small and many; compression would cost each of them CPU, and Event Grid does not
    // document it.
    perMessageDeflate: false,
    handleProtocols: () => MQTT_SUBPROTOCOL,
  });
  const upgradeDeadlines = new WeakMap<object, NodeJS.Timeout>();
  const http = createHttpServer((_request, response) => {
    response.writeHead(400, { 'content-type': 'text/plain', connection: 'close' });
    response.end(`this endpoint serves MQTT over WebSockets: upgrade at ${WEBSOCKET_PATH} with subprotocol "${MQTT_SUBPROTOCOL}"\n`);
  });
  http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refusal = upgradeRefusal(request);
    if (refusal) return refuse(socket, refusal.status, refusal.why);
    clearTimeout(upgradeDeadlines.get(request.socket));
    sockets.handleUpgrade(request, socket, head, (webSocket) => {
      closeOnStreamDestroy(webSocket, CLOSE_GRACE_MS);
      const stream = createWebSocketStream(webSocket);
      // A WebSocket closed by the peer or by ws (1009: a message over the limit) closes the stream once
      // what came before the close is read (ws's adapter would only end it for reading), or after a
      // second when aedes has stopped reading; its errors are the connection's end too.
      webSocket.once('close', () => {
        if (stream.readableEnded) return stream.destroy();
        const unread = setTimeout(() => stream.destroy(), CLOSE_GRACE_MS);
        unread.unref();
        stream.once('end', () => {
          clearTimeout(unread);
          stream.destroy();
        });
      });
      stream.on('error', () => stream.destroy());
      // A message over the bound: what the broker owes the client (L15's DISCONNECT), then ws' close (1009).
      let answer: (() => Buffer | undefined) | undefined;
      onMessageTooLarge(webSocket, CLOSE_GRACE_MS, () => {
        const bytes = answer?.();
        if (bytes) webSocket.send(bytes);
        // aedes' own DISCONNECT, when it read the packet's header first, may still be in the stream.
        return bytes !== undefined || stream.writableLength > 0;
      });
      accept({ stream, tls: request.socket as TLSSocket, onMessageTooLarge: (given) => (answer = given) });
    });
  });
  http.on('clientError', (_error, socket: Duplex) => refuse(socket, 400, 'malformed HTTP request'));

  const listening = await listenTls(
    options,
    (tls) => {
      const unanswered = setTimeout(() => tls.destroy(), options.upgradeTimeoutMs);
      unanswered.unref();
      tls.once('close', () => clearTimeout(unanswered));
      upgradeDeadlines.set(tls, unanswered);
      http.emit('connection', tls);
    },
    (socket: Socket, toTls) => {
      // Look at the first byte before TLS does: a TLS ClientHello goes on; anything else is answered as
      // plain HTTP sent to an HTTPS port. A connection that sends nothing is closed with the handshake's timeout.
      const silent = setTimeout(() => socket.destroy(), options.handshakeTimeoutMs);
      silent.unref();
      socket.once('close', () => clearTimeout(silent));
      socket.once('data', (chunk: Buffer) => {
        clearTimeout(silent);
        socket.pause();
        socket.unshift(chunk);
        if (chunk[0] === TLS_HANDSHAKE_RECORD) return toTls();
        refuse(socket, 400, `plain HTTP sent to the TLS port: use wss://, path ${WEBSOCKET_PATH}`);
      });
    },
  );
  return {
    host: options.host,
    port: listening.port,
    stopAccepting: () => listening.stopAccepting(),
    async close() {
      for (const webSocket of sockets.clients) webSocket.terminate();
      await listening.close();
      http.close();
    },
  };
}
