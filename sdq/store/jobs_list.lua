-- One page of jobs, newest first.
-- KEYS: jobs index; ARGV: max score (inclusive, '+inf' for the first page), cursor id ('' = none),
--       limit, job key prefix. Returns flat {score, n_fields, field, value, ...} per live job.
local limit = tonumber(ARGV[3])
local ids = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[1], '-inf', 'WITHSCORES', 'LIMIT', 0,
                       limit * 2 + 20)
local out = {}
local taken = 0
for i = 1, #ids, 2 do
  local id = ids[i]
  local skip = ARGV[2] ~= '' and ids[i + 1] == ARGV[1] and id >= ARGV[2]
  if not skip then
    local all = redis.call('HGETALL', ARGV[4] .. id)
    if #all > 0 then
      out[#out + 1] = ids[i + 1]
      out[#out + 1] = #all
      for j = 1, #all do out[#out + 1] = all[j] end
      taken = taken + 1
      if taken >= limit then break end
    end
  end
end
return out
