-- Counts an event in a fixed window, cluster-wide.
-- KEYS[1]: the window's counter; ARGV[1]: limit, ARGV[2]: window (ms)
-- Returns 0 when counted within the limit, else the ms until the window ends.
local n = redis.call('INCR', KEYS[1])
if n == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if n > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  local left = redis.call('PTTL', KEYS[1])
  if left < 1 then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    left = tonumber(ARGV[2])
  end
  return left
end
return 0
