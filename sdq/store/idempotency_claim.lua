-- Takes an idempotency key for a job about to be created, unless the key is already held.
-- KEYS: the key's record (hash). ARGV: job id, request hash, now (unix seconds), ttl_s.
-- Returns {1 if taken now else 0, job id, request hash, claimed at} of the record that holds it.
local held = redis.call('HMGET', KEYS[1], 'job_id', 'request_hash', 'at')
if held[1] then return {0, held[1], held[2] or '', held[3] or '0'} end
redis.call('HSET', KEYS[1], 'job_id', ARGV[1], 'request_hash', ARGV[2], 'at', ARGV[3])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return {1, ARGV[1], ARGV[2], ARGV[3]}
