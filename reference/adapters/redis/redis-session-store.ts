// The session store in Redis (reference/ports/session-store.ts), shared by every broker instance of
// one namespace: each step is one Lua script (session-scripts.ts) that Redis runs atomically, so a
// claim made by one instance on a view another instance has since changed is refused, whichever
// instances race. Each instance holds a lease, renewed every third of its length: the sessions its
// connections hold are theirs while it lives, and are held offline from the moment its lease ran out
// (kill -9, a lost machine), within one lease length (docs/scaling.md).
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { ChainableCommander, Redis } from 'ioredis';
import type { SessionRecord } from '../../policy/session-record.ts';
import type { Clock } from '../../ports/clock.ts';
import { sessionView, type Claim, type CloseOutcome, type SessionStore, type SessionView } from '../../ports/session-store.ts';
import type { ConnectReads } from './connect-reads.ts';
import { scriptText, SESSION_SCRIPTS, type SessionScriptName } from './session-scripts.ts';

/** Default lease: the longest a dead instance's sessions stay connected to it. */
export const DEFAULT_LEASE_MS = 15_000;

type RawRecord = [string, string | null, string | null, string, string | null] | null;

type ScriptCall = (prefix: string, now: number, ...args: (string | number)[]) => Promise<unknown>;

/** A fresh name for a broker instance: host, process and a random part (a restart is a new instance). */
export function newInstanceId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Every key of the namespace starts with this: one hash tag, so that a Redis Cluster keeps all of a namespace's keys in one slot. */
export const namespacePrefix = (namespace: string) => `mmc:{${namespace}}:`;

export interface RedisSessionStoreOptions {
  /** The connection (the store defines its scripts on it). */
  redis: Redis;
  /** The namespace's name: its keys are "mmc:{namespace}:...". */
  namespace: string;
  /** This instance's name among those sharing the namespace. */
  instance: string;
  clock?: Clock;
  leaseMs?: number;
  /** Told when a renewal finds the lease had run out: the sessions this instance's connections hold are no longer theirs. */
  onLeaseLost?: () => void;
  /** What aedes reads of a session as it accepts a CONNECT, read in the view's and the claim's round trips (connect-reads.ts). */
  reads?: ConnectReads;
  log?: (line: string) => void;
}

function toRecord(name: string, raw: RawRecord): SessionRecord | undefined {
  if (!raw) return undefined;
  const [owner, instance, connection, expiry, held] = raw;
  return {
    name,
    owner,
    ...(connection !== null ? { connectionId: Number(connection), instance: instance ?? undefined } : {}),
    expirySeconds: Number(expiry),
    ...(held !== null ? { heldSince: Number(held) } : {}),
  };
}

export class RedisSessionStore implements SessionStore {
  /** Every key of the namespace starts with this (one hash tag). */
  readonly prefix: string;
  private readonly clock: Clock;
  readonly instance: string;
  readonly leaseMs: number;
  private renewTimer?: NodeJS.Timeout;
  private readonly calls: Record<SessionScriptName, ScriptCall>;

  constructor(private readonly options: RedisSessionStoreOptions) {
    this.prefix = namespacePrefix(options.namespace);
    this.clock = options.clock ?? Date.now;
    this.instance = options.instance;
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    const redis = options.redis as Redis & Record<string, ScriptCall>;
    for (const name of Object.keys(SESSION_SCRIPTS) as SessionScriptName[]) {
      if (!redis[name]) redis.defineCommand(name, { numberOfKeys: 1, lua: scriptText(name) });
    }
    this.calls = Object.fromEntries(
      (Object.keys(SESSION_SCRIPTS) as SessionScriptName[]).map((name) => [name, (redis[name] as ScriptCall).bind(redis)]),
    ) as Record<SessionScriptName, ScriptCall>;
  }

  private run(name: SessionScriptName, ...args: (string | number)[]): Promise<unknown> {
    return this.calls[name](this.prefix, this.clock(), ...args);
  }

  /** Adds the step to a pipeline or transaction. */
  private queue(commands: ChainableCommander, name: SessionScriptName, ...args: (string | number)[]): void {
    (commands as unknown as Record<SessionScriptName, ScriptCall>)[name](this.prefix, this.clock(), ...args);
  }

  /** Takes this instance's lease and renews it every third of its length until `stop`. */
  async start(): Promise<void> {
    await this.renewLease();
    this.renewTimer = setInterval(() => {
      this.renewLease().then(
        (lapsed) => {
          if (lapsed) this.options.onLeaseLost?.();
        },
        (error: Error) => this.options.log?.(`the session store's lease could not be renewed: ${error.message}`),
      );
    }, Math.max(1, Math.floor(this.leaseMs / 3)));
    this.renewTimer.unref();
  }

  /** Renews the lease; true if it had run out (or was not taken yet). */
  async renewLease(): Promise<boolean> {
    return (await this.run('sessionRenew', this.instance, this.clock() + this.leaseMs)) === 1;
  }

