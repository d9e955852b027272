-- Give a lease up at once (a clean stop), if the caller still holds it.
-- KEYS: the lease; ARGV: holder. Returns 1 if released.
if redis.call('HGET', KEYS[1], 'holder') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
