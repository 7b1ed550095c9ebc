// The session store in memory (reference/ports/session-store.ts): who owns each name, whether it is
// connected or held, and when a held one expires. Time comes from an injected clock, so tests need no
// sleeping. Every change is synchronous, and so atomic within the one process that holds the store.
//
// Every operation costs O(1) or O(log n) in the number of sessions: an index per owner answers the
// S9 count, and a heap of held sessions by expiry time answers the next expiry and the sweep. Expired
// sessions stay until swept (so that whoever sweeps wipes their state), but no longer count.
// The port is asynchronous (a store may be another process); here each answer is ready at once.
import type { SessionRecord } from '../policy/session-record.ts';
import type { Clock } from '../ports/clock.ts';
import { ownerLimitReached, sameRecord, sessionView, type Claim, type CloseOutcome, type SessionStore, type SessionView } from '../ports/session-store.ts';

function expiresAt(record: SessionRecord): number | undefined {
  return record.heldSince === undefined ? undefined : record.heldSince + record.expirySeconds * 1000;
}

/** A binary min-heap of held session names by expiry time, with removal by name. */
class ExpiryHeap {
  private readonly names: string[] = [];
  private readonly times: number[] = [];
  private readonly positions = new Map<string, number>();

  get size(): number {
    return this.names.length;
  }

  peek(): { name: string; at: number } | undefined {
    return this.names.length ? { name: this.names[0]!, at: this.times[0]! } : undefined;
  }

  push(name: string, at: number): void {
    this.remove(name);
    this.names.push(name);
    this.times.push(at);
    this.positions.set(name, this.names.length - 1);
    this.up(this.names.length - 1);
  }

  remove(name: string): void {
    const index = this.positions.get(name);
    if (index === undefined) return;
    this.positions.delete(name);
    const lastName = this.names.pop()!;
    const lastTime = this.times.pop()!;
    if (index === this.names.length) return;
    this.names[index] = lastName;
    this.times[index] = lastTime;
    this.positions.set(lastName, index);
    this.down(this.up(index));
  }

  /** Names due at or before `now`, visiting only those nodes (the heap order prunes the rest). */
  *due(now: number, index = 0): Generator<string> {
    if (index >= this.names.length || this.times[index]! > now) return;
    yield this.names[index]!;
    yield* this.due(now, 2 * index + 1);
    yield* this.due(now, 2 * index + 2);
  }

  private swap(a: number, b: number): void {
    [this.names[a], this.names[b]] = [this.names[b]!, this.names[a]!];
    [this.times[a], this.times[b]] = [this.times[b]!, this.times[a]!];
    this.positions.set(this.names[a]!, a);
    this.positions.set(this.names[b]!, b);
  }

  private up(index: number): number {
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (this.times[parent]! <= this.times[index]!) break;
      this.swap(parent, index);
      index = parent;
    }
    return index;
  }

  private down(index: number): void {
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < this.times.length && this.times[left]! < this.times[smallest]!) smallest = left;
      if (right < this.times.length && this.times[right]! < this.times[smallest]!) smallest = right;
      if (smallest === index) return;
      this.swap(index, smallest);
      index = smallest;
    }
  }
}