  /** Stops renewing, and hands what this instance's connections still hold over as held sessions. */
  async stop(): Promise<void> {
    clearInterval(this.renewTimer);
    await this.run('sessionRelease', this.instance);
  }

  async view(name: string, owner: string): Promise<SessionView> {
    const { reads } = this.options;
    const args = [name, owner, this.instance];
    // aedes' read of the session goes in the view's round trip, beside its step (nothing is decided on it).
    const { answer, read } = reads ? await this.withRead(this.options.redis.pipeline(), 'sessionView', args, (pipeline) => reads.withView(pipeline, name)) : { answer: await this.run('sessionView', ...args), read: undefined };
    const [raw, count, gone, unwiped] = answer as [RawRecord, number, RawRecord, number];
    const view = sessionView(name, toRecord(name, raw), owner, count, toRecord(name, gone), unwiped === 1);
    // Held offline for this owner: what it resumes.
    if (read && view.record?.owner === owner && view.record.connectionId === undefined) reads!.viewedHeld(name, read as Record<string, Buffer>);
    return view;
  }

  /**
   * The step and a read, sent together in `commands` (a pipeline, or a transaction: nothing comes
   * between them): the step's answer, and the read's (undefined if it failed or was not made).
   */
  private async withRead(commands: ChainableCommander, name: SessionScriptName, args: (string | number)[], read: (commands: ChainableCommander) => void): Promise<{ answer: unknown; read: unknown }> {
    this.queue(commands, name, ...args);
    read(commands);
    const [[error, answer], [readError, readAnswer]] = (await commands.exec()) as [[Error | null, unknown], [Error | null, unknown]];
    // A script Redis no longer has (SCRIPT FLUSH) fails in a transaction without being run (ioredis
    // runs it again only outside one): it is run alone, which loads it, and the read is left to aedes.
    if (error && /NOSCRIPT/.test(error.message)) return { answer: await this.run(name, ...args), read: undefined };
    if (error) throw error;
    return { answer, read: readError ? undefined : readAnswer };
  }

  async claim(seen: SessionView, connectionId: number, expirySeconds: number, ownerLimit: number): Promise<Claim> {
    const { record } = seen;
    const args: (string | number)[] = [
      seen.name,
      seen.owner,
      this.instance,
      connectionId,
      expirySeconds,
      record?.owner ?? '',
      record?.instance ?? '',
      record?.connectionId ?? '',
      record?.heldSince ?? '',
      seen.ownerCount,
      Number.isFinite(ownerLimit) ? ownerLimit : Number.MAX_SAFE_INTEGER,
    ];
    const { reads } = this.options;
    // aedes' read of the session's subscriptions, in the claim's transaction, right after it: nothing comes between.
    const { answer, read } = reads ? await this.withRead(this.options.redis.multi(), 'sessionClaim', args, (transaction) => reads.withClaim(transaction, seen.name)) : { answer: await this.run('sessionClaim', ...args), read: undefined };
    const [won, replaced] = answer as [number, RawRecord?];
    const claim: Claim = won === 1 ? { replaced: toRecord(seen.name, replaced ?? null) } : 'conflict';
    // Handed to aedes only for a session no connection held: one taken over from a live connection may change until it ends.
    reads?.claimedFree(seen.name, claim !== 'conflict' && claim.replaced?.connectionId === undefined ? (read as Record<string, Buffer> | undefined) : undefined);
    return claim;
  }

  async find(name: string): Promise<SessionRecord | undefined> {
    return toRecord(name, (await this.run('sessionFind', name)) as RawRecord);
  }

  async countOwnedBy(owner: string): Promise<number> {
    return (await this.run('sessionCount', owner)) as number;
  }

  async size(): Promise<number> {
    return (await this.run('sessionSize')) as number;
  }

  async abandon(name: string, connectionId: number, replaced: SessionRecord | undefined): Promise<void> {
    this.options.reads?.forget(name);
    await this.run(
      'sessionAbandon',
      name,
      this.instance,
      connectionId,
      replaced?.owner ?? '',
      replaced?.instance ?? '',
      replaced?.connectionId ?? '',
      replaced?.expirySeconds ?? 0,
      replaced?.heldSince ?? '',
    );
  }

  async close(name: string, connectionId: number, expirySeconds?: number): Promise<CloseOutcome> {
    this.options.reads?.forget(name);
    return (await this.run('sessionClose', name, this.instance, connectionId, expirySeconds ?? '')) as CloseOutcome;
  }

  async end(name: string): Promise<void> {
    await this.run('sessionEnd', name, this.instance);
  }

  async sweep(): Promise<SessionRecord[]> {
    const removed = (await this.run('sessionSweep', this.instance)) as [string, RawRecord][];
    return removed.map(([name, raw]) => toRecord(name, raw)!);
  }

  async wiped(name: string): Promise<void> {
    await this.run('sessionWiped', name, this.instance);
  }

  async nextExpiry(): Promise<number | undefined> {
    const at = (await this.run('sessionNextExpiry', this.instance)) as string | null;
    return at === null ? undefined : Number(at);
  }
}
