-- Frees an idempotency key, but only while it still names the given job (so a request whose
-- submit failed never frees a key that another request has taken since).
-- KEYS: the key's record (hash). ARGV: job id. Returns 1 if the record was deleted.
if redis.call('HGET', KEYS[1], 'job_id') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
