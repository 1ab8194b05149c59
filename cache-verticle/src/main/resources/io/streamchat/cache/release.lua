-- Marks a clean hand-off by the owner holding the newest fencing token.
-- KEYS: meta
-- ARGV: fence
if tonumber(ARGV[1]) ~= tonumber(redis.call('HGET', KEYS[1], 'fence') or '0') then
  return redis.error_reply('fenced')
end
redis.call('HSET', KEYS[1], 'released', '1')
return 1
