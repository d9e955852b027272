-- Creates a job record with its first event, indexes it, and queues it for its model (in the
-- scheduling structures too, and its Celery token on the model's queue, when one is given: the
-- job and its token are written together or not at all); a job with a deadline is also indexed by it (for the sweep and for
-- the scaler's count). Admission is checked in the same step: nothing is written when the model's
-- queue or the tenant's share of it is full.
-- Needs PRIORITIES, DEFAULT_PRIORITY and jobs_schedule.lua above it.
-- KEYS: job hash, events stream, jobs index, running set, the model's queued set, scaler wake,
--       the tenant's jobs index, the deadlines set, the model's queued deadlines set, the
--       model's Celery queue (a list)
-- ARGV: retention_s, created_us, event type, event data, model id, deadline ('' = none),
--       scheduling prefix, tenant, priority, the model's max_queued ('' = none), the tenant's
--       max_queued ('' = none), the Celery message to push ('' = none), the record's field/value
--       pairs as one JSON array of strings (one argument packs faster than fifty).
-- Returns {outcome, queued, tenant queued, position}: outcome 1 created, 0 the id exists, 2 the
-- model's queue is full, 3 the tenant's share is full (the counts are the model's and the
-- tenant's queued jobs before this one; the tenant's only when it has a limit); position is the
-- new job's place in the queue (sdq.scheduling.queue_position), -1 when it was not created.
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, 0, 0, -1} end
local sched, model, tenant, priority = ARGV[7], ARGV[5], ARGV[8], tonumber(ARGV[9])
local queued = redis.call('ZCARD', KEYS[5])
local tenant_queued = 0
if ARGV[10] ~= '' and queued >= tonumber(ARGV[10]) then return {2, queued, 0, -1} end
if ARGV[11] ~= '' then
  tenant_queued = sched_tenant_queued(sched, model, tenant)
  if tenant_queued >= tonumber(ARGV[11]) then return {3, queued, tenant_queued, -1} end
end
local retention = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], unpack(cjson.decode(ARGV[13])))
redis.call('EXPIRE', KEYS[1], retention)
local created_us = tonumber(ARGV[2])
local id_ = string.match(KEYS[1], '[^:]+$')
redis.call('ZADD', KEYS[3], created_us, id_)
redis.call('ZADD', KEYS[5], created_us / 1000000, id_)
sched_add(sched, model, priority, tenant, id_, redis.call('HGET', KEYS[1], 'created_at'))
if ARGV[6] ~= '' then
  redis.call('ZADD', KEYS[8], ARGV[6], id_)
  redis.call('ZADD', KEYS[9], ARGV[6], id_)
end
if queued == 0 then
  -- The model's queue was empty: wake the scaler now rather than at its next tick.
  redis.call('LPUSH', KEYS[6], model)
  redis.call('LTRIM', KEYS[6], 0, 99)
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. (created_us - retention * 1000000))
redis.call('ZADD', KEYS[7], created_us, id_)
redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', '(' .. (created_us - retention * 1000000))
redis.call('EXPIRE', KEYS[7], retention)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 1000, '*', 'type', ARGV[3], 'data', ARGV[4])
redis.call('EXPIRE', KEYS[2], retention)
if ARGV[12] ~= '' then redis.call('LPUSH', KEYS[10], ARGV[12]) end
local position = sched_position(sched, model, priority, tenant, id_) or queued
return {1, queued, tenant_queued, position}
