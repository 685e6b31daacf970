// The store's Lua scripts. Each runs atomically in Redis, so concurrent replicas never interleave
// inside one decision, and each reads Redis' own clock (TIME), so replica clocks never matter.
import { createHash } from 'node:crypto'

/**
 * The bucket decision of src/limits/buckets.ts `decide`, the same arithmetic over hashes
 * {l: level, at: ms}. KEYS: the buckets. ARGV[1]: '1' to debit whatever the levels (reconciling),
 * then four per bucket: capacity, refill per ms, cost, '1' when shadow. Returns
 * {admitted, then per bucket: fits, level (a string: Redis truncates Lua numbers), wait ms}.
 * A bucket expires once it would be full again: an idle limit leaves no key behind.
 */
export const BUCKETS_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local force = ARGV[1] == '1'
local n = #KEYS
local cap, per, cost, shadow, level, fits = {}, {}, {}, {}, {}, {}
local admitted = true
for i = 1, n do
  local a = 2 + (i - 1) * 4
  cap[i] = tonumber(ARGV[a]); per[i] = tonumber(ARGV[a + 1]); cost[i] = tonumber(ARGV[a + 2]); shadow[i] = ARGV[a + 3] == '1'
  local s = redis.call('HMGET', KEYS[i], 'l', 'at')
  local l = cap[i]
  if s[1] then l = math.min(cap[i], tonumber(s[1]) + math.max(0, now - tonumber(s[2])) * per[i]) end
  level[i] = l
  fits[i] = force or l >= math.min(cost[i], cap[i])
  if not fits[i] and not shadow[i] then admitted = false end
end
local out = { admitted and 1 or 0 }
for i = 1, n do
  local l = level[i]
  local wait = 0
  if admitted and fits[i] then
    l = math.min(cap[i], l - cost[i])
    redis.call('HSET', KEYS[i], 'l', tostring(l), 'at', tostring(now))
    redis.call('PEXPIRE', KEYS[i], math.ceil((cap[i] - l) / per[i]) + 1000)
  end
  if not fits[i] then wait = math.ceil((math.min(cost[i], cap[i]) - l) / per[i]) end
  out[#out + 1] = fits[i] and 1 or 0
  out[#out + 1] = tostring(l)
  out[#out + 1] = wait
end
return out
`

/**
 * A replica's heartbeat: its id in a sorted set scored by Redis time, entries older than ARGV[2]
 * ms dropped; returns how many replicas are live. KEYS[1]: the set; ARGV[1]: this replica's id.
 */
export const HEARTBEAT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
redis.call('PEXPIRE', KEYS[1], ttl)
return redis.call('ZCARD', KEYS[1])
`

export function sha1 (script: string): string {
  return createHash('sha1').update(script).digest('hex')
}
