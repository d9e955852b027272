-- apply_transition: one transition of the table in sdq.job (rendered above as RULES, TERMINAL
-- and DEFAULT_PRIORITY): checks the source state and, for fenced rules, the attempt and worker;
-- writes the status, the fields, the event and the webhook the rule names. Nothing is written on refusal
-- (but a deadline sweep's refusal drops the job from the deadlines set: it is not queued).
-- A rule with `on_deadline` gives way to that rule once the job's deadline has passed (a claim of
-- an expired job aborts it: the caller's fields are not written); `after_deadline` rules apply
-- only past the deadline and write the reason and completed_at themselves.
-- KEYS: job hash, events stream, running set, job webhooks, webhooks due, webhooks wake,
--       webhooks keep_s, the deadlines set
-- ARGV: transition name, target status, fence attempt, fence worker, retention_s, event data
--       (JSON object), now, the queued sets' key prefix, the queued deadlines sets' key prefix,
--       the scheduling keys' prefix (+ the job's model: keys derived here, single-instance Redis),
--       then field/value pairs.
-- Needs jobs_schedule.lua and webhooks_schedule.lua above it.
-- Returns {0, current_status} when refused, else {1, HGETALL...} of the job after the change.
local FIRST_FIELD = 11

-- A duration the way Go (and Cancel-After) writes it: 500ms, 30s, 1m30s, 1h30m.
local function duration(seconds)
  local ms = math.floor(seconds * 1000 + 0.5)
  if ms < 1000 then return ms .. 'ms' end
  local h, m = math.floor(ms / 3600000), math.floor(ms % 3600000 / 60000)
  local s = (ms % 60000) / 1000
  local out = ''
  if h > 0 then out = out .. h .. 'h' end
  if m > 0 then out = out .. m .. 'm' end
  if s > 0 then out = out .. string.format('%g', s) .. 's' end
  return out
end

local function apply_transition(KEYS, ARGV)
  local rule = RULES[ARGV[1]]
  local target = ARGV[2]
  if not rule or not rule.targets[target] then
    return redis.error_reply('transition ' .. ARGV[1] .. ' cannot lead to ' .. target)
  end
  local id_ = string.match(KEYS[1], '[^:]+$')
  local cur = redis.call('HMGET', KEYS[1], 'status', 'attempt', 'worker_id', 'deadline_at',
                         'created_at', 'model', 'tenant', 'priority')
  if not cur[1] or not rule.sources[cur[1]] then
    if rule.after_deadline and cur[1] ~= 'queued' then redis.call('ZREM', KEYS[8], id_) end
    return {0, cur[1] or ''}
  end
  if rule.fenced and (cur[2] ~= ARGV[3] or cur[3] ~= ARGV[4]) then return {0, cur[1]} end
  local now = tonumber(ARGV[7])
  local deadline = tonumber(cur[4] or '')
  local expired = deadline ~= nil and deadline <= now
  local data = cjson.decode(ARGV[6])
  local first_field = FIRST_FIELD
  if expired and rule.on_deadline ~= '' then
    rule = RULES[rule.on_deadline]
    target = next(rule.targets)
    data = {}
    first_field = #ARGV + 1
  end
  if rule.after_deadline and not expired then return {0, cur[1]} end
  local attempt = tonumber(cur[2]) or 0
  if rule.bumps_attempt then attempt = attempt + 1 end
  redis.call('HSET', KEYS[1], 'status', target, 'attempt', attempt)
  if #ARGV >= first_field then
    local pairs_ = {}
    for i = first_field, #ARGV do pairs_[#pairs_ + 1] = ARGV[i] end
    redis.call('HSET', KEYS[1], unpack(pairs_))
  end
  if rule.after_deadline then
    local when = '(' .. duration(deadline - (tonumber(cur[5]) or deadline)) .. ' after submission)'
    local reason = 'deadline passed before it started ' .. when
    if attempt > 0 then reason = 'deadline passed before it could run again ' .. when end
    local logs = redis.call('HGET', KEYS[1], 'logs') or ''
    redis.call('HSET', KEYS[1], 'error', reason, 'completed_at', ARGV[7],
               'logs', logs .. reason .. '\n')
    data['reason'] = reason
  end
  if target == 'running' then
    redis.call('SADD', KEYS[3], id_)
  else
    redis.call('SREM', KEYS[3], id_)
  end
  local model_ = cur[6] or ''
  local tenant_, priority_ = cur[7] or 'default', tonumber(cur[8] or '') or DEFAULT_PRIORITY
  if target == 'queued' then
    local created = redis.call('HGET', KEYS[1], 'created_at')
    redis.call('ZADD', ARGV[8] .. model_, tonumber(created), id_)
    sched_add(ARGV[10], model_, priority_, tenant_, id_, created)
    if deadline then
      redis.call('ZADD', KEYS[8], cur[4], id_)
      redis.call('ZADD', ARGV[9] .. model_, cur[4], id_)
    end
  else
    redis.call('ZREM', ARGV[8] .. model_, id_)
    redis.call('ZREM', KEYS[8], id_)
    redis.call('ZREM', ARGV[9] .. model_, id_)
    if cur[1] == 'queued' then sched_remove(ARGV[10], model_, priority_, tenant_, id_) end
  end
  data['attempt'] = attempt
  data['status'] = target
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', 1000, '*', 'type', rule.event, 'data', cjson.encode(data))
  if TERMINAL[target] then
    redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
    redis.call('EXPIRE', KEYS[2], tonumber(ARGV[5]))
  end
  if rule.webhook ~= '' and not (rule.webhook == 'start' and attempt > 1) then
    schedule_webhook(KEYS[1], KEYS[4], KEYS[5], KEYS[6], id_, rule.webhook,
                     'msg_' .. id_ .. '_' .. rule.webhook, false, ARGV[7], tonumber(ARGV[5]),
                     KEYS[7])
  end
  local out = {1}
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all do out[#out + 1] = all[i] end
  return out
end
