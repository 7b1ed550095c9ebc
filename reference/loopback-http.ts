// A small HTTP server for the reference's own services beside the broker (the test webhook, the
// management API): listening on loopback by default, and stopped with every connection it still has, so
// that a test's stop never waits on a client's keep-alive.
import { once } from 'node:events';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface HttpService {
  /** The host as a URL writes it (an IPv6 address in brackets). */
  urlHost: string;
  port: number;
  stop(): Promise<void>;
}

export async function serveHttp(handler: RequestListener, options: { host?: string; port?: number } = {}): Promise<HttpService> {
  const sockets = new Set<Socket>();
  const server = createServer(handler);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const { address, port } = server.address() as AddressInfo;
  return {
    urlHost: address.includes(':') ? `[${address}]` : address,
    port,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
