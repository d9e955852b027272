-- Claims the job a free worker of a model should take next (sdq/scheduling.py's rules: priority,
-- then the tenant served least recently, then FIFO) and marks it running, in one step. A job
-- whose deadline passed is aborted instead, and the next one is tried; an entry whose record is
-- gone is dropped. The model's oldest queued job is taken first when it is missing from the
-- scheduling structures (queued by a version before them), so the queued set stays the truth.
-- A delivery key makes a repeat of the same delivery (a client retry after a lost reply) answer
-- with the job it claimed instead of claiming another.
-- Needs RULES, TERMINAL, PRIORITIES, DEFAULT_PRIORITY, webhooks_schedule.lua,
-- jobs_schedule.lua, jobs_apply.lua and jobs_claim_one.lua above it.
-- KEYS: running set, webhooks due, webhooks wake, webhooks keep_s, the deadlines set, the
--       model's queued set, the index of jobs with files (sdq/store/job_files.py)
-- ARGV: model id, retention_s, event data (JSON), now, job key prefix, events key suffix, job
--       webhooks key suffix, queued prefix, queued deadlines prefix, scheduling prefix, the most
--       jobs to pass over (aborted or dropped) in this call, the delivery key ('' = none), its
--       TTL in seconds, the worker id, when the claimed job's files are first looked at by the
--       sweeper (noted here, before any file is written), the adapters the worker holds
--       (comma-separated), how many of the tenant's oldest jobs it looks at for one needing the
--       fewest adapter loads (1: FIFO), how often one job may be passed over for it, then
--       field/value pairs for the job.
-- Returns {1, aborted count, HGETALL...} of the claimed job, or {0, aborted count} when none could
-- be claimed (the queue is empty, or the limit of jobs passed over was reached).
local model, sched, delivery, worker = ARGV[1], ARGV[10], ARGV[12], ARGV[14]
local FIRST_FIELD = 19
local affinity = {held = {}, window = tonumber(ARGV[17]), max_passes = tonumber(ARGV[18])}
for name in string.gmatch(ARGV[16], '[^,]+') do affinity.held[name] = true end

local function job_reply(job_key, aborted)
  local out = {1, aborted}
  for _, value in ipairs(redis.call('HGETALL', job_key)) do out[#out + 1] = value end
  return out
end

if delivery ~= '' then
  local claimed = redis.call('GET', delivery)
  if claimed then  -- this delivery ran before: its job, if this worker still runs it
    local job_key = ARGV[5] .. claimed
    local cur = redis.call('HMGET', job_key, 'status', 'worker_id')
    if cur[1] == 'running' and cur[2] == worker then return job_reply(job_key, 0) end
    return {0, 0}
  end
end

-- The oldest queued job, when the scheduling structures do not know it.
local function unscheduled_oldest()
  local oldest = redis.call('ZRANGE', KEYS[6], 0, 0)[1]
  if not oldest then return nil end
  local cur = redis.call('HMGET', ARGV[5] .. oldest, 'tenant', 'priority')
  local priority = tonumber(cur[2] or '') or DEFAULT_PRIORITY
  local jobs_key = sched_jobs_key(sched, model, priority, cur[1] or 'default')
  if redis.call('ZSCORE', jobs_key, oldest) then return nil end
  return oldest
end

local fields = {}
for i = FIRST_FIELD, #ARGV do fields[#fields + 1] = ARGV[i] end
local aborted, passed = 0, 0
local max_passed = tonumber(ARGV[11])
while passed < max_passed do
  local picked = nil
  local job_id = unscheduled_oldest()
  if not job_id then
    picked = sched_pick(sched, model, ARGV[5], affinity)
    job_id = picked and picked[1]
  end
  if not job_id then return {0, aborted} end
  local outcome, reply = claim_one(job_id, sched, model, fields)
  if outcome == 'running' then
    if picked then sched_passed_over(sched, model, picked) end
    if delivery ~= '' then redis.call('SET', delivery, job_id, 'EX', tonumber(ARGV[13])) end
    table.insert(reply, 2, aborted)
    return reply
  elseif outcome == 'aborted' then
    aborted = aborted + 1
  else
    -- Not queued after all (its record expired or was removed): drop it from the queues.
    redis.call('ZREM', KEYS[6], job_id)
    if picked then sched_remove(sched, model, picked[2], picked[3], job_id) end
  end
  passed = passed + 1
end
return {0, aborted}
