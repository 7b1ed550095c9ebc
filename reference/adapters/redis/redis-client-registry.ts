// The namespace's registered clients as changed while it runs (ReferenceBroker.updateClient, the
// management API: A7, P5), shared by every instance of a namespace kept in Redis. A change is stored
// in Redis by one atomic step that succeeds only on the stored version it was made from, then announced
// on the fan-out; each instance (the one it was made at included) swaps the client in and ends its own
// connections that the change ends, and answers how many; the change is answered once every instance
// whose lease is live has applied it (or after ACK_WAIT_MS, naming those that were silent). An instance
// that starts reads the changes stored before it serves anyone. Keys, under the namespace's prefix
// (one hash tag with the session store's):
//   clients        hash: client name -> JSON { base, client }: the resource as last changed, and the
//                  fingerprint of the configured resource it was changed from
//   client-stamps  hash: client name -> the stamp of its last change
//   client-stamp   counter: the last change's stamp
// A change made from another configuration of that client (the namespace file changed since) is not
// applied: the file wins.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type MQEmitterRedis from 'mqemitter-redis';
import { changedClient, type ClientChange, type ClientResource } from '../../../eventgrid/namespace.ts';
import type { Clock } from '../../ports/clock.ts';

/** How long a change waits for every live instance to say it applied it. */
export const ACK_WAIT_MS = 5000;

/** How often one change is made again on a fresh read when another instance's change to that client came first. */
const CHANGE_ATTEMPTS = 20;

/** A change's announcement and each instance's answer, on aedes' fan-out (as aedes' own "$SYS/<broker>/new/clients"). */
const changedTopic = (instance: string) => `$SYS/${instance}/clients/changed`;
const appliedTopic = (instance: string) => `$SYS/${instance}/clients/applied`;

// ARGV: now, name, the stamp the change was made from ('0': the configured client), the entry
// -> {1, stamp, live instances} or {0, stored stamp, stored entry or false}
const CHANGE_SCRIPT = `
local P = KEYS[1]
local name = ARGV[2]
local stored = redis.call('HGET', P .. 'client-stamps', name) or '0'
if stored ~= ARGV[3] then return { 0, stored, redis.call('HGET', P .. 'clients', name) } end
local stamp = redis.call('INCR', P .. 'client-stamp')
redis.call('HSET', P .. 'clients', name, ARGV[4])
redis.call('HSET', P .. 'client-stamps', name, stamp)
return { 1, stamp, redis.call('ZRANGEBYSCORE', P .. 'leases', '(' .. ARGV[1], '+inf') }`;

interface Entry {
  base: string;
  client: ClientResource;
}

interface Announcement {
  stamp: number;
  name: string;
  entry: Entry;
}

type ChangeScript = (prefix: string, now: number, name: string, from: string, entry: string) => Promise<[number, number | string, (string[] | string | null)?]>;

/** What identifies a configured client resource: a change made from another is not applied. */
function fingerprint(client: ClientResource): string {
  return createHash('sha256').update(JSON.stringify(client)).digest('hex');
}

export interface RedisClientRegistryOptions {
  redis: Redis;
  /** The namespace's key prefix (the session store's). */
  prefix: string;
  instance: string;
  mq: ReturnType<typeof MQEmitterRedis>;
  clock: Clock;
  /** The clients as the namespace file registers them. */
  configured: readonly ClientResource[];
  /** The client of that name as this instance applies it now. */
  current(name: string): ClientResource | undefined;
  /** Puts the client in force at this instance and ends the connections the change ends; answers how many. */
  apply(after: ClientResource): number;
  log: (line: string) => void;
}

export class RedisClientRegistry {
  private readonly bases: Map<string, string>;
  /** The stamp of the change in force here, by client name (none: as configured). */
  private readonly stamps = new Map<string, number>();
  /** Changes made here, by stamp, until every live instance has answered. */
  private readonly pending = new Map<number, { waiting: Set<string>; ended: number; done: () => void }>();
  private readonly changeScript: ChangeScript;

  constructor(private readonly options: RedisClientRegistryOptions) {
    this.bases = new Map(options.configured.map((client) => [client.name, fingerprint(client)]));
    const redis = options.redis as Redis & { mmcClientChange?: ChangeScript };
    if (!redis.mmcClientChange) redis.defineCommand('mmcClientChange', { numberOfKeys: 1, lua: CHANGE_SCRIPT });
    this.changeScript = redis.mmcClientChange!.bind(redis);
  }

