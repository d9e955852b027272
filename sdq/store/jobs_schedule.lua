-- The scheduling structures of a model's queue (shared functions; rules in sdq/scheduling.py):
-- per priority, a sorted set of the tenants with queued jobs scored by their last service; per
-- tenant and priority, a sorted set of its queued jobs by creation time; the model's claim count
-- and each tenant's last service; a capped stream noting every change (for queue positions).
-- Needs PRIORITIES (rendered above by sdq/store/jobs.py). Keys are derived from SCHED (the
-- key prefix) and the model: single-instance Redis.
local function sched_tenants_key(sched, model, priority)
  return sched .. model .. ':tenants:' .. priority
end
local function sched_jobs_key(sched, model, priority, tenant)
  return sched .. model .. ':jobs:' .. priority .. ':' .. tenant
end

-- Beyond this many tenants ahead in a priority's turn, a queue position counts each of them as
-- having jobs enough for every turn before the job's (an upper bound; the cost stays bounded).
local POSITION_TENANTS_EXACT = 100  -- a multiple of the 100 read at a time

local function sched_count_key(sched, model, priority)
  return sched .. model .. ':count:' .. priority
end

local function sched_moved(sched, model, job_id)
  redis.call('XADD', sched .. model .. ':moves', 'MAXLEN', '~', 100, '*', 'job', job_id)
end

-- A job joins the back of its tenant's queue; a tenant new to the model counts as served just
-- before the latest claim.
local function sched_add(sched, model, priority, tenant, job_id, created)
  if redis.call('ZADD', sched_jobs_key(sched, model, priority, tenant), created, job_id) == 1 then
    redis.call('INCR', sched_count_key(sched, model, priority))
  end
  local served_key = sched .. model .. ':served'
  local served = redis.call('HGET', served_key, tenant)
  if not served then
    local claims = tonumber(redis.call('GET', sched .. model .. ':claims') or '0')
    served = string.format('%.1f', claims - 0.5)
    redis.call('HSET', served_key, tenant, served)
  end
  redis.call('ZADD', sched_tenants_key(sched, model, priority), 'NX', served, tenant)
  sched_moved(sched, model, job_id)
end

local function sched_passed_key(sched, model)
  return sched .. model .. ':passed'
end

-- A job leaves the queue (claimed, canceled, aborted, failed): its tenant leaves the priority's
-- turn when it has nothing more queued there.
local function sched_remove(sched, model, priority, tenant, job_id)
  local jobs_key = sched_jobs_key(sched, model, priority, tenant)
  if redis.call('ZREM', jobs_key, job_id) == 1 then
    redis.call('HDEL', sched_passed_key(sched, model), job_id)
    redis.call('DECR', sched_count_key(sched, model, priority))
    if redis.call('ZCARD', jobs_key) == 0 then
      redis.call('ZREM', sched_tenants_key(sched, model, priority), tenant)
    end
    sched_moved(sched, model, job_id)
  end
end

-- How many of a queued job's LoRA adapters are not in `held` (a set: name -> true). A stored
-- input without the key "loras" asks for none (a quoted key cannot occur inside a JSON string), so
-- only inputs with adapters are decoded.
local function sched_loads(job_key, held)
  local input = redis.call('HGET', job_key, 'input')
  if not input or not string.find(input, '"loras"', 1, true) then return 0 end
  local ok, decoded = pcall(cjson.decode, input)
  if not ok or type(decoded) ~= 'table' or type(decoded.loras) ~= 'table' then return 0 end
  local loads, seen = 0, {}
  for _, choice in ipairs(decoded.loras) do
    local name = type(choice) == 'table' and choice.name
    if type(name) == 'string' and not held[name] and not seen[name] then
      loads, seen[name] = loads + 1, true
    end
  end
  return loads
end

-- Which of a tenant's queued jobs (job ids, oldest first) a free worker takes, as
-- sdq.scheduling.choose: the fewest adapter loads, the oldest among equals, never one behind a job
-- already passed over `max_passes` times. The jobs before it count a pass more once it is claimed
-- (sched_passed_over), not when it is only picked (it may turn out aborted or gone).
local function sched_choose(sched, model, jobs, job_prefix, affinity)
  if #jobs == 1 or affinity.max_passes <= 0 then return 1 end
  local passed_key = sched_passed_key(sched, model)
  local best, best_loads = 1, nil
  for index, job_id in ipairs(jobs) do
    local loads = sched_loads(job_prefix .. job_id, affinity.held)
    if best_loads == nil or loads < best_loads then best, best_loads = index, loads end
    if best_loads == 0 then break end  -- nothing to load: no pass count needs reading
    if tonumber(redis.call('HGET', passed_key, job_id) or '0') >= affinity.max_passes then break end
  end
  return best
