-- Forgets a deleted conversation, for the owner holding the newest fencing token. The token
-- grows once more, so that an append of that owner still in flight is refused; the rest goes,
-- and the next claim starts a new, empty conversation with a new epoch.
-- KEYS: meta, log, messages, order
-- ARGV: fence
local meta = KEYS[1]
if tonumber(ARGV[1]) ~= tonumber(redis.call('HGET', meta, 'fence') or '0') then
  return redis.error_reply('fenced')
end
redis.call('HINCRBY', meta, 'fence', 1)
redis.call('HDEL', meta, 'epoch', 'released', 'last_seq', 'user_id', 'stream_seq', 'epochs', 'audited', 'audit_exact')
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
return 1
