-- Index the files of a job found in storage that the index does not know and whose record is
-- gone (written before this index existed, or by a crash); due at ARGV[1].
-- KEYS: the files index, the job's record; ARGV: when due (s), the job id. Returns 1 if noted.
if redis.call('ZSCORE', KEYS[1], ARGV[2]) or redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
return 1
