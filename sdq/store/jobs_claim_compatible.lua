-- Claims more queued jobs of a model, up to IMAGES images in all, that may share a pipeline call
-- with a job the worker already runs (micro-batching), and marks each running, in one step. The
-- jobs are taken in the order a free worker would take them (sdq/scheduling.py: priority, then the tenant served
-- least recently, then FIFO; each claim serves its tenant, as claim_next does); an incompatible
-- job is passed over and keeps its place. An expired job met on the way is aborted, an entry
-- whose record is gone is dropped.
-- Needs RULES, TERMINAL, PRIORITIES, DEFAULT_PRIORITY, webhooks_schedule.lua,
-- jobs_schedule.lua, jobs_apply.lua and jobs_claim_one.lua above it.
-- KEYS: running set, webhooks due, webhooks wake, webhooks keep_s, the deadlines set, the
--       model's queued set, the index of jobs with files (sdq/store/job_files.py)
-- ARGV: model id, retention_s, event data (JSON), now, job key prefix, events key suffix, job
--       webhooks key suffix, queued prefix, queued deadlines prefix, scheduling prefix, IMAGES
--       (the most images, num_outputs summed, the claimed jobs may ask for; a job asking for
--       more than are left is passed over), the most inputs to read in this call, the batch key
--       (JSON object: field -> value the input must hold; the derived negative_prompt_empty:
--       whether its negative prompt is empty, and loras_empty: whether it asks for no adapter),
--       the fields' defaults (JSON object), when a
--       claimed job's files are first looked at by the sweeper (noted here, before any file is
--       written), then field/value pairs for each claimed job.
-- Returns {aborted count, {HGETALL...} of each claimed job...}.
local model, sched = ARGV[1], ARGV[10]
local images_left, budget = tonumber(ARGV[11]), tonumber(ARGV[12])
local key, defaults = cjson.decode(ARGV[13]), cjson.decode(ARGV[14])
local FIRST_FIELD = 16

local fields = {}
for i = FIRST_FIELD, #ARGV do fields[#fields + 1] = ARGV[i] end

local passed = {}  -- ids read and found incompatible: not read again
local passed_count = 0

local function blank(value)
  return value == nil or value == cjson.null or value == ''
end

-- Whether the job's input holds the batch key and asks for no more images than are left, and
-- how many it asks for (a job whose record is gone counts as a match: the claim drops it).
local function compatible(job_id)
  local raw = redis.call('HGET', ARGV[5] .. job_id, 'input')
  if not raw then return true, 0 end
  local ok, input = pcall(cjson.decode, raw)
  if not ok or type(input) ~= 'table' then return false, 0 end
  for field, value in pairs(key) do
    local own
    if field == 'negative_prompt_empty' then
      own = blank(input['negative_prompt'])
    elseif field == 'loras_empty' then
      own = blank(input['loras']) or (type(input['loras']) == 'table' and #input['loras'] == 0)
    else
      own = input[field]
      if own == nil then own = defaults[field] end
    end
    if own ~= value then return false, 0 end
  end
  local images = tonumber(input['num_outputs']) or 1
  return images <= images_left, images
end

-- The first compatible job in the scheduler's order, {job id, priority, tenant}, or nil (none,
-- or the reading budget is spent).
local function next_compatible()
  for _, priority in ipairs(PRIORITIES) do
    local tenants = redis.call('ZRANGE', sched_tenants_key(sched, model, priority), 0, budget)
    for _, tenant in ipairs(tenants) do
      local jobs_key = sched_jobs_key(sched, model, priority, tenant)
      for _, job_id in ipairs(redis.call('ZRANGE', jobs_key, 0, budget + passed_count)) do
        if not passed[job_id] then
          if budget <= 0 then return nil end
          budget = budget - 1
          local fits, images = compatible(job_id)
          if fits then return {job_id, priority, tenant, images} end
          passed[job_id] = true
          passed_count = passed_count + 1
        end
      end
    end
  end
  return nil
end

local claimed, aborted = {}, 0
while images_left > 0 do
  local picked = next_compatible()
  if not picked then break end
  local job_id = picked[1]
  local outcome, reply = claim_one(job_id, sched, model, fields)
  if outcome == 'running' then
    images_left = images_left - picked[4]
    table.remove(reply, 1)
    claimed[#claimed + 1] = reply
  elseif outcome == 'aborted' then
    aborted = aborted + 1
  else
    -- Not queued after all (its record expired or was removed): drop it from the queues.
    redis.call('ZREM', KEYS[6], job_id)
    sched_remove(sched, model, picked[2], picked[3], job_id)
    passed[job_id] = true
    passed_count = passed_count + 1
  end
end
local out = {aborted}
for _, job in ipairs(claimed) do out[#out + 1] = job end
return out
