// The namespace's sessions: who owns each session name, whether a connection holds it or it is held
// offline, and until when. The CONNECT decision reads it (SessionLookup); the broker changes it as
// connections are granted, end, or are abandoned. Each change is one atomic step, so that no two
// CONNECTs for one name can both be granted it. The in-memory store is adapters/memory-session-store.ts.
import type { SessionLookup, SessionRecord } from '../policy/session-record.ts';

/** What became of a session when the connection that held it ended. */
export type CloseOutcome = 'held' | 'ended' | 'stale';

export interface SessionStore extends SessionLookup {
  /** How many sessions there are, expired ones not yet swept included. */
  readonly size: number;
  /** Binds a session to a connection; returns the live record it replaces, if any. */
  open(name: string, owner: string, connectionId: number, expirySeconds: number): SessionRecord | undefined;
  /** A connection that was granted a session never started it: put back what it replaced. */
  abandon(name: string, connectionId: number, replaced: SessionRecord | undefined): void;
  /**
   * The connection that held a session ended, with the expiry in force at the end if it changed:
   * 'held' when the session outlives it, 'ended' when it went with it (expiry 0), 'stale' when another
   * connection holds the session by now.
   */
  close(name: string, connectionId: number, expirySeconds?: number): CloseOutcome;
  /** Ends a session before its time (L8): its name is free and it no longer counts against its owner. */
  end(name: string): void;
  /** Removes every held session whose expiry has passed; returns their records, soonest first. */
  sweep(): SessionRecord[];
  /** Clock time (ms) of the next expiry, for the timer that sweeps. */
  nextExpiry(): number | undefined;
}