  /** Listens to the namespace's changes, then applies those stored before: call before the broker serves anyone. */
  async start(): Promise<void> {
    const { mq } = this.options;
    await new Promise<void>((resolve) => mq.on(changedTopic('+'), this.onChanged, resolve));
    await new Promise<void>((resolve) => mq.on(appliedTopic('+'), this.onApplied, resolve));
    const [[, entries], [, stamps]] = (await this.options.redis.multi().hgetall(this.key('clients')).hgetall(this.key('client-stamps')).exec()) as [[null, Record<string, string>], [null, Record<string, string>]];
    for (const [name, entry] of Object.entries(entries)) this.received({ stamp: Number(stamps[name] ?? 0), name, entry: JSON.parse(entry) as Entry });
  }

  /**
   * Changes the client `name` at every instance of the namespace; a NamespaceConfigError says what is
   * wrong with the change. Answers the client as it now reads, and how many live connections ended.
   */
  async change(name: string, change: ClientChange): Promise<{ client: ClientResource; endedConnections: number }> {
    let from = { stamp: this.stamps.get(name) ?? 0, client: this.options.current(name)! };
    for (let attempt = 1; attempt <= CHANGE_ATTEMPTS; attempt += 1) {
      const client = changedClient(from.client, change);
      const entry: Entry = { base: this.bases.get(name)!, client };
      const [won, stamp, rest] = await this.changeScript(this.options.prefix, this.options.clock(), name, String(from.stamp), JSON.stringify(entry));
      if (won === 0) {
        // Another change to this client came first: made again on the client as that one left it.
        const stored = typeof rest === 'string' ? (JSON.parse(rest) as Entry) : undefined;
        from = { stamp: Number(stamp), client: stored && stored.base === entry.base ? stored.client : this.configured(name) };
        continue;
      }
      const endedConnections = await this.announce({ stamp: Number(stamp), name, entry }, (rest as string[] | undefined) ?? []);
      return { client, endedConnections };
    }
    throw new Error(`client "${name}" changed under ${CHANGE_ATTEMPTS} changes in a row`);
  }

  private configured(name: string): ClientResource {
    return this.options.configured.find((client) => client.name === name)!;
  }

  private key(name: string): string {
    return `${this.options.prefix}${name}`;
  }

  /** Announces a stored change and waits until each live instance has applied it: answers the connections they ended. */
  private announce(announcement: Announcement, live: string[]): Promise<number> {
    const waiting = new Set(live);
    waiting.add(this.options.instance);
    return new Promise<number>((resolve) => {
      const timer = setTimeout(() => {
        this.options.log(`client "${announcement.name}": no answer from instance(s) ${[...waiting].join(', ')} within ${ACK_WAIT_MS} ms; they apply the change when they hear of it or start`);
        finish();
      }, ACK_WAIT_MS);
      const finish = () => {
        clearTimeout(timer);
        const { ended } = this.pending.get(announcement.stamp)!;
        this.pending.delete(announcement.stamp);
        resolve(ended);
      };
      this.pending.set(announcement.stamp, { waiting, ended: 0, done: finish });
      this.options.mq.emit({ topic: changedTopic(this.options.instance), payload: JSON.stringify(announcement) }, (error?: Error) => {
        if (error) this.options.log(`client "${announcement.name}": the change could not be announced: ${error.message}`);
      });
    });
  }

  /** Applies a change newer than the one in force here; answers how many connections it ended. */
  private received({ stamp, name, entry }: Announcement): number {
    if (stamp <= (this.stamps.get(name) ?? 0)) return 0;
    const base = this.bases.get(name);
    if (base !== entry.base) {
      this.options.log(`client "${name}": a change made from another configuration of it is not applied (${base ? 'the namespace file changed it since' : 'the namespace file has no such client'})`);
      return 0;
    }
    this.stamps.set(name, stamp);
    return this.options.apply(entry.client);
  }

  private readonly onChanged = (packet: { topic: string } & Record<string, unknown>, done: () => void): void => {
    const announcement = JSON.parse(String(packet.payload)) as Announcement;
    const ended = this.received(announcement);
    this.options.mq.emit({ topic: appliedTopic(this.options.instance), payload: JSON.stringify({ stamp: announcement.stamp, ended }) });
    done();
  };

  private readonly onApplied = (packet: { topic: string } & Record<string, unknown>, done: () => void): void => {
    const { stamp, ended } = JSON.parse(String(packet.payload)) as { stamp: number; ended: number };
    const waiting = this.pending.get(stamp);
    if (waiting) {
      waiting.ended += ended;
      waiting.waiting.delete(packet.topic.split('/')[1]!);
      if (waiting.waiting.size === 0) waiting.done();
    }
    done();
  };

  /** Stops listening (the fan-out is closed with the instance). */
  stop(): void {
    this.options.mq.removeListener(changedTopic('+'), this.onChanged);
    this.options.mq.removeListener(appliedTopic('+'), this.onApplied);
    for (const { done } of this.pending.values()) done();
  }
}
