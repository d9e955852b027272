-- The one step both claim scripts (jobs_claim_next.lua, jobs_claim_compatible.lua) take for a job
-- they picked: the claim transition to running, the claim's tenant stamped as served, and the job
-- noted in the index of jobs with files (before any file is written: never orphaned).
-- Needs jobs_schedule.lua and jobs_apply.lua above it, and the claim scripts' shared KEYS (1-5,
-- 7) and ARGV (2-9, 15) layout.
-- Returns 'running' and the transition's reply ({1, HGETALL...}); 'aborted' (its deadline had
-- passed); or 'gone' (not queued after all: its record expired or was removed; the caller drops
-- it from the queues).
local function claim_one(job_id, sched, model, fields)
  local job_key = ARGV[5] .. job_id
  local args = {'claim', 'running', '', '', ARGV[2], ARGV[3], ARGV[4], ARGV[8], ARGV[9], sched}
  for _, value in ipairs(fields) do args[#args + 1] = value end
  local reply = apply_transition(
    {job_key, job_key .. ARGV[6], KEYS[1], job_key .. ARGV[7], KEYS[2], KEYS[3], KEYS[4], KEYS[5]},
    args)
  if reply[1] ~= 1 then return 'gone', reply end
  local status, tenant = nil, 'default'
  for i = 2, #reply, 2 do
    if reply[i] == 'status' then status = reply[i + 1] end
    if reply[i] == 'tenant' then tenant = reply[i + 1] end
  end
  if status ~= 'running' then return 'aborted', reply end
  sched_served(sched, model, tenant)
  redis.call('ZADD', KEYS[7], 'NX', ARGV[15], job_id)
  return 'running', reply
end
