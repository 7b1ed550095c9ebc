// Where connections come from: a listener accepts them on a transport (mutual TLS over TCP,
// adapters/tls-listener.ts; WebSockets over it, adapters/ws-listener.ts) and hands each one over as a stream of MQTT bytes, with
// the TLS session it came over, whose client certificate an authenticator reads.
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';

export interface Connection {
  /** The MQTT bytes, both ways. */
  stream: Duplex;
  /** The TLS session the connection came over. */
  tls: TLSSocket;
  /**
   * A transport that bounds its messages (WebSockets) refuses one over its bound before the broker
   * can read the packet in it; `answer` gives the bytes owed to the client first (L15's DISCONNECT), if any.
   */
  onMessageTooLarge?: (answer: () => Buffer | undefined) => void;
}

export interface Listener {
  /** The address it listens on. */
  host: string;
  port: number;
  /** Stops accepting new connections; those it accepted go on. */
  stopAccepting(): void;
  /** Stops accepting, ends every connection it accepted, and resolves once it is closed. */
  close(): Promise<void>;
}

/** Starts a listener that hands each new connection to `accept`; rejects when it cannot listen. */
export type StartListener = (accept: (connection: Connection) => void) => Promise<Listener>;
