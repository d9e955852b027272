-- Creates a job record with its first event, indexes it, and queues it for its model; a job with
-- a deadline is also indexed by it (for the sweep and for the scaler's count).
-- KEYS: job hash, events stream, jobs index, running set, the model's queued set, scaler wake,
--       the tenant's jobs index, the deadlines set, the model's queued deadlines set
-- ARGV: retention_s, created_us, event type, event data, model id, deadline ('' = none), then
--       field/value pairs.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local retention = tonumber(ARGV[1])
local pairs_ = {}
for i = 7, #ARGV do pairs_[#pairs_ + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(pairs_))
redis.call('EXPIRE', KEYS[1], retention)
local created_us = tonumber(ARGV[2])
local id_ = string.match(KEYS[1], '[^:]+$')
redis.call('ZADD', KEYS[3], created_us, id_)
redis.call('ZADD', KEYS[5], created_us / 1000000, id_)
if ARGV[6] ~= '' then
  redis.call('ZADD', KEYS[8], ARGV[6], id_)
  redis.call('ZADD', KEYS[9], ARGV[6], id_)
end
if redis.call('ZCARD', KEYS[5]) == 1 then
  -- The model's queue was empty: wake the scaler now rather than at its next tick.
  redis.call('LPUSH', KEYS[6], ARGV[5])
  redis.call('LTRIM', KEYS[6], 0, 99)
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. (created_us - retention * 1000000))
redis.call('ZADD', KEYS[7], created_us, id_)
redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', '(' .. (created_us - retention * 1000000))
redis.call('EXPIRE', KEYS[7], retention)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 1000, '*', 'type', ARGV[3], 'data', ARGV[4])
redis.call('EXPIRE', KEYS[2], retention)
return 1
