-- Extends the lease of a place still held; a place given up (or lapsed) is not taken again.
-- KEYS[1]: sorted set of holders, scored by when their hold lapses (ms, Redis clock)
-- ARGV[1]: holder id, ARGV[2]: how long the hold lasts from now (ms)
-- Returns 1 when renewed, 0 when the place is not held.
local t = redis.call('TIME')
local lapse = t[1] * 1000 + math.floor(t[2] / 1000) + tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], 'XX', lapse, ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
