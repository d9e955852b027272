-- A queued job's place in its model's queue: how many jobs would be taken before it
-- (sdq.scheduling.queue_position), and how many are queued for the model in all.
-- Needs PRIORITIES, DEFAULT_PRIORITY and jobs_schedule.lua above it.
-- KEYS: the job hash; ARGV: queued prefix, scheduling prefix.
-- Returns {position, queued}, or {-1, 0} when the job is not queued.
local cur = redis.call('HMGET', KEYS[1], 'status', 'model', 'tenant', 'priority')
if cur[1] ~= 'queued' then return {-1, 0} end
local id_ = string.match(KEYS[1], '[^:]+$')
local queued_key = ARGV[1] .. cur[2]
local priority = tonumber(cur[4] or '') or DEFAULT_PRIORITY
local position = sched_position(ARGV[2], cur[2], priority, cur[3] or 'default', id_)
if not position then
  -- Queued before the scheduling structures existed: those are taken oldest first, last.
  position = redis.call('ZRANK', queued_key, id_) or 0
end
return {position, redis.call('ZCARD', queued_key)}
