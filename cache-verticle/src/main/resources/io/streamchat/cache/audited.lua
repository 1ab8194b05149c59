-- Writes down how far a session's events are in the audit log, for the owner holding the newest
-- fencing token. 'audit_exact' says nothing beyond that point is in the topic (a clean hand-off).
-- KEYS: meta
-- ARGV: fence, seq, offset of its record, exact ('1' or '0')
if tonumber(ARGV[1]) ~= tonumber(redis.call('HGET', KEYS[1], 'fence') or '0') then
  return redis.error_reply('fenced')
end
redis.call('HSET', KEYS[1], 'audited', ARGV[2] .. ':' .. ARGV[3])
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[1], 'audit_exact', '1')
else
  redis.call('HDEL', KEYS[1], 'audit_exact')
end
return 1
