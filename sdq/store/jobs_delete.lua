-- Removes every trace of a job that was never started (used when an accepted request could not
-- be enqueued). A job a worker already claimed (with another job's token) is left as it is.
-- Needs PRIORITIES, DEFAULT_PRIORITY and jobs_schedule.lua above it.
-- KEYS: job hash, events stream, jobs index, running set, the model's queued set, the tenant's
--       jobs index, the deadlines set, the model's queued deadlines set
-- ARGV: job id, model id, scheduling prefix.
-- Returns 1 when it was removed (or was not there), 0 when it has started.
local cur = redis.call('HMGET', KEYS[1], 'status', 'tenant', 'priority', 'attempt')
if cur[1] and (cur[1] ~= 'queued' or (tonumber(cur[4]) or 0) > 0) then return 0 end
if cur[1] == 'queued' then
  sched_remove(ARGV[3], ARGV[2], tonumber(cur[3] or '') or DEFAULT_PRIORITY, cur[2] or 'default',
               ARGV[1])
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('SREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('ZREM', KEYS[6], ARGV[1])
redis.call('ZREM', KEYS[7], ARGV[1])
redis.call('ZREM', KEYS[8], ARGV[1])
return 1
