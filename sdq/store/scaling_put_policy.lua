-- Replaces a model's scaling policy and records the change with the policy it replaced.
-- KEYS: policy, changes stream; ARGV: new policy JSON, change record JSON (without "before"),
--       the policy in effect when none is stored ('' = none).
local before = redis.call('GET', KEYS[1]) or ARGV[3]
redis.call('SET', KEYS[1], ARGV[1])
local change = cjson.decode(ARGV[2])
change['before'] = before
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 10000, '*', 'change', cjson.encode(change))
return before
