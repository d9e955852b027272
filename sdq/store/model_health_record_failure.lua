-- Counts one more failed load of a model in a row: its cause and error, the time of this failure,
-- and `since` kept from the first failure of the row.
-- KEYS: the model's health hash. ARGV: cause, error (one line), now.
-- Returns HGETALL of the record after the change.
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSETNX', KEYS[1], 'since', ARGV[3])
redis.call('HSET', KEYS[1], 'status', 'unavailable', 'cause', ARGV[1], 'error', ARGV[2],
           'failed_at', ARGV[3])
return redis.call('HGETALL', KEYS[1])