export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, SessionRecord>();
  /** Owner -> names of its sessions (expired ones included until swept). */
  private readonly byOwner = new Map<string, Set<string>>();
  private readonly held = new ExpiryHeap();

  constructor(private readonly clock: Clock = Date.now) {}

  private isExpired(record: SessionRecord, now = this.clock()): boolean {
    const at = expiresAt(record);
    return at !== undefined && now >= at;
  }

  private insert(record: SessionRecord): void {
    this.remove(record.name);
    this.sessions.set(record.name, record);
    let names = this.byOwner.get(record.owner);
    if (!names) this.byOwner.set(record.owner, (names = new Set()));
    names.add(record.name);
    const at = expiresAt(record);
    if (at !== undefined) this.held.push(record.name, at);
  }

  private remove(name: string): void {
    const record = this.sessions.get(name);
    if (!record) return;
    this.sessions.delete(name);
    this.held.remove(name);
    const names = this.byOwner.get(record.owner);
    names?.delete(name);
    if (names?.size === 0) this.byOwner.delete(record.owner);
  }

  /** How many sessions there are, expired ones not yet swept included. */
  async size(): Promise<number> {
    return this.sessions.size;
  }

  private live(name: string): SessionRecord | undefined {
    const record = this.sessions.get(name);
    return record && !this.isExpired(record) ? record : undefined;
  }

  private ownedBy(owner: string): number {
    let count = this.byOwner.get(owner)?.size ?? 0;
    if (count === 0) return 0;
    // Expired but not yet swept: only the heap's due part is visited, usually nothing.
    for (const name of this.held.due(this.clock())) if (this.sessions.get(name)?.owner === owner) count -= 1;
    return count;
  }

  /** The session of that name and how many sessions `owner` holds, read together. */
  async view(name: string, owner: string): Promise<SessionView> {
    const stored = this.sessions.get(name);
    const expired = stored && this.isExpired(stored) ? stored : undefined;
    if (expired) this.remove(name);
    // A copy: close() changes the stored record in place, and the claim compares with what was read.
    const record = expired ? undefined : stored && { ...stored };
    return sessionView(name, record, owner, this.ownedBy(owner), expired);
  }

  /** Binds a session to a connection if what `seen` read still stands. */
  async claim(seen: SessionView, connectionId: number, expirySeconds: number, ownerLimit: number): Promise<Claim> {
    const stored = this.sessions.get(seen.name);
    // A record past its expiry is not taken over unswept: the next view removes it, and its state is wiped.
    if ((stored && this.isExpired(stored)) || !sameRecord(stored, seen.record)) return 'conflict';
    if (stored?.owner !== seen.owner && ownerLimitReached(this.ownedBy(seen.owner), seen, ownerLimit)) return 'conflict';
    const replaced = stored;
    this.insert({ name: seen.name, owner: seen.owner, connectionId, expirySeconds });
    return { replaced };
  }

  /** The live (connected or held, unexpired) session of that name. */
  async find(name: string): Promise<SessionRecord | undefined> {
    return this.live(name);
  }

  /** S9: sessions of one owner that count against its limit, online and offline alike. */
  async countOwnedBy(owner: string): Promise<number> {
    return this.ownedBy(owner);
  }

  /** A connection that was granted a session never started it: put back what it replaced. */
  async abandon(name: string, connectionId: number, replaced: SessionRecord | undefined): Promise<void> {
    if (this.sessions.get(name)?.connectionId !== connectionId) return;
    if (replaced) this.insert(replaced);
    else this.remove(name);
  }

  /**
   * The connection that held a session ended, with the expiry in force at the end if it changed.
   * Returns 'held' when the session outlives it, 'ended' when it went with it (expiry 0), 'stale' when
   * another connection holds the session by now.
   */
  async close(name: string, connectionId: number, expirySeconds?: number): Promise<CloseOutcome> {
    const record = this.sessions.get(name);
    if (!record || record.connectionId !== connectionId) return 'stale';
    if (expirySeconds !== undefined) record.expirySeconds = expirySeconds;
    if (record.expirySeconds === 0) {
      this.remove(name);
      return 'ended';
    }
    record.connectionId = undefined;
    record.heldSince = this.clock();
    this.held.push(name, expiresAt(record)!);
    return 'held';
  }

  /**
   * Ends a session before its time (L8: its offline queue overflowed): its name is free, it no longer
   * counts against its owner's limit, and it leaves the expiry heap.
   */
  async end(name: string): Promise<void> {
    this.remove(name);
  }

  /** Removes every held session whose expiry has passed; returns their records, soonest first. */
  async sweep(): Promise<SessionRecord[]> {
    const now = this.clock();
    const expired: SessionRecord[] = [];
    for (let next = this.held.peek(); next && next.at <= now; next = this.held.peek()) {
      expired.push(this.sessions.get(next.name)!);
      this.remove(next.name);
    }
    return expired;
  }

  /** Clock time (ms) of the next expiry, for the timer that sweeps. */
  async nextExpiry(): Promise<number | undefined> {
    return this.held.peek()?.at;
  }
}
