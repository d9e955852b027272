-- Applies one transition of the table in sdq.job (rendered above this script as RULES and
-- TERMINAL): checks the source state and, for fenced rules, the attempt and worker; writes the
-- status, the fields, the event and the webhook the rule names. Nothing is written on refusal.
-- KEYS: job hash, events stream, running set, job webhooks, webhooks due, webhooks wake,
--       webhooks keep_s
-- ARGV: transition name, target status, fence attempt, fence worker, retention_s, event data
--       (JSON object), now, the queued sets' key prefix (+ the job's model: a key derived here,
--       single-instance Redis), then field/value pairs to set.
-- Returns {0, current_status} when refused, else {1, HGETALL...} of the job after the change.
local rule = RULES[ARGV[1]]
local target = ARGV[2]
if not rule or not rule.targets[target] then
  return redis.error_reply('transition ' .. ARGV[1] .. ' cannot lead to ' .. target)
end
local cur = redis.call('HMGET', KEYS[1], 'status', 'attempt', 'worker_id')
if not cur[1] then return {0, ''} end
if not rule.sources[cur[1]] then return {0, cur[1]} end
if rule.fenced and (cur[2] ~= ARGV[3] or cur[3] ~= ARGV[4]) then return {0, cur[1]} end
local attempt = tonumber(cur[2])
if rule.bumps_attempt then attempt = attempt + 1 end
redis.call('HSET', KEYS[1], 'status', target, 'attempt', attempt)
if #ARGV > 8 then
  local pairs_ = {}
  for i = 9, #ARGV do pairs_[#pairs_ + 1] = ARGV[i] end
  redis.call('HSET', KEYS[1], unpack(pairs_))
end
local id_ = string.match(KEYS[1], '[^:]+$')
if target == 'running' then
  redis.call('SADD', KEYS[3], id_)
else
  redis.call('SREM', KEYS[3], id_)
end
local model_ = redis.call('HGET', KEYS[1], 'model') or ''
if target == 'queued' then
  redis.call('ZADD', ARGV[8] .. model_, tonumber(redis.call('HGET', KEYS[1], 'created_at')), id_)
else
  redis.call('ZREM', ARGV[8] .. model_, id_)
end
local data = cjson.decode(ARGV[6])
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
