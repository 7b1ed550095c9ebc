// The namespace's sessions: who owns each session name, whether a connection holds it or it is held
// offline, and until when. The CONNECT decision reads a view of it (SessionView); the broker changes
// it as connections are granted, end, or are abandoned. Each change is one atomic step, and a claim
// holds only if what the decision read still stands, so that no two CONNECTs for one name, in one
// process or in several sharing the store, can both be granted it. Every operation is asynchronous:
// a store may be another process. The in-memory store is adapters/memory-session-store.ts, the shared
// one adapters/redis/redis-session-store.ts.
import type { SessionLookup, SessionRecord } from '../policy/session-record.ts';

/** What became of a session when the connection that held it ended. */
export type CloseOutcome = 'held' | 'ended' | 'stale';

/** What one CONNECT decision reads, taken at one moment: the session of that name and its owner's count. */
export interface SessionView extends SessionLookup {
  readonly name: string;
  /** The live session of the name, if any. */
  readonly record: SessionRecord | undefined;
  /** The identity asked about, and its sessions that count against its limit (S9). */
  readonly owner: string;
  readonly ownerCount: number;
  /** A held session of that name past its expiry, removed by this view: its state goes before the name is used. */
  readonly expired?: SessionRecord;
  /**
   * The last session of that name was removed (expired, ended) and its stored state is not wiped yet
   * (SharedStateWipe): it is wiped before the name is used, or a new session would resume it.
   */
  readonly unwiped?: boolean;
}

/** A claim's answer: the live record it replaced, or `conflict` when the view it was made on no longer stands. */
export type Claim = { replaced: SessionRecord | undefined } | 'conflict';

export interface SessionStore {
  /**
   * The session of that name and how many sessions `owner` holds, read together. A held session of that
   * name past its expiry is removed here and returned as `expired`. `cleanStart`: the CONNECT discards a
   * session it finds, so a store reads nothing ahead for resuming it.
   */
  view(name: string, owner: string, cleanStart?: boolean): Promise<SessionView>;
  /**
   * Binds a session to a connection, if the session is as `seen` read it and, for a session new to
   * its owner, the owner's sessions did not reach `ownerLimit` since (S9): one atomic step. (Sessions
   * the owner began since, below the limit, do not make the claim conflict: one identity's CONNECTs
   * for different names do not hold each other up.)
   */
  claim(seen: SessionView, connectionId: number, expirySeconds: number, ownerLimit: number): Promise<Claim>;
  /** The live (connected or held, unexpired) session of that name. */
  find(name: string): Promise<SessionRecord | undefined>;
  /** S9: sessions of one owner that count against its limit, online and offline alike. */
  countOwnedBy(owner: string): Promise<number>;
  /** How many sessions there are, expired ones not yet swept included. */
  size(): Promise<number>;
  /** A connection that was granted a session never started it: put back what it replaced. */
  abandon(name: string, connectionId: number, replaced: SessionRecord | undefined): Promise<void>;
  /**
   * The connection that held a session ended, with the expiry in force at the end if it changed:
   * 'held' when the session outlives it, 'ended' when it went with it (expiry 0), 'stale' when another
   * connection holds the session by now.
   */
  close(name: string, connectionId: number, expirySeconds?: number): Promise<CloseOutcome>;
  /** Ends a session before its time (L8): its name is free and it no longer counts against its owner. */
  end(name: string): Promise<void>;
  /** Removes every held session whose expiry has passed; returns their records, soonest first. */
  sweep(): Promise<SessionRecord[]>;
  /** Clock time (ms) of the next expiry, for the timer that sweeps. */
  nextExpiry(): Promise<number | undefined>;
}

/**
 * Where instances share what the broker stores of a session beside its record (its subscriptions,
 * queued messages, will): its removal, in one step, whatever of it was removed already, by whichever
 * instance. `removed`: the store removed the name's last session, and its views say `unwiped` until
 * this is done; the state is removed only while they still do (else a claim of the name since has put
 * a new session's state there), and then they no longer do. Otherwise: a claim replaces the session.
 */
export type SharedStateWipe = (sessionName: string, removed: boolean) => Promise<void>;

/** A view as SessionLookup answers it: only the name and the owner it was taken for are known. */
export function sessionView(name: string, record: SessionRecord | undefined, owner: string, ownerCount: number, expired?: SessionRecord, unwiped = false): SessionView {
  return {
    name,
    record,
    owner,
    ownerCount,
    ...(expired ? { expired } : {}),
    ...(unwiped ? { unwiped } : {}),
    find: (asked) => (asked === name ? record : undefined),
    countOwnedBy: (asked) => (asked === owner ? ownerCount : 0),
  };
}

/** A new session's claim conflicts when its owner's sessions grew since the view and reached the limit. */
export function ownerLimitReached(countNow: number, seen: SessionView, ownerLimit: number): boolean {
  return countNow > seen.ownerCount && countNow >= ownerLimit;
}

/** Whether a record is still the one a view read: same owner, same connection, held since the same time. */
export function sameRecord(a: SessionRecord | undefined, b: SessionRecord | undefined): boolean {
  if (!a || !b) return a === b;
  return a.owner === b.owner && a.connectionId === b.connectionId && a.instance === b.instance && a.heldSince === b.heldSince;
}
