// The namespace's sessions: who owns each name, whether it is connected or held, and when a held one
// expires. Time comes from an injected clock, so tests need no sleeping.

export interface SessionRecord {
  name: string;
  /** The registered client (resource name) that owns the session. */
  owner: string;
  /** The connection that holds it now; undefined while the session is held offline. */
  connectionId?: number;
  expirySeconds: number;
  /** Clock time (ms) of the disconnect that left the session held. */
  heldSince?: number;
}

export type Clock = () => number;

export class SessionRegistry {
  private readonly sessions = new Map<string, SessionRecord>();

  constructor(private readonly clock: Clock = Date.now) {}

  private expiresAt(record: SessionRecord): number | undefined {
    return record.heldSince === undefined ? undefined : record.heldSince + record.expirySeconds * 1000;
  }

  private isExpired(record: SessionRecord, now = this.clock()): boolean {
    const expiresAt = this.expiresAt(record);
    return expiresAt !== undefined && now >= expiresAt;
  }

  /** The live (connected or held, unexpired) session of that name. */
  find(name: string): SessionRecord | undefined {
    const record = this.sessions.get(name);
    return record && !this.isExpired(record) ? record : undefined;
  }

  /** S9: sessions of one owner that count against its limit, online and offline alike. */
  countOwnedBy(owner: string): number {
    const now = this.clock();
    let count = 0;
    for (const record of this.sessions.values()) if (record.owner === owner && !this.isExpired(record, now)) count += 1;
    return count;
  }

  /** Binds a session to a connection; returns the live record it replaces, if any. */
  open(name: string, owner: string, connectionId: number, expirySeconds: number): SessionRecord | undefined {
    const replaced = this.find(name);
    this.sessions.set(name, { name, owner, connectionId, expirySeconds });
    return replaced;
  }

  /** A connection that was granted a session never started it: put back what it replaced. */
  abandon(name: string, connectionId: number, replaced: SessionRecord | undefined): void {
    if (this.sessions.get(name)?.connectionId !== connectionId) return;
    if (replaced) this.sessions.set(name, replaced);
    else this.sessions.delete(name);
  }

  /**
   * The connection that held a session ended, with the expiry in force at the end if it changed.
   * Returns 'held' when the session outlives it, 'ended' when it went with it (expiry 0), 'stale' when
   * another connection holds the session by now.
   */
  close(name: string, connectionId: number, expirySeconds?: number): 'held' | 'ended' | 'stale' {
    const record = this.sessions.get(name);
    if (!record || record.connectionId !== connectionId) return 'stale';
    if (expirySeconds !== undefined) record.expirySeconds = expirySeconds;
    if (record.expirySeconds === 0) {
      this.sessions.delete(name);
      return 'ended';
    }
    record.connectionId = undefined;
    record.heldSince = this.clock();
    return 'held';
  }

  /** Ends a session before its time (L8: its offline queue overflowed): its name is free. */
  end(name: string): void {
    this.sessions.delete(name);
  }

  /** Removes every held session whose expiry has passed; returns their records. */
  sweep(): SessionRecord[] {
    const now = this.clock();
    const expired = [...this.sessions.values()].filter((record) => this.isExpired(record, now));
    for (const record of expired) this.sessions.delete(record.name);
    return expired;
  }

  /** Clock time (ms) of the next expiry, for the timer that sweeps. */
  nextExpiry(): number | undefined {
    let next: number | undefined;
    for (const record of this.sessions.values()) {
      const at = this.expiresAt(record);
      if (at !== undefined && (next === undefined || at < next)) next = at;
    }
    return next;
  }
}
