-- Stores a new API key: its record by id, and by the hash of its secret for lookups.
-- KEYS: keys hash, the by-hash key; ARGV: key id, record JSON (with the hash).
if redis.call('EXISTS', KEYS[2]) == 1 or redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[2])
return 1
