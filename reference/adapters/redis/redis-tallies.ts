// The namespace's queue counts (L8) and shared subscription groups (M3) in Redis, beside the session
// store's keys (same prefix, so one Redis Cluster slot):
//   q:<name>    hash: over (the held session's queue overflow was claimed)
//   h:<group>/<message>  a held member's copy of the group's message was queued (kept 60 s)
//   g:<shared>  set: the member session names of the shared subscription `$share/<group>/<filter>`
import type { Redis } from 'ioredis';
import type { QueueUse } from '../../policy/behaviour.ts';
import type { GroupDirectory, GroupMember, QueueCounts } from '../../ports/namespace-tallies.ts';
import { queueKey } from './redis-persistence.ts';

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
 * The queue of a held session as aedes-persistence-redis holds it (ARGV[2]: `outgoing:<name
 * URI-encoded>`, in the same database, each entry a msgpack packet): its messages and their payload
 * bytes. What its last connection left unacknowledged counts too, so a message published while the store still saw that connection is
 * not missed. Nothing while a connection holds the session (the store's record says so at once, where
 * another instance's announcement of the connection's end may come later), nor once it is gone.
 * Answers {messages, bytes}, or false. The queue is read whole: it is ended past 100 messages or 1 MB.
 */
const COUNT_QUEUED = `
-- The payload's size in a packet as msgpack-lite writes it (Redis's cmsgpack reads no bin type): the
-- key "payload" (fixstr 7), then a bin 8/16/32 or a str.
local function payloadBytes(raw)
  local at = string.find(raw, '\\167payload', 1, true)
  if not at then return 0 end
  local kind = string.byte(raw, at + 8)
  local a, b, c, d = string.byte(raw, at + 9, at + 12)
  if kind == 0xc4 or kind == 0xd9 then return a end
  if kind == 0xc5 or kind == 0xda then return a * 256 + b end
  if kind == 0xc6 or kind == 0xdb then return ((a * 256 + b) * 256 + c) * 256 + d end
  if kind >= 0xa0 and kind <= 0xbf then return kind - 0xa0 end
  return 0
end

local record = KEYS[1] .. 's:' .. ARGV[1]
if redis.call('EXISTS', record) == 0 or redis.call('HEXISTS', record, 'conn') == 1 then return false end
local keys = redis.call('LRANGE', ARGV[2], 0, -1)
local bytes = 0
for _, key in ipairs(keys) do
  local raw = redis.call('GET', key)
  if raw then bytes = bytes + payloadBytes(raw) end
end
return { #keys, bytes }`;

/** One message of the group, given to a held member by one instance only (the first to claim it). */
const CLAIM_MESSAGE = `return redis.call('SET', KEYS[1] .. 'h:' .. ARGV[1], '1', 'NX', 'EX', 60) and 1 or 0`;

type MembersCall = (prefix: string, group: string) => Promise<string[]>;
type CountCall = (prefix: string, name: string, queue: string) => Promise<[number, number] | null>;
type ClaimCall = (prefix: string, id: string) => Promise<number>;

export class RedisTallies implements QueueCounts, GroupDirectory {
  private readonly connectedMembersCall: MembersCall;
  private readonly countCall: CountCall;
  private readonly claimCall: ClaimCall;

  constructor(
    private readonly redis: Redis,
    /** The session store's key prefix: the scripts read its session records. */
    private readonly prefix: string,
    private readonly instance: string,
    /** The connection the queues are written on: a count sent on it reads what was queued before. */
    queue: Redis,
  ) {
    const commands = redis as Redis & { mmcGroupMembers?: MembersCall; mmcClaimMessage?: ClaimCall };
    if (!commands.mmcClaimMessage) redis.defineCommand('mmcClaimMessage', { numberOfKeys: 1, lua: CLAIM_MESSAGE });
    if (!commands.mmcGroupMembers) redis.defineCommand('mmcGroupMembers', { numberOfKeys: 1, lua: CONNECTED_MEMBERS });
    const queueCommands = queue as Redis & { mmcCountQueued?: CountCall };
    if (!queueCommands.mmcCountQueued) queue.defineCommand('mmcCountQueued', { numberOfKeys: 1, lua: COUNT_QUEUED });
    this.connectedMembersCall = (commands.mmcGroupMembers as MembersCall).bind(redis);
    this.countCall = (queueCommands.mmcCountQueued as CountCall).bind(queue);
    this.claimCall = (commands.mmcClaimMessage as ClaimCall).bind(redis);
  }

  async add(sessionName: string): Promise<QueueUse | undefined> {
    const counted = await this.countCall(this.prefix, sessionName, queueKey(sessionName));
    return counted ? { messages: Number(counted[0]), bytes: Number(counted[1]) } : undefined;
  }

  async claimOverflow(sessionName: string): Promise<boolean> {
    return (await this.redis.hsetnx(`${this.prefix}q:${sessionName}`, 'over', 1)) === 1;
  }

  async reset(sessionName: string): Promise<void> {
    await this.redis.del(`${this.prefix}q:${sessionName}`);
  }

  async claimMessage(group: string, messageId: string): Promise<boolean> {
    return (await this.claimCall(this.prefix, `${group}/${messageId}`)) === 1;
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
