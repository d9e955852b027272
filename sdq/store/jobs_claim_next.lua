-- Claims the job a free worker of a model should take next (sdq/scheduling.py's rules: priority,
-- then the tenant served least recently, then FIFO) and marks it running, in one step. A job
-- whose deadline passed is aborted instead, and the next one is tried. A queued job missing
-- from the scheduling structures (queued before they existed) is taken oldest first once they
-- are empty, so the model's queued set stays the truth.
-- Needs RULES, TERMINAL, PRIORITIES, DEFAULT_PRIORITY, webhooks_schedule.lua,
-- jobs_schedule.lua and jobs_apply.lua above it.
-- KEYS: running set, webhooks due, webhooks wake, webhooks keep_s, the deadlines set, the
--       model's queued set
-- ARGV: model id, retention_s, event data (JSON), now, job key prefix, events key suffix, job
--       webhooks key suffix, queued prefix, queued deadlines prefix, scheduling prefix, the most
--       expired jobs to abort in this call, then field/value pairs for the claimed job.
-- Returns {1, aborted count, HGETALL...} of the claimed job, or {0, aborted count} when none could be claimed.
local model, sched = ARGV[1], ARGV[10]
local fields = {}
for i = 12, #ARGV do fields[#fields + 1] = ARGV[i] end
local aborted = 0
local max_aborted = tonumber(ARGV[11])
while aborted <= max_aborted do
  local picked = sched_pick(sched, model)
  local job_id = picked and picked[1]
  if not job_id then
    job_id = redis.call('ZRANGE', KEYS[6], 0, 0)[1]
    if not job_id then return {0, aborted} end
  end
  local job_key = ARGV[5] .. job_id
  local args = {'claim', 'running', '', '', ARGV[2], ARGV[3], ARGV[4], ARGV[8], ARGV[9], sched}
  for _, value in ipairs(fields) do args[#args + 1] = value end
  local reply = apply_transition(
    {job_key, job_key .. ARGV[6], KEYS[1], job_key .. ARGV[7], KEYS[2], KEYS[3], KEYS[4], KEYS[5]},
    args)
  if reply[1] == 1 then
    local status, tenant = nil, 'default'
    for i = 2, #reply, 2 do
      if reply[i] == 'status' then status = reply[i + 1] end
      if reply[i] == 'tenant' then tenant = reply[i + 1] end
    end
    if status == 'running' then
      sched_served(sched, model, tenant)
      table.insert(reply, 2, aborted)
      return reply
    end
    aborted = aborted + 1
  else
    -- Not queued after all (its record expired or was removed): drop it from the queues.
    redis.call('ZREM', KEYS[6], job_id)
    if picked then sched_remove(sched, model, picked[2], picked[3], job_id) end
  end
end
return {0, aborted}
