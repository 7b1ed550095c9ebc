// The session store's steps as Lua scripts that Redis runs atomically: each reads and changes the
// namespace's sessions in one step, so that no other instance's step comes between (docs/scaling.md).
//
// Keys, under the prefix KEYS[1] (one hash tag, "{namespace}", so that a Redis Cluster keeps a
// namespace in one slot, as the scripts need):
//   s:<name>    hash: owner, exp (seconds), and either inst + conn (the instance and its connection
//               that hold it) or held (clock ms since it is held offline)
//   o:<owner>   set of the owner's session names (S9)
//   names       set of every session name (size)
//   held        sorted set: held session name -> clock ms of its expiry
//   leases      sorted set: instance -> clock ms its lease runs to (renewed while it lives)
//   i:<inst>    set of the names the instance's connections hold
//   w:<name>    string: the instance that removed the name's last session (expired, ended); until
//               its aedes state is wiped (redis-session-wipe.ts, which removes the mark), a view says
//               so and the CONNECT wipes it first
// ARGV[1] is always the clock (ms). A record goes back as {owner, inst, conn, exp, held}, with false
// (nil) for what it lacks.

const PRELUDE = `
local P = KEYS[1]
local now = tonumber(ARGV[1])

local function record(name)
  local h = redis.call('HGETALL', P .. 's:' .. name)
  if #h == 0 then return nil end
  local r = { name = name }
  for i = 1, #h, 2 do r[h[i]] = h[i + 1] end
  return r
end

local function reply(r)
  if not r then return false end
  return { r.owner, r.inst or false, r.conn or false, r.exp, r.held or false }
end

local function expired(r)
  return r.held ~= nil and tonumber(r.held) + tonumber(r.exp) * 1000 <= now
end

local function remove(name)
  local r = record(name)
  if not r then return nil end
  redis.call('DEL', P .. 's:' .. name)
  redis.call('SREM', P .. 'o:' .. r.owner, name)
  redis.call('SREM', P .. 'names', name)
  redis.call('ZREM', P .. 'held', name)
  if r.inst then redis.call('SREM', P .. 'i:' .. r.inst, name) end
  return r
end

-- The name's last session is gone from the store, its aedes state not yet: inst wipes it (or another instance, or a claim's own wipe).
local function bury(name, inst)
  redis.call('SET', P .. 'w:' .. name, inst)
end

local function hold(name, since, exp)
  redis.call('HSET', P .. 's:' .. name, 'held', since)
  redis.call('ZADD', P .. 'held', since + exp * 1000, name)
end

-- owner, inst, conn, exp, held: inst and conn for a connected session, held for a held one
local function insert(name, owner, inst, conn, exp, held)
  remove(name)
  local key = P .. 's:' .. name
  redis.call('DEL', P .. 'w:' .. name)
  redis.call('HSET', key, 'owner', owner, 'exp', exp)
  if inst then
    redis.call('HSET', key, 'inst', inst, 'conn', conn)
    redis.call('SADD', P .. 'i:' .. inst, name)
  else
    hold(name, tonumber(held), tonumber(exp))
  end
  redis.call('SADD', P .. 'o:' .. owner, name)
  redis.call('SADD', P .. 'names', name)
end

-- The sessions of instances whose lease ran out are held from the moment it did (expiry 0: due then).
local function lapse()
  local dead = redis.call('ZRANGEBYSCORE', P .. 'leases', '-inf', '(' .. now, 'WITHSCORES')
  for i = 1, #dead, 2 do
    local inst, deadline = dead[i], tonumber(dead[i + 1])
    for _, name in ipairs(redis.call('SMEMBERS', P .. 'i:' .. inst)) do
      local r = record(name)
      if r and r.inst == inst then
        redis.call('HDEL', P .. 's:' .. name, 'inst', 'conn')
        hold(name, deadline, tonumber(r.exp))
      end
    end
    redis.call('DEL', P .. 'i:' .. inst)
    redis.call('ZREM', P .. 'leases', inst)
  end
end

local function live(name)
  local r = record(name)
  if r and expired(r) then return nil end
  return r
end

local function owned_by(owner)
  local count = redis.call('SCARD', P .. 'o:' .. owner)
  if count == 0 then return 0 end
  for _, name in ipairs(redis.call('ZRANGEBYSCORE', P .. 'held', '-inf', now)) do
    if redis.call('HGET', P .. 's:' .. name, 'owner') == owner then count = count - 1 end
  end
  return count
end

-- The hash at key as a flat list (aedes' subscriptions of the session, redis/connect-reads.ts), false for no key ('').
local function also_read(key)
  if not key or key == '' then return false end
  return redis.call('HGETALL', key)
end

local function same(r, owner, inst, conn, held)
  if not r then return owner == '' end
  return r.owner == owner and (r.inst or '') == inst and (r.conn or '') == conn and (r.held or '') == held
end
`;

