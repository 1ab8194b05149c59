-- Holds a place in a bounded set of live connections, cluster-wide.
-- KEYS[1]: sorted set of holders, scored by when their hold lapses (ms, Redis clock)
-- ARGV[1]: holder id, ARGV[2]: limit, ARGV[3]: how long the hold lasts unless renewed (ms)
-- Returns 1 when held (also for a holder already in), 0 when the set is full.
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local lapse = now + tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], lapse, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
