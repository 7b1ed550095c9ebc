// A session as the namespace knows it, and what a CONNECT decision reads of all of them. The store
// that keeps them, and changes them, is a port (reference/ports/session-store.ts).

export interface SessionRecord {
  name: string;
  /** The registered client (resource name) that owns the session. */
  owner: string;
  /** The connection that holds it now; undefined while the session is held offline. */
  connectionId?: number;
  /** The broker instance whose connection that is, when several share the namespace (undefined: this process). */
  instance?: string;
  expirySeconds: number;
  /** Clock time (ms) of the disconnect that left the session held. */
  heldSince?: number;
}

/** What a CONNECT decision reads of the namespace's sessions. */
export interface SessionLookup {
  /** The live (connected or held, unexpired) session of that name. */
  find(name: string): SessionRecord | undefined;
  /** S9: sessions of one owner that count against its limit, online and offline alike. */
  countOwnedBy(owner: string): number;
}
