// The broker's TLS listener (reference/ports/listener.ts): mutual TLS over TCP that requests a client
// certificate without insisting on one, path-validates it with OpenSSL against the namespace's
// registered CAs (whose verdict the rules judge, not the TLS stack: a self-signed ThumbprintMatch
// client must get as far as CONNECT), and closes a connection that has not finished its handshake in time.
import { once } from 'node:events';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { createServer, type Server, type TlsOptions, type TLSSocket } from 'node:tls';
import type { Connection, Listener } from '../ports/listener.ts';
import { allowPartialTrustChain } from './node-tls-internals.ts';

export interface NamespaceTlsOptions {
  cert: string;
  key: string;
  /** PEM of the namespace's registered CAs: trust anchors, whether or not they are self-signed. */
  registeredCas: string[];
  /** A connection that has not completed its TLS handshake by then is closed, ms. */
  handshakeTimeoutMs: number;
  /**
   * Whether the handshake asks for a client certificate (default true; one is never required, so that
   * a token's client may present none). False for browsers: headless Chromium cancels a handshake that
   * asks for one it cannot give.
   */
  requestClientCertificate?: boolean;
}

export function createNamespaceTlsServer(options: NamespaceTlsOptions, onSecure: (socket: TLSSocket) => void): Server {
  const tlsOptions: TlsOptions = {
    cert: options.cert,
    key: options.key,
    requestCert: options.requestClientCertificate ?? true,
    rejectUnauthorized: false,
    ca: options.registeredCas,
    handshakeTimeout: options.handshakeTimeoutMs,
  };
  const server = createServer(tlsOptions, onSecure);
  // Event Grid registers intermediate CAs; OpenSSL trusts a non-self-signed CA only with the partial chain flag.
  allowPartialTrustChain(server);
  closeUnfinishedHandshakes(server, options.handshakeTimeoutMs);
  return server;
}

/**
 * Node's `handshakeTimeout` starts with the ClientHello: a TCP connection that never sends one stays
 * open for ever. Every connection gets a deadline from its first moment, cleared when its handshake
 * completes (the TLS socket is matched to its TCP connection by the peer's address and port).
 */
function closeUnfinishedHandshakes(server: Server, timeoutMs: number): void {
  const pending = new Map<string, NodeJS.Timeout>();
  const key = (socket: Socket) => `${socket.remoteAddress}|${socket.remotePort}`;
  server.on('connection', (socket: Socket) => {
    const id = key(socket);
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    timer.unref();
    pending.set(id, timer);
    socket.once('close', () => {
      clearTimeout(timer);
      if (pending.get(id) === timer) pending.delete(id);
    });
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    const id = key(socket);
    clearTimeout(pending.get(id));
    pending.delete(id);
  });
}

export interface TlsListenerOptions extends NamespaceTlsOptions {
  host: string;
  port: number;
  log: (line: string) => void;
}

/** A namespace TLS server listening on host:port, whose connections `close` ends. */
export interface ListeningTlsServer {
  server: Server;
  port: number;
  /** Stops accepting; the connections it accepted go on. */
  stopAccepting(): void;
  close(): Promise<void>;
}

/**
 * Listens for mutual-TLS connections on host:port and hands each to `onSecure` once its handshake is
 * done: what MQTT over TLS and MQTT over WebSockets (adapters/ws-listener.ts) share. `route` may take a
 * TCP connection before TLS sees it (it answers a plain HTTP request on the WebSocket port).
 */
export async function listenTls(
  options: TlsListenerOptions,
  onSecure: (socket: TLSSocket) => void,
  route?: (socket: Socket, toTls: () => void) => void,
): Promise<ListeningTlsServer> {
  const sockets = new Set<Socket>();
  const server = createNamespaceTlsServer(options, onSecure);
  const tcp = route ? createNetServer((socket) => route(socket, () => server.emit('connection', socket))) : server;
  tcp.on('connection', (socket: Socket) => {
    // TCP_NODELAY: without it the small writes after a TLS 1.3 handshake (tickets, CONNACK) wait on
    // Nagle's algorithm and the peer's delayed ACK, about 40 ms per CONNECT.
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', (error) => options.log(`TLS handshake failed: ${error.message}`));
  tcp.listen(options.port, options.host);
  await Promise.race([once(tcp, 'listening'), once(tcp, 'error').then(([error]) => Promise.reject(error))]);
  let closed: Promise<unknown> | undefined;
  return {
    server,
    port: (tcp.address() as AddressInfo).port,
    stopAccepting() {
      closed ??= new Promise((resolve) => tcp.close(resolve));
    },
    async close() {
      closed ??= new Promise((resolve) => tcp.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** Listens for mutual-TLS connections on host:port, and hands each one over once its handshake is done. */
export async function startTlsListener(options: TlsListenerOptions, accept: (connection: Connection) => void): Promise<Listener> {
  const { port, stopAccepting, close } = await listenTls(options, (tls) => accept({ stream: tls, tls }));
  return { host: options.host, port, stopAccepting, close };
}
