-- Appends events to a session's log, refused (-1) unless the caller holds the newest fencing token.
-- Events at or below the stored last seq are skipped, so a retried append is harmless.
-- KEYS: meta, log, messages, order
-- ARGV: fence, ttl seconds, log max length, max messages, user id, then per event:
--       seq, type, event json, message id, message json ('' when the event changes no message)
-- A chunk is the common case: it costs four calls (HMGET, XADD, HSET, TTL).
local meta, log, messages, order = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local state = redis.call('HMGET', meta, 'fence', 'last_seq', 'stream_seq')
if tonumber(ARGV[1]) ~= tonumber(state[1] or '0') then
  -- Not an error reply: one error would fail a whole pipelined batch of many sessions.
  return -1
end
if ARGV[5] ~= '' then
  redis.call('HSETNX', meta, 'user_id', ARGV[5])
end
local last = tonumber(state[2] or '0')
local streamStart = tonumber(state[3] or '0')
local ttl = tonumber(ARGV[2])
local newMessages = 0
local changedMessage = false
for i = 6, #ARGV, 5 do
  local seq = tonumber(ARGV[i])
  if seq > last then
    local kind, id, message = ARGV[i + 1], ARGV[i + 3], ARGV[i + 4]
    -- Trimming never reaches the answer in progress: a new owner must be able to load all of it.
    local keep = tonumber(ARGV[3])
    if streamStart > 0 then
      keep = math.max(keep, seq - streamStart + 1)
    end
    redis.call('XADD', log, 'MAXLEN', '~', keep, seq .. '-0', 'type', kind, 'event', ARGV[i + 2])
    if message ~= '' then
      changedMessage = true
      if redis.call('HSETNX', messages, id, message) == 1 then
        redis.call('RPUSH', order, id)
        newMessages = newMessages + 1
      else
        redis.call('HSET', messages, id, message)
      end
    end
    if kind == 'stream_start' then
      redis.call('HSET', meta, 'stream_seq', seq)
      streamStart = seq
    elseif kind == 'complete' then
      redis.call('HDEL', meta, 'stream_seq')
      streamStart = 0
    end
    last = seq
  end
end
redis.call('HSET', meta, 'last_seq', last)
if newMessages > 0 then
  local excess = redis.call('LLEN', order) - tonumber(ARGV[4])
  while excess > 0 do
    redis.call('HDEL', messages, redis.call('LPOP', order))
    excess = excess - 1
  end
end
-- The keys live ttl seconds after the last write. A write that changes a message (and creates the
-- keys) sets it; between those, an answer's chunks renew it once a minute (or half the ttl), not on
-- every append.
if changedMessage or redis.call('TTL', meta) < ttl - math.min(60, math.floor(ttl / 2)) then
  for _, key in ipairs(KEYS) do
    redis.call('EXPIRE', key, ttl)
  end
end
return last
