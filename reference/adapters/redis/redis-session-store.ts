// The session store in Redis (reference/ports/session-store.ts), shared by every broker instance of
// one namespace: each step is one Lua script (session-scripts.ts) that Redis runs atomically, so a
// claim made by one instance on a view another instance has since changed is refused, whichever
// instances race. Each instance holds a lease, renewed every third of its length: the sessions its
// connections hold are theirs while it lives, and are held offline from the moment its lease ran out
// (kill -9, a lost machine), within one lease length (docs/scaling.md).
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { SessionRecord } from '../../policy/session-record.ts';
import type { Clock } from '../../ports/clock.ts';
import { sessionView, type Claim, type CloseOutcome, type SessionStore, type SessionView } from '../../ports/session-store.ts';
import type { ConnectReads } from './connect-reads.ts';
import { scriptText, SESSION_SCRIPTS, type SessionScriptName } from './session-scripts.ts';

/** Default lease: the longest a dead instance's sessions stay connected to it. */
export const DEFAULT_LEASE_MS = 15_000;

type RawRecord = [string, string | null, string | null, string, string | null] | null;
/** A record as a step answers it in Buffers. */
type BinaryRecord = (Buffer | null)[] | null;

/** The record's fields as text. */
function textOf(raw: BinaryRecord): RawRecord {
  return raw ? (raw.map((field) => (field === null ? null : field.toString())) as NonNullable<RawRecord>) : null;
}

/** A hash as HGETALL answers it, field after value, as field -> value. */
function hashOf(flat: Buffer[]): Record<string, Buffer> {
  const hash: Record<string, Buffer> = {};
  for (let index = 0; index < flat.length; index += 2) hash[flat[index]!.toString()] = flat[index + 1]!;
  return hash;
}

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
  private readonly binaryCalls: Record<'sessionView' | 'sessionClaim', ScriptCall>;

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
    this.binaryCalls = { sessionView: redis.sessionViewBuffer!.bind(redis), sessionClaim: redis.sessionClaimBuffer!.bind(redis) };
  }

  private run(name: SessionScriptName, ...args: (string | number)[]): Promise<unknown> {
    return this.calls[name](this.prefix, this.clock(), ...args);
  }

  /** The step, answered with binary strings as Buffers (the session's subscriptions, in msgpack, among them). */
  private runBinary(name: 'sessionView' | 'sessionClaim', ...args: (string | number)[]): Promise<unknown> {
    return this.binaryCalls[name](this.prefix, this.clock(), ...args);
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

  async view(name: string, owner: string, cleanStart = false): Promise<SessionView> {
    const { reads } = this.options;
    // aedes' subscriptions of a session held offline for this owner are read in the view too (reads),
    // unless the CONNECT starts clean: the session is wiped before its claim, and aedes resumes nothing.
    const readKey = reads && !cleanStart ? reads.subscriptionsKey(name) : '';
    const [raw, count, gone, unwiped, read] = (await this.runBinary('sessionView', name, owner, this.instance, readKey)) as [BinaryRecord, number, BinaryRecord, number, Buffer[] | null];
    if (read) reads!.viewedHeld(name, hashOf(read));
    return sessionView(name, toRecord(name, textOf(raw)), owner, count, toRecord(name, textOf(gone)), unwiped === 1);
  }

  async claim(seen: SessionView, connectionId: number, expirySeconds: number, ownerLimit: number): Promise<Claim> {
    const { record } = seen;
    const { reads } = this.options;
    const answer = (await this.runBinary(
      'sessionClaim',
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
      // aedes' subscriptions of the session, read in the claim's step when it took a session no connection held (reads).
      reads ? reads.subscriptionsKey(seen.name) : '',
    )) as [number, BinaryRecord?, (Buffer[] | null)?];
    const [won, replaced, read] = answer;
    reads?.claimedFree(seen.name, won === 1 && read ? hashOf(read) : undefined);
    return won === 1 ? { replaced: toRecord(seen.name, textOf(replaced ?? null)) } : 'conflict';
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

  async nextExpiry(): Promise<number | undefined> {
    const at = (await this.run('sessionNextExpiry', this.instance)) as string | null;
    return at === null ? undefined : Number(at);
  }
}
