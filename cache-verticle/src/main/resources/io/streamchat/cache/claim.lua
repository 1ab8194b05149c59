-- Takes the next fencing token of a session and loads its state, atomically.
-- KEYS: meta, log, messages, order
-- ARGV: proposed epoch, ttl seconds, replay event count, max messages
-- 'epochs' names the epoch of every stored event ("firstSeq:epoch,…"); 'audited' ("seq:offset") is
-- how far the audit log is known to hold the events, exact only after a clean hand-off.
local meta, log, messages, order = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
-- Tokens only grow, even if Redis lost this session's metadata: a new one is at least the server's
-- clock in microseconds. 'claims' counts the claims, for operators and tests.
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local previous = tonumber(redis.call('HGET', meta, 'fence') or '0')
local fence = math.max(previous + 1, now)
redis.call('HSET', meta, 'fence', string.format('%.0f', fence))
redis.call('HINCRBY', meta, 'claims', 1)
local epoch = redis.call('HGET', meta, 'epoch')
local epochs = redis.call('HGET', meta, 'epochs')
if epoch and not epochs then
  epochs = '1:' .. epoch
end
local changed = 0
if not epoch then
  -- No metadata: whatever else is stored under this session is an orphan of an expired log.
  redis.call('DEL', log, messages, order)
  epoch = ARGV[1]
  changed = 1
elseif redis.call('HGET', meta, 'released') ~= '1' then
  -- The previous owner did not hand off cleanly: it may have delivered events it never stored.
  epoch = ARGV[1]
  changed = 1
end
local last = redis.call('HGET', meta, 'last_seq') or '0'
if changed == 1 then
  local first = string.format('%d', tonumber(last) + 1) .. ':' .. epoch
  epochs = (epochs and tonumber(last) > 0) and (epochs .. ',' .. first) or first
end
local audited = redis.call('HGET', meta, 'audited') or '0:-1'
local auditExact = redis.call('HGET', meta, 'audit_exact') or '0'
redis.call('HSET', meta, 'epoch', epoch, 'released', '0', 'epochs', epochs)
redis.call('HDEL', meta, 'audit_exact')
local user = redis.call('HGET', meta, 'user_id') or ''
local streamSeq = redis.call('HGET', meta, 'stream_seq')
local ids = redis.call('LRANGE', order, -tonumber(ARGV[4]), -1)
local stored = {}
if #ids > 0 then
  stored = redis.call('HMGET', messages, unpack(ids))
end
local recent = redis.call('XREVRANGE', log, '+', '-', 'COUNT', ARGV[3])
local streaming = {}
if streamSeq then
  streaming = redis.call('XRANGE', log, streamSeq .. '-0', '+')
end
for _, key in ipairs(KEYS) do
  redis.call('EXPIRE', key, ARGV[2])
end
return {string.format('%.0f', fence), epoch, changed, last, user, stored, recent, streaming, epochs, audited,
  auditExact, string.format('%.0f', previous)}
