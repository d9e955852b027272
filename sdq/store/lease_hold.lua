-- Take or keep a lease. KEYS: the lease, its token counter; ARGV: holder, ttl (ms).
-- Returns {token, holder, ms left}: token > 0 when the caller holds it (a new holder gets the
-- next token, a renewal keeps its own), 0 when another holder does (named, with its time left).
local holder = redis.call('HGET', KEYS[1], 'holder')
if holder == false then
  local token = redis.call('INCR', KEYS[2])
  redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'token', token)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {token, ARGV[1], tonumber(ARGV[2])}
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {tonumber(redis.call('HGET', KEYS[1], 'token')), holder, tonumber(ARGV[2])}
end
return {0, holder, redis.call('PTTL', KEYS[1])}
