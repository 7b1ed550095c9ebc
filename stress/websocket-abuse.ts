// What a misbehaving client sends to the broker's WebSocket port around the upgrade, written by hand
// because a WebSocket library will not send it: an upgrade request with another path or no
// subprotocol, one sent a byte at a time or cut off halfway, and a frame header announcing more than
// the broker takes. For the stress runs' idle and upgrades runs.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export interface TlsEndpoint {
  port: number;
  /** PEM of the CA that signed the server certificate. */
  ca: string;
  cert?: string;
  key?: string;
}

/** A TLS connection to the WebSocket port, handshake done, nothing sent yet. */
export function tlsTo(endpoint: TlsEndpoint): Promise<TLSSocket> {
  const socket = tlsConnect({ host: '127.0.0.1', servername: 'localhost', ...endpoint });
  socket.on('error', () => {});
  return new Promise((resolve, reject) =>
    socket
      .once('secureConnect', () => resolve(socket))
      .once('close', () => reject(new Error('closed during the TLS handshake'))),
  );
}

/** An HTTP/1.1 WebSocket upgrade request for `path`, offering `protocol` (none: no Sec-WebSocket-Protocol header). */
export function upgradeRequest(path: string, protocol: string | undefined): Buffer {
  return Buffer.from(
    [
      `GET ${path} HTTP/1.1`,
      'Host: 127.0.0.1',
      'Connection: Upgrade',
      'Upgrade: websocket',
      'Sec-WebSocket-Version: 13',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      ...(protocol === undefined ? [] : [`Sec-WebSocket-Protocol: ${protocol}`]),
      '',
      '',
    ].join('\r\n'),
  );
}

/** A masked binary frame's header announcing `length` payload bytes (the 8-byte length form), as a client sends it. */
export function frameHeader(length: number): Buffer {
  const header = Buffer.alloc(14);
  header[0] = 0x82; // FIN, binary
  header[1] = 0x80 | 127; // masked, 64-bit length
  header.writeBigUInt64BE(BigInt(length), 2);
  randomBytes(4).copy(header, 10);
  return header;
}

export interface HttpAnswer {
  /** The status of the response's first line; undefined: closed with none. */
  status?: number;
  /** Whether the connection was closed within the wait. */
  closed: boolean;
}

/** What the server answers on `socket` within `ms`: its status line, and whether it then closes. */
export function httpAnswerOf(socket: Socket, ms: number): Promise<HttpAnswer> {
  return new Promise((resolve) => {
    let text = '';
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.off('data', read);
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1];
      resolve({ ...(status ? { status: Number(status) } : {}), closed });
    };
    const read = (chunk: Buffer) => (text += chunk.toString('latin1').slice(0, 200));
    const timer = setTimeout(() => done(socket.destroyed), ms);
    socket.on('data', read);
    if (socket.destroyed) return done(true);
    socket.once('close', () => done(true));
  });
}
