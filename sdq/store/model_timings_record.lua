-- Remembers one worker's cold start, keeping the newest few.
-- KEYS: the model's cold starts list; ARGV: seconds, how many to keep.
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
return 1
