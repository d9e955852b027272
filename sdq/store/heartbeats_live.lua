-- Prunes dead entries from the workers index and returns the live heartbeats' JSON.
-- KEYS: workers index; ARGV: oldest live score, worker key prefix.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local out = {}
for i = 1, #ids do
  local doc = redis.call('GET', ARGV[2] .. ids[i])
  if doc then out[#out + 1] = doc end
end
return out
