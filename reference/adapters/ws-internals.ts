// What this project changes or reads of `ws` beyond its documented API, fenced here
// (ws-internals.test.ts fails when ws no longer has the shape it relies on).
import WebSocket from 'ws';

/**
 * Calls `refused` when the WebSocket receives a message over its maxPayload, while it is still open.
 * When it answers that something owed to the peer is on its way (an MQTT DISCONNECT it wrote, or one
 * still queued in the stream, a byte a write), holds back what ws does right after (it stops reading
 * at once): its close (1009) for up to `graceMs`, and its 'error' event, which would destroy
 * createWebSocketStream's stream with what is queued in it. That goes out first; then the broker's end
 * of the stream closes the WebSocket (closeOnStreamDestroy: 1000) or, failing that, ws' close does
 * after the grace (1009). With nothing owed, ws closes it (1009) at once, as it would.
 */
export function onMessageTooLarge(webSocket: WebSocket, graceMs: number, refused: () => boolean): void {
  const receiver = (webSocket as unknown as { _receiver: NodeJS.EventEmitter })._receiver;
  receiver.prependListener('error', (error: { code?: string }) => {
    if (error.code !== 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' || webSocket.readyState !== WebSocket.OPEN) return;
    if (!refused()) return;
    (webSocket as unknown as { _errorEmitted: boolean })._errorEmitted = true;
    const close = webSocket.close;
    webSocket.close = (code, reason) => {
      webSocket.close = close;
      setTimeout(() => close.call(webSocket, code, reason), graceMs).unref();
    };
  });
}

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
