-- What admission control needs when a model's or a key's queue limit may be reached, in one trip.
-- KEYS: the model's queued set, the tenant's jobs index, the jobs index
-- ARGV: count the tenant's queued jobs ('1'/'0'), model id, job key prefix, how many recent jobs
--       to sample for predict times
-- Returns {queued, tenant_queued, predict_time, predict_time, ...} (the model's recent succeeded
-- jobs' predict times, newest first).
local queued = redis.call('ZCARD', KEYS[1])
local tenant_queued = 0
if ARGV[1] == '1' then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    if redis.call('ZSCORE', KEYS[2], id) then tenant_queued = tenant_queued + 1 end
  end
end
local out = {queued, tenant_queued}
for _, id in ipairs(redis.call('ZREVRANGE', KEYS[3], 0, tonumber(ARGV[4]) - 1)) do
  local fields = redis.call('HMGET', ARGV[3] .. id, 'model', 'status', 'metrics')
  if fields[1] == ARGV[2] and fields[2] == 'succeeded' and fields[3] then
    local ok, metrics = pcall(cjson.decode, fields[3])
    if ok and type(metrics) == 'table' and type(metrics['predict_time']) == 'number' then
      out[#out + 1] = tostring(metrics['predict_time'])
    end
  end
end
return out
