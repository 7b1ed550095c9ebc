// ws as ws-internals.ts relies on it: destroying createWebSocketStream's stream calls the WebSocket's
// `terminate` (the peer sees 1006, no close frame), which closeOnStreamDestroy turns into a close frame
// (the peer sees 1000); a message over maxPayload closes the WebSocket (1009) and destroys its stream
// at once, which onMessageTooLarge holds back so that what is owed goes out first. Fails when ws
// changes shape.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import WebSocket, { createWebSocketStream, WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { closeOnStreamDestroy, onMessageTooLarge } from './ws-internals.ts';

let server: WebSocketServer | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

/** The close code a client sees when the server destroys the stream of its connection, with `prepare` applied first. */
async function closeCodeOnDestroy(prepare: (webSocket: WebSocket) => void): Promise<number> {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  server.once('connection', (webSocket) => {
    prepare(webSocket);
    createWebSocketStream(webSocket).destroy();
  });
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
  const [code] = (await once(client, 'close')) as [number];
  return code;
}

describe('ws as the reference relies on it', () => {
  it("destroys a stream's WebSocket with terminate, which closeOnStreamDestroy turns into a close frame", async () => {
    expect(await closeCodeOnDestroy(() => {})).toBe(1006);
    expect(await closeCodeOnDestroy((webSocket) => closeOnStreamDestroy(webSocket, 1000))).toBe(1000);
  });

  it('closes a WebSocket on a message over maxPayload (1009) and destroys its stream with what it held, which onMessageTooLarge holds back', async () => {
    const seen = async (hook: boolean) => {
      server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 16 });
      await once(server, 'listening');
      server.once('connection', (webSocket) => {
        const stream = createWebSocketStream(webSocket);
        stream.on('error', () => {});
        // Written a byte at a time, as mqtt-packet writes a DISCONNECT: one WebSocket message each.
        const owed = () => ['o', 'w', 'e', 'd'].forEach((byte) => stream.write(byte));
        if (hook) onMessageTooLarge(webSocket, 200, () => (owed(), true));
        else webSocket.once('error', owed);
      });
      const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
      const messages: string[] = [];
      client.on('message', (data) => messages.push(String(data)));
      await once(client, 'open');
      client.send(Buffer.alloc(64));
      const [code] = (await once(client, 'close')) as [number];
      await new Promise((resolve) => server!.close(resolve));
      server = undefined;
      return { code, owed: messages.join('') };
    };
    expect(await seen(false)).toEqual({ code: 1009, owed: '' });
    expect(await seen(true)).toEqual({ code: 1009, owed: 'owed' });
  });
});
