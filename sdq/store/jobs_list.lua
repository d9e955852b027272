-- One page of jobs, newest first, optionally only those in one status and of one model.
-- KEYS: jobs index; ARGV: max score (inclusive, '+inf' for the first page), cursor id ('' = none),
--       limit, job key prefix, status ('' = any), most ids to look at in this call,
--       model ('' = any).
-- Returns {next cursor ('' = no more), then score, n_fields, field, value, ... per job}. With a
-- filter, a page may end before `limit` jobs when the budget is spent: the cursor says where.
local limit = tonumber(ARGV[3])
local status = ARGV[5]
local model = ARGV[7] or ''
local budget = tonumber(ARGV[6])
local max_score, after = ARGV[1], ARGV[2]
local batch = limit * 2 + 20
local out = {''}
local taken, looked = 0, 0
while true do
  local ids = redis.call('ZREVRANGEBYSCORE', KEYS[1], max_score, '-inf', 'WITHSCORES', 'LIMIT',
                         0, batch)
  local last_score, last_id = nil, nil
  for i = 1, #ids, 2 do
    local id, score = ids[i], ids[i + 1]
    local skip = after ~= '' and score == max_score and id >= after
    if not skip then
      last_score, last_id = score, id
      looked = looked + 1
      local key = ARGV[4] .. id
      local wanted = true
      if status ~= '' or model ~= '' then
        local seen = redis.call('HMGET', key, 'status', 'model')
        wanted = (status == '' or seen[1] == status) and (model == '' or seen[2] == model)
      end
      if wanted then
        local all = redis.call('HGETALL', key)
        if #all > 0 then
          out[#out + 1] = score
          out[#out + 1] = #all
          for j = 1, #all do out[#out + 1] = all[j] end
          taken = taken + 1
          if taken >= limit then
            out[1] = score .. ':' .. id
            return out
          end
        end
      end
      if looked >= budget then
        out[1] = score .. ':' .. id
        return out
      end
    end
  end
  if #ids < batch * 2 then return out end  -- the index has no more
  if last_score == nil then
    -- A whole batch shared the cursor's score and was seen: go on below that score.
    max_score, after = '(' .. max_score, ''
  else
    max_score, after = last_score, last_id
  end
end
