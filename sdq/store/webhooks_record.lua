-- Saves a delivery after an attempt and reschedules it, or takes it off the due set. Only a
-- pending delivery is updated; a delivery that is gone or settled just leaves the due set.
-- The hash is kept at least the retention from now, and while the delivery is pending at least
-- `keep_s` (until its last possible attempt), and so is the job its payload is made from.
-- KEYS: job webhooks hash, due set, wake list, job hash; ARGV: delivery id, member, record JSON,
--       next due ('' = done: leave the due set), retention_s, keep_s (0 when done).
local doc = redis.call('HGET', KEYS[1], ARGV[1])
local ok, old = pcall(cjson.decode, doc or 'null')
if not doc or not ok or type(old) ~= 'table' or old['state'] ~= 'pending' then
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
local keep = math.floor(tonumber(ARGV[6]))
keep_at_least(KEYS[1], math.max(tonumber(ARGV[5]), keep), true)
if ARGV[4] == '' then
  redis.call('ZREM', KEYS[2], ARGV[2])
else
  if keep > 0 then keep_at_least(KEYS[4], keep, false) end
  redis.call('ZADD', KEYS[2], tonumber(ARGV[4]), ARGV[2])
  redis.call('LPUSH', KEYS[3], '1')
  redis.call('LTRIM', KEYS[3], 0, 0)
end
return 1
