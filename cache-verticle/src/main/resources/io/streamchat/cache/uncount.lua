-- Gives back an event counted by count.lua in the window still running; after the window, nothing.
-- KEYS[1]: the window's counter
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then
  redis.call('DECR', KEYS[1])
end
return 0