end

-- A picked job was claimed: the older jobs of its tenant taken over count one pass more.
local function sched_passed_over(sched, model, picked)
  for _, job_id in ipairs(picked[4] or {}) do
    redis.call('HINCRBY', sched_passed_key(sched, model), job_id, 1)
  end
end

-- The job a free worker takes next: {job id, priority, tenant, the older jobs of the tenant it
-- passes over}, or nil when none is queued.
-- `affinity` is the worker's adapter preference, {held = set, window = n, max_passes = n} (window
-- 1: plain FIFO); `job_prefix` the job key prefix its inputs are read under.
local function sched_pick(sched, model, job_prefix, affinity)
  local window = math.max(1, affinity.window)
  for _, priority in ipairs(PRIORITIES) do
    local tenants_key = sched_tenants_key(sched, model, priority)
    while true do
      local tenant = redis.call('ZRANGE', tenants_key, 0, 0)[1]
      if not tenant then break end
      local jobs = redis.call('ZRANGE', sched_jobs_key(sched, model, priority, tenant), 0, window - 1)
      if #jobs > 0 then
        local index = 1
        if window > 1 then index = sched_choose(sched, model, jobs, job_prefix, affinity) end
        local passed_over = {}
        for older = 1, index - 1 do passed_over[older] = jobs[older] end
        return {jobs[index], priority, tenant, passed_over}
      end
      redis.call('ZREM', tenants_key, tenant)  -- an empty turn left behind: drop it
    end
  end
  return nil
end

-- A claim served the tenant: it becomes the most recently served at every priority.
local function sched_served(sched, model, tenant)
  local claims = redis.call('INCR', sched .. model .. ':claims')
  redis.call('HSET', sched .. model .. ':served', tenant, claims)
  for _, priority in ipairs(PRIORITIES) do
    redis.call('ZADD', sched_tenants_key(sched, model, priority), 'XX', claims, tenant)
  end
end

-- How many queued jobs would be taken before this one (see sdq.scheduling.queue_position): the
-- more urgent jobs (counted per priority), the tenant's own older jobs, and the other tenants'
-- jobs in the turns before its own. A tenant's first job is O(log n); a later one reads each
-- tenant waiting at its priority (at most POSITION_TENANTS_EXACT of them exactly).
local function sched_position(sched, model, priority, tenant, job_id)
  local own = redis.call('ZRANK', sched_jobs_key(sched, model, priority, tenant), job_id)
  if not own then return nil end
  local ahead = own
  for _, p in ipairs(PRIORITIES) do
    if p >= priority then break end
    ahead = ahead + math.max(0, tonumber(redis.call('GET', sched_count_key(sched, model, p)) or '0'))
  end
  local tenants_key = sched_tenants_key(sched, model, priority)
  local rank = redis.call('ZRANK', tenants_key, tenant) or 0
  if own == 0 then return ahead + rank end  -- one turn of each tenant before it
  local index = 0
  while true do
    local batch = redis.call('ZRANGE', tenants_key, index, index + 99)
    if #batch == 0 then break end
    for _, other in ipairs(batch) do
      if other ~= tenant then
        local turns = own
        if index < rank then turns = own + 1 end
        local waiting = redis.call('ZCARD', sched_jobs_key(sched, model, priority, other))
        ahead = ahead + math.min(waiting, turns)
      end
      index = index + 1
    end
    if index >= POSITION_TENANTS_EXACT then
      -- The rest without reading them: each takes its turns.
      local rest = redis.call('ZCARD', tenants_key) - index
      local before = math.max(0, math.min(rest, rank - index))
      return ahead + before * (own + 1) + (rest - before - (rank >= index and 1 or 0)) * own
    end
  end
  return ahead
end

-- How many jobs a tenant has queued for the model, at every priority.
local function sched_tenant_queued(sched, model, tenant)
  local count = 0
  for _, priority in ipairs(PRIORITIES) do
    count = count + redis.call('ZCARD', sched_jobs_key(sched, model, priority, tenant))
  end
  return count
end