/** Each step: its Lua body after the prelude, and the arguments after the clock. */
export const SESSION_SCRIPTS = {
  // ARGV: now, name, owner, inst, key of aedes' subscriptions of the session ('' or none: not read) ->
  // {record or false, owner's count, expired record removed or false, 1 if the state of the name's
  // last session is not wiped yet, the subscriptions of a session held offline for owner or false}
  sessionView: `
lapse()
local name, owner = ARGV[2], ARGV[3]
local r = record(name)
local gone = false
if r and expired(r) then gone = reply(remove(name)); bury(name, ARGV[4]); r = nil end
local unwiped = not gone and redis.call('EXISTS', P .. 'w:' .. name) or 0
local read = false
if r and not r.inst and r.owner == owner then read = also_read(ARGV[5]) end
return { reply(r), owned_by(owner), gone, unwiped, read }`,

  // ARGV: now, name, owner, inst, conn, exp, seen owner ('' for none), seen inst, seen conn, seen held,
  // seen count, owner limit, key of aedes' subscriptions of the session ('' or none: not read) ->
  // {1, replaced record or false, the subscriptions if no connection held the session, or false} or
  // {0} on conflict
  sessionClaim: `
lapse()
local name, owner, inst, conn, exp = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local r = record(name)
if r and expired(r) then return { 0 } end
if not same(r, ARGV[7], ARGV[8], ARGV[9], ARGV[10]) then return { 0 } end
-- A session new to its owner: its sessions may have grown since the view, not to the limit.
if not r or r.owner ~= owner then
  local count = owned_by(owner)
  if count > tonumber(ARGV[11]) and count >= tonumber(ARGV[12]) then return { 0 } end
end
local replaced = reply(r)
local read = false
if not (r and r.inst) then read = also_read(ARGV[13]) end
insert(name, owner, inst, conn, exp, nil)
return { 1, replaced, read }`,

  // ARGV: now, name -> record or false
  sessionFind: `
lapse()
return reply(live(ARGV[2]))`,

  // ARGV: now, owner -> count
  sessionCount: `
lapse()
return owned_by(ARGV[2])`,

  // ARGV: now, name, inst, conn, then the record put back: owner ('' for none), inst, conn, exp, held
  sessionAbandon: `
local name = ARGV[2]
local r = record(name)
if not r or r.inst ~= ARGV[3] or r.conn ~= ARGV[4] then return 0 end
if ARGV[5] == '' then remove(name); return 1 end
local inst = ARGV[6] ~= '' and ARGV[6] or nil
insert(name, ARGV[5], inst, ARGV[7], ARGV[8], ARGV[9])
return 1`,

  // ARGV: now, name, inst, conn, exp at the end ('' if unchanged) -> 'held' | 'ended' | 'stale'
  sessionClose: `
lapse()
local name = ARGV[2]
local r = record(name)
if not r or r.inst ~= ARGV[3] or r.conn ~= ARGV[4] then return 'stale' end
local exp = ARGV[5] ~= '' and tonumber(ARGV[5]) or tonumber(r.exp)
if exp == 0 then remove(name); bury(name, ARGV[3]); return 'ended' end
redis.call('HSET', P .. 's:' .. name, 'exp', exp)
redis.call('HDEL', P .. 's:' .. name, 'inst', 'conn')
redis.call('SREM', P .. 'i:' .. r.inst, name)
hold(name, now, exp)
return 'held'`,

  // ARGV: now, name, inst
  sessionEnd: `
if remove(ARGV[2]) then bury(ARGV[2], ARGV[3]) end
return 1`,

  // ARGV: now, inst -> records removed, soonest first
  sessionSweep: `
lapse()
local out = {}
for _, name in ipairs(redis.call('ZRANGEBYSCORE', P .. 'held', '-inf', now)) do
  local r = remove(name)
  if r then
    bury(name, ARGV[2])
    table.insert(out, { name, reply(r) })
  end
end
return out`,

  // ARGV: now, inst -> the next clock ms at which a sweep has work: an expiry, or another instance's lease end
  sessionNextExpiry: `
lapse()
local times = {}
local first = redis.call('ZRANGE', P .. 'held', 0, 0, 'WITHSCORES')
if #first > 0 then table.insert(times, tonumber(first[2])) end
-- The two soonest leases: at least one is another instance's, if there is another.
local leases = redis.call('ZRANGE', P .. 'leases', 0, 1, 'WITHSCORES')
for i = 1, #leases, 2 do
  if leases[i] ~= ARGV[2] then table.insert(times, tonumber(leases[i + 1])) end
end
if #times == 0 then return false end
local at = times[1]
for _, t in ipairs(times) do if t < at then at = t end end
return tostring(at)`,

  // ARGV: now, inst, lease end -> 1 if the lease had lapsed (or is new), 0 if renewed in time
  sessionRenew: `
lapse()
local fresh = redis.call('ZADD', P .. 'leases', ARGV[3], ARGV[2])
return fresh`,

  // ARGV: now, inst: the instance stops; what its connections still hold is held from now on
  sessionRelease: `
redis.call('ZADD', P .. 'leases', now - 1, ARGV[2])
lapse()
return 1`,

  // ARGV: now -> how many sessions there are
  sessionSize: `
return redis.call('SCARD', P .. 'names')`,
} as const;

export type SessionScriptName = keyof typeof SESSION_SCRIPTS;

/** The whole Lua text of a step. */
export const scriptText = (name: SessionScriptName): string => PRELUDE + SESSION_SCRIPTS[name];
