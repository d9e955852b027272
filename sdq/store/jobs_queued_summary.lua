-- How many of a model's queued jobs can still run, and the creation time of the oldest of them:
-- jobs whose deadline has passed are left out (they will be aborted, never run). The cost grows
-- with the expired jobs, not with the queue.
-- KEYS: the model's queued set, the model's queued deadlines set
-- ARGV: now ('' = the server's clock). Returns {count, oldest score or false}.
local now = ARGV[1]
if now == '' then
  local time = redis.call('TIME')
  now = time[1] .. '.' .. string.format('%06d', tonumber(time[2]))
end
local count = redis.call('ZCARD', KEYS[1])
local expired = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  if redis.call('ZSCORE', KEYS[1], id) then
    expired[id] = true
    count = count - 1
  end
end
if count == 0 then return {0, false} end
local start = 0
while true do
  local batch = redis.call('ZRANGE', KEYS[1], start, start + 99, 'WITHSCORES')
  if #batch == 0 then return {count, false} end
  for i = 1, #batch, 2 do
    if not expired[batch[i]] then return {count, batch[i + 1]} end
  end
  start = start + 100
end
