-- Takes a delivery off the due set when nothing is left to deliver: its record is gone (the job's
-- webhooks hash expired, or the entry was removed), or, when asked, it cannot be read.
-- KEYS: job webhooks hash, due set; ARGV: delivery id, member, '1' = drop even if it exists.
-- Returns 1 when the member was removed.
if ARGV[3] == '1' or redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  return redis.call('ZREM', KEYS[2], ARGV[2])
end
return 0
