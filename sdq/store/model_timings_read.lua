-- How long one model's work takes, from what it did recently: the predict times of its recent
-- succeeded jobs and its recent cold starts.
-- KEYS: the jobs index, the model's cold starts list
-- ARGV: model id, job key prefix, how many recent jobs (of every model) to look at
-- Returns {{cold start, ...}, {predict time, ...}}, newest first.
local predict = {}
for _, id in ipairs(redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1)) do
  local fields = redis.call('HMGET', ARGV[2] .. id, 'model', 'status', 'metrics')
  if fields[1] == ARGV[1] and fields[2] == 'succeeded' and fields[3] then
    local ok, metrics = pcall(cjson.decode, fields[3])
    if ok and type(metrics) == 'table' and type(metrics['predict_time']) == 'number' then
      predict[#predict + 1] = tostring(metrics['predict_time'])
    end
  end
end
return {redis.call('LRANGE', KEYS[2], 0, -1), predict}
