-- Whether a job found in storage is unknown: neither in the files index nor recorded (its files
-- were written before this index existed, by a crash, or are not sdq's at all).
-- KEYS: the files index, the job's record; ARGV: the job id. Returns 1 if unknown.
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
return 1
