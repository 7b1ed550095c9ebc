// The two ways the suite's clients reach a target, as Event Grid serves them: MQTT over TLS
// (mqtts://HOST:8883) and MQTT over WebSockets over TLS (wss://HOST:443/mqtt, subprotocol "mqtt"). Both
// present the same certificate from the same TLS context and resume TLS sessions alike; `ws` frames
// the WebSocket, and its stream adapter gives the raw client the same byte stream over either.
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions, type SecureContext, type TLSSocket } from 'node:tls';
import WebSocket, { createWebSocketStream } from 'ws';
import { transportOf } from '../rules/transports.ts';

/** The server name to send in TLS: none for an IP address, as Node's own clients do. */
function serverNameOf(hostname: string): string | undefined {
  return hostname.startsWith('[') || /^[\d.]+$/.test(hostname) ? undefined : hostname;
}

export interface TlsSetup {
  secureContext: SecureContext;
  /** A TLS session to resume. */
  session?: Buffer;
  /** Sees each TLS socket made, to keep the sessions the server hands it. */
  onSocket?: (socket: TLSSocket) => void;
}

/**
 * WebSocket options that make its TLS connection with `tls` (ws hands `createConnection` the host,
 * port and server name of the URL), for `new WebSocket` and mqtt.js's `wsOptions`.
 */
export function webSocketOptions(tls: TlsSetup): WebSocket.ClientOptions {
  return {
    perMessageDeflate: false,
    createConnection: (options) => {
      const socket = tlsConnect({ ...(options as ConnectionOptions), secureContext: tls.secureContext, ...(tls.session ? { session: tls.session } : {}) });
      tls.onSocket?.(socket);
      return socket;
    },
  };
}

/** Closes a WebSocket's stream once its readable side has ended and been read. */
export function closeWhenRead(stream: Duplex): void {
  if (stream.readableEnded) stream.destroy();
  else stream.once('end', () => stream.destroy());
}

/** A byte stream to the MQTT server at `url`, and a promise that settles when it can carry a CONNECT. */
export function openStream(url: string, tls: TlsSetup): { stream: Duplex; ready: Promise<void> } {
  const target = new URL(url);
  if (transportOf(url) === 'wss') {
    const socket = new WebSocket(url, ['mqtt'], webSocketOptions(tls));
    const stream = createWebSocketStream(socket);
    // ws's stream only ends its readable side when the WebSocket closes: it closes once what came
    // before the close (a DISCONNECT) has been read.
    socket.once('close', () => closeWhenRead(stream));
    const ready = new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('unexpected-response', (_request, response) => reject(new Error(`the WebSocket upgrade was answered HTTP ${response.statusCode}`)));
    });
    return { stream, ready };
  }
  const socket = tlsConnect({
    host: target.hostname.replace(/^\[|\]$/g, ''),
    port: Number(target.port || 8883),
    secureContext: tls.secureContext,
    ...(tls.session ? { session: tls.session } : {}),
    servername: serverNameOf(target.hostname),
  });
  tls.onSocket?.(socket);
  return { stream: socket, ready: new Promise((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject)) };
}
