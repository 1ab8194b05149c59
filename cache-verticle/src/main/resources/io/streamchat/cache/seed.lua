-- Fills a session's history from the durable tier, for the owner holding the newest fencing token,
-- when Redis holds none of it (it forgot the session). Messages are given oldest first.
-- KEYS: meta, log, messages, order
-- ARGV: fence, ttl seconds, user id, then message id and message JSON pairs
local meta, messages, order = KEYS[1], KEYS[3], KEYS[4]
if tonumber(ARGV[1]) ~= tonumber(redis.call('HGET', meta, 'fence') or '0') then
  return redis.error_reply('fenced')
end
if redis.call('LLEN', order) > 0 then
  return 0
end
if ARGV[3] ~= '' then
  redis.call('HSET', meta, 'user_id', ARGV[3])
end
for i = 4, #ARGV, 2 do
  redis.call('RPUSH', order, ARGV[i])
  redis.call('HSET', messages, ARGV[i], ARGV[i + 1])
end
for _, key in ipairs(KEYS) do
  redis.call('EXPIRE', key, ARGV[2])
end
return 1
