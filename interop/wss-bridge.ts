// MQTT over secure WebSockets (wss) in front of the reference broker's mutual-TLS port, for the browser
// test. The reference's own wss listener asks for a client certificate, as Event Grid does, and headless
// Chromium meets that request by waiting for a certificate to be picked, which nobody does: the TLS
// handshake hangs until the page gives up ("WebSocket opening handshake was canceled"). This endpoint
// asks for none. Each WebSocket's bytes are piped, both ways, into a TLS connection of their own to the
// broker, which presents no client certificate either, so the broker authenticates the client by what
// its CONNECT carries (a custom JWT).
import { once } from 'node:events';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { createWebSocketStream, WebSocketServer } from 'ws';

export interface WssBridge {
  url: string;
  stop(): Promise<void>;
}

/** A wss:// endpoint on loopback, served with `tls`, that carries MQTT to the broker's TLS port. */
export async function startWssBridge(options: { tls: { cert: string; key: string }; brokerPort: number; ca: string }): Promise<WssBridge> {
  const server = createServer({ cert: options.tls.cert, key: options.tls.key });
  const sockets = new WebSocketServer({ server, handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false) });
  sockets.on('connection', (socket) => {
    const stream = createWebSocketStream(socket);
    const broker = tlsConnect({ host: '127.0.0.1', port: options.brokerPort, servername: 'localhost', ca: options.ca });
    const close = () => {
      stream.destroy();
      broker.destroy();
    };
    stream.on('error', close).on('close', close);
    broker.on('error', close).on('close', close);
    stream.pipe(broker).pipe(stream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `wss://127.0.0.1:${port}/mqtt`,
    async stop() {
      for (const client of sockets.clients) client.terminate();
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
