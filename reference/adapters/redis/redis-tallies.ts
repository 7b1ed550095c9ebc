// The namespace's queue counts (L8) and shared subscription groups (M3) in Redis, beside the session
// store's keys (same prefix, so one Redis Cluster slot):
//   q:<name>    hash: b (bytes queued for the held session since it was last counted from 0), over (its overflow was claimed)
//   g:<shared>  set: the member session names of the shared subscription `$share/<group>/<filter>`
import type { Redis } from 'ioredis';
import type { QueueUse } from '../../policy/behaviour.ts';
import type { GroupDirectory, GroupMember, QueueCounts } from '../../ports/namespace-tallies.ts';

/** A group's members, sorted, with the instance whose connection holds each one's session (false: none). */
const CONNECTED_MEMBERS = `
local names = redis.call('SMEMBERS', KEYS[1] .. 'g:' .. ARGV[1])
table.sort(names)
local out = {}
for _, name in ipairs(names) do
  local inst = redis.call('HGET', KEYS[1] .. 's:' .. name, 'inst')
  if inst and redis.call('HEXISTS', KEYS[1] .. 's:' .. name, 'conn') == 1 then
    out[#out + 1] = name
    out[#out + 1] = inst
  end
end
return out`;

/**
 * Counts a message queued for a held session: not while a connection holds it (the store's record
 * says so at once, where another instance's announcement of the connection's end may come later), nor
 * once it is gone. The messages are the session's queue in aedes-persistence-redis (`outgoing:<name>`,
 * in the same database: what its connection had not acknowledged counts too, so a message published
 * while the store still saw the connection is not missed); the bytes are those counted while held.
 * Answers {messages, bytes}, or false.
 */
const COUNT_QUEUED = `
local record = KEYS[1] .. 's:' .. ARGV[1]
if redis.call('EXISTS', record) == 0 or redis.call('HEXISTS', record, 'conn') == 1 then return false end
local bytes = redis.call('HINCRBY', KEYS[1] .. 'q:' .. ARGV[1], 'b', ARGV[2])
return { redis.call('LLEN', 'outgoing:' .. ARGV[1]), bytes }`;

type MembersCall = (prefix: string, group: string) => Promise<string[]>;
type CountCall = (prefix: string, name: string, bytes: number) => Promise<[number, number] | null>;

export class RedisTallies implements QueueCounts, GroupDirectory {
  private readonly connectedMembersCall: MembersCall;
  private readonly countCall: CountCall;

  constructor(
    private readonly redis: Redis,
    /** The session store's key prefix: the scripts read its session records. */
    private readonly prefix: string,
    private readonly instance: string,
  ) {
    const commands = redis as Redis & { mmcGroupMembers?: MembersCall; mmcCountQueued?: CountCall };
    if (!commands.mmcGroupMembers) redis.defineCommand('mmcGroupMembers', { numberOfKeys: 1, lua: CONNECTED_MEMBERS });
    if (!commands.mmcCountQueued) redis.defineCommand('mmcCountQueued', { numberOfKeys: 1, lua: COUNT_QUEUED });
    this.connectedMembersCall = (commands.mmcGroupMembers as MembersCall).bind(redis);
    this.countCall = (commands.mmcCountQueued as CountCall).bind(redis);
  }

  async add(sessionName: string, bytes: number): Promise<QueueUse | undefined> {
    const counted = await this.countCall(this.prefix, sessionName, bytes);
    return counted ? { messages: Number(counted[0]), bytes: Number(counted[1]) } : undefined;
  }

  async claimOverflow(sessionName: string): Promise<boolean> {
    return (await this.redis.hsetnx(`${this.prefix}q:${sessionName}`, 'over', 1)) === 1;
  }

  async reset(sessionName: string): Promise<void> {
    await this.redis.del(`${this.prefix}q:${sessionName}`);
  }

  async join(group: string, sessionName: string): Promise<void> {
    await this.redis.sadd(`${this.prefix}g:${group}`, sessionName);
  }

  async leave(group: string, sessionName: string): Promise<void> {
    await this.redis.srem(`${this.prefix}g:${group}`, sessionName);
  }

  async connectedMembers(group: string): Promise<GroupMember[]> {
    const flat = await this.connectedMembersCall(this.prefix, group);
    const members: GroupMember[] = [];
    for (let index = 0; index < flat.length; index += 2) members.push({ name: flat[index]!, local: flat[index + 1] === this.instance });
    return members;
  }
}
