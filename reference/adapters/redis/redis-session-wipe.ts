// The wipe of what aedes stored of a session in Redis (aedes-persistence-redis's keys: its subscriptions,
// its queue and the messages in it, its will, the QoS 2 PUBLISHes it sent awaiting their PUBREL) as one
// script: Redis runs it whole, so no instance sees a wipe half done, and a second wipe of the same
// state, by any instance, finds nothing left to remove.
//
// aedes-persistence-redis's own steps did not add up to that across instances. Its removal of a
// session's subscriptions (HDEL, then EXISTS, then DEL of the queue list) removes the queue list only
// when it removed a subscription: a wipe at B that came after a wipe at A had removed them, but before
// A removed the queue, left the queue to B's new session (S5's new owner was sent the old session's
// message). And it clears a queued message through the packet identifier it was sent with, which only
// the process that sent it can map to the stored message: a message never sent, or sent by another
// instance, stayed in Redis (`packet:<broker>:<counter>`) for ever.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { SharedStateWipe } from '../../ports/session-store.ts';
import { incomingIdentifiersKey, MESSAGE_COUNTS, queueKey, subscriptionsKey, willKey } from './redis-persistence.ts';

/**
 * KEYS[1]: the session store's prefix. ARGV: the session name, '1' for the state of a session the
 * store removed (wiped only while the store still marks the name `w:<name>`), its queue's key, its
 * subscriptions' key, this instance's will key for it, the fan-out channel of subscription removals,
 * an id for that message, and the key of its incoming QoS 2 messages' identifiers (each such message
 * stored, until its PUBREL, at that key, ':', its identifier). Answers 1 if it wiped, 0 if the mark was
 * gone.
 *
 * A queue entry is a message's key (`packet:<broker>:<counter>`, its subscriber count beside it,
 * `…:offlineCount`) or, once a QoS 2 message's PUBREC came, the session's own copy
 * (`outgoing:<name>:<broker>:<counter>`, its PUBREL) of that message; each counts the message's subscribers down
 * once, and the message goes with its last, as aedes-persistence-redis clears it, with the packet
 * identifiers its sessions were sent it with (`…:ids`, redis-persistence.ts). The will is the one
 * this instance stored (another instance's goes when its connection closes there, or, that instance
 * dead, aedes sends it and removes it, as it does every dead broker's will). The subscriptions'
 * removal is announced on the fan-out as aedes-persistence's own announcement (msgpack, as
 * mqemitter-redis sends a message: { id, msg: { topic: '$SYS/sub/rm', payload: JSON } }), from inside
 * the script: every instance drops them from its subscription index before any later step of Redis
 * (a claim of the name, the new session's subscriptions) can be heard of.
 */
const WIPE = `${MESSAGE_COUNTS}
local mark = KEYS[1] .. 'w:' .. ARGV[1]
if ARGV[2] == '1' and redis.call('EXISTS', mark) == 0 then return 0 end
redis.call('DEL', mark)
local queue = ARGV[3]
local copy = queue .. ':'
for _, key in ipairs(redis.call('LRANGE', queue, 0, -1)) do
  local message = key
  if string.sub(key, 1, #copy) == copy then
    redis.call('DEL', key)
    message = 'packet:' .. string.sub(key, #copy + 1)
  end
  redis.call('HDEL', message .. ':ids', ARGV[1])
  count_down(message, 1)
end
redis.call('DEL', queue)
local subscriptions = ARGV[4]
local topics = redis.call('HKEYS', subscriptions)
redis.call('DEL', subscriptions)
redis.call('SREM', 'clients', ARGV[1])
redis.call('LREM', 'will', 0, ARGV[5])
redis.call('DEL', ARGV[5])
for _, id in ipairs(redis.call('SMEMBERS', ARGV[8])) do redis.call('DEL', ARGV[8] .. ':' .. id) end
redis.call('DEL', ARGV[8])
if #topics > 0 then
  local subs = {}
  for i, topic in ipairs(topics) do subs[i] = { topic = topic } end
  local payload = cjson.encode({ clientId = ARGV[1], subs = subs })
  redis.call('PUBLISH', ARGV[6], cmsgpack.pack({ id = ARGV[7], msg = { topic = '$SYS/sub/rm', payload = payload } }))
end
return 1`;

type WipeCall = (prefix: string, name: string, removed: '1' | '0', queue: string, subscriptions: string, will: string, channel: string, id: string, incoming: string) => Promise<number>;

/**
 * The wipe of a session's state, on the persistence's connection, for the namespace whose session store
 * keys start with `prefix`; `brokerId` is this instance's (its wills are keyed by it), `channelOf` names
 * a fan-out topic's channel.
 */
export function redisSessionWipe(connection: Redis, prefix: string, brokerId: string, channelOf: (topic: string) => string): SharedStateWipe {
  const command = connection as Redis & { mmcWipeSession?: WipeCall };
  if (!command.mmcWipeSession) connection.defineCommand('mmcWipeSession', { numberOfKeys: 1, lua: WIPE });
  const wipe = (command.mmcWipeSession as WipeCall).bind(connection);
  const channel = channelOf('$SYS/sub/rm');
  return async (sessionName, removed) => {
    const id = randomBytes(12).toString('hex');
    await wipe(prefix, sessionName, removed ? '1' : '0', queueKey(sessionName), subscriptionsKey(sessionName), willKey(brokerId, sessionName), channel, id, incomingIdentifiersKey(sessionName));
  };
}
