// The one change this project makes to how `ws` ends a connection, fenced here (ws-internals.test.ts
// fails when ws no longer has the shape it relies on).
import WebSocket from 'ws';

/**
 * Makes the destruction of createWebSocketStream's stream end the WebSocket with a close frame (1000)
 * instead of cutting the TCP connection. The stream's destroy calls the WebSocket's `terminate`, which
 * destroys the socket at once: when the broker ends a connection that is still sending (a packet over
 * the limit, refused with DISCONNECT 0x95 as its first bytes arrive), the unread bytes make the kernel
 * send a reset, and the peer may lose the DISCONNECT it had not read yet. A peer that does not answer
 * the close frame within `graceMs` is cut off as before.
 */
export function closeOnStreamDestroy(webSocket: WebSocket, graceMs: number): void {
  const terminate = webSocket.terminate.bind(webSocket);
  webSocket.terminate = () => {
    if (webSocket.readyState !== WebSocket.OPEN) return terminate();
    webSocket.close(1000);
    setTimeout(terminate, graceMs).unref();
  };
}
