-- How many of a model's jobs are queued, and the creation time of the oldest.
-- KEYS: the model's queued set. Returns {count, oldest score or false}.
local count = redis.call('ZCARD', KEYS[1])
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #first == 0 then return {count, false} end
return {count, first[2]}
