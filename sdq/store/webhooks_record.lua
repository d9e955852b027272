-- Saves a delivery after an attempt and reschedules it, or takes it off the due set. Only a
-- pending delivery is updated.
-- KEYS: job webhooks hash, due set, wake list; ARGV: delivery id, member, record JSON,
--       next due ('' = done: leave the due set).
local doc = redis.call('HGET', KEYS[1], ARGV[1])
if not doc then
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 0
end
if cjson.decode(doc)['state'] ~= 'pending' then
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if ARGV[4] == '' then
  redis.call('ZREM', KEYS[2], ARGV[2])
else
  redis.call('ZADD', KEYS[2], tonumber(ARGV[4]), ARGV[2])
  redis.call('LPUSH', KEYS[3], '1')
  redis.call('LTRIM', KEYS[3], 0, 0)
end
return 1
