"""The Lua scripts that change job records atomically in Redis (one round trip, no torn writes)."""

from __future__ import annotations

# Schedules a webhook delivery when the job has a webhook whose filter names the event.
# The delivery record lives in the job's webhooks hash; the due set is what the webhook service
# drains (LPUSH on the wake list lets it notice at once). KEYS given: job, job webhooks, due, wake.
_SCHEDULE_WEBHOOK = """
local function schedule_webhook(job_key, hooks_key, due_key, wake_key, job_id, event, delivery_id,
                                best_effort, now, retention)
  local hook = redis.call('HMGET', job_key, 'webhook', 'webhook_events_filter')
  if not hook[1] or hook[1] == '' then return 0 end
  if not string.find(',' .. (hook[2] or '') .. ',', ',' .. event .. ',', 1, true) then return 0 end
  if redis.call('HEXISTS', hooks_key, delivery_id) == 1 then return 0 end
  local doc = cjson.encode({id = delivery_id, event = event, state = 'pending',
                            best_effort = best_effort, created_at = tonumber(now)})
  redis.call('HSET', hooks_key, delivery_id, doc)
  redis.call('EXPIRE', hooks_key, retention)
  redis.call('ZADD', due_key, now, job_id .. '|' .. delivery_id)
  redis.call('LPUSH', wake_key, '1')
  redis.call('LTRIM', wake_key, 0, 0)
  return 1
end
"""

# KEYS: job hash, events stream, jobs index, running set, the model's queued set, scaler wake
# ARGV: retention_s, created_us, event_data, model id, then field/value pairs of the record.
CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local retention = tonumber(ARGV[1])
local pairs_ = {}
for i = 5, #ARGV do pairs_[#pairs_ + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(pairs_))
redis.call('EXPIRE', KEYS[1], retention)
local created_us = tonumber(ARGV[2])
redis.call('ZADD', KEYS[3], created_us, string.match(KEYS[1], '[^:]+$'))
redis.call('ZADD', KEYS[5], created_us / 1000000, string.match(KEYS[1], '[^:]+$'))
if redis.call('ZCARD', KEYS[5]) == 1 then
  -- The model's queue was empty: wake the scaler now rather than at its next tick.
  redis.call('LPUSH', KEYS[6], ARGV[4])
  redis.call('LTRIM', KEYS[6], 0, 99)
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. (created_us - retention * 1000000))
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 1000, '*', 'type', 'queued', 'data', ARGV[3])
redis.call('EXPIRE', KEYS[2], retention)
return 1
"""

# KEYS: job hash, events stream, running set, job webhooks, webhooks due, webhooks wake
# ARGV: allowed_from (comma list), new_status, fence_attempt ('' = any), fence_worker ('' = any),
#       bump_attempt ('1' / '0'), retention_s, event_type, event_data (JSON object),
#       webhook event ('' = none; 'start' goes out for the first attempt only), now, the queued
#       sets' key prefix (+ the job's model: a key derived here, single-instance Redis), then
#       field/value pairs to set. Returns {0, current_status} or {1, HGETALL...}.
TRANSITION = (
    _SCHEDULE_WEBHOOK
    + """
local cur = redis.call('HMGET', KEYS[1], 'status', 'attempt', 'worker_id')
if not cur[1] then return {0, ''} end
if not string.find(',' .. ARGV[1] .. ',', ',' .. cur[1] .. ',', 1, true) then
  return {0, cur[1]}
end
if ARGV[3] ~= '' and cur[2] ~= ARGV[3] then return {0, cur[1]} end
if ARGV[4] ~= '' and cur[3] ~= ARGV[4] then return {0, cur[1]} end
local attempt = tonumber(cur[2])
if ARGV[5] == '1' then attempt = attempt + 1 end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'attempt', attempt)
if #ARGV > 11 then
  local pairs_ = {}
  for i = 12, #ARGV do pairs_[#pairs_ + 1] = ARGV[i] end
  redis.call('HSET', KEYS[1], unpack(pairs_))
end
local id_ = string.match(KEYS[1], '[^:]+$')
if ARGV[2] == 'running' then
  redis.call('SADD', KEYS[3], id_)
else
  redis.call('SREM', KEYS[3], id_)
end
local model_ = redis.call('HGET', KEYS[1], 'model') or ''
if ARGV[2] == 'queued' then
  redis.call('ZADD', ARGV[11] .. model_, tonumber(redis.call('HGET', KEYS[1], 'created_at')), id_)
else
  redis.call('ZREM', ARGV[11] .. model_, id_)
end
local data = cjson.decode(ARGV[8])
data['attempt'] = attempt
data['status'] = ARGV[2]
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 1000, '*', 'type', ARGV[7], 'data', cjson.encode(data))
local terminal = {succeeded = true, failed = true, canceled = true, aborted = true}
if terminal[ARGV[2]] then
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[6]))
end
if ARGV[9] ~= '' and not (ARGV[9] == 'start' and attempt > 1) then
  local job_id = string.match(KEYS[1], '[^:]+$')
  schedule_webhook(KEYS[1], KEYS[4], KEYS[5], KEYS[6], job_id, ARGV[9],
                   'msg_' .. job_id .. '_' .. ARGV[9], false, ARGV[10], tonumber(ARGV[6]))
end
local out = {1}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all do out[#out + 1] = all[i] end
return out
"""
)

# KEYS: job hash; ARGV: none. Queued jobs are not touched here (the caller cancels them through
# TRANSITION); a running job gets its cancel flag, which the worker reads between steps.
REQUEST_CANCEL = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return '' end
if status == 'running' then redis.call('HSET', KEYS[1], 'cancel_requested', '1') end
return status
"""

# KEYS: jobs index; ARGV: max score (inclusive, '+inf' for the first page), cursor id ('' = none),
#       limit, job key prefix. Returns flat {id, n_fields, field, value, ...} for each live job, newest first.
LIST = """
local limit = tonumber(ARGV[3])
local ids = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[1], '-inf', 'WITHSCORES', 'LIMIT', 0,
                       limit * 2 + 20)
local out = {}
local taken = 0
for i = 1, #ids, 2 do
  local id = ids[i]
  local skip = ARGV[2] ~= '' and ids[i + 1] == ARGV[1] and id >= ARGV[2]
  if not skip then
    local all = redis.call('HGETALL', ARGV[4] .. id)
    if #all > 0 then
      out[#out + 1] = ids[i + 1]
      out[#out + 1] = #all
      for j = 1, #all do out[#out + 1] = all[j] end
      taken = taken + 1
      if taken >= limit then break end
    end
  end
end
return out
"""

# KEYS: job hash, events stream, job webhooks, webhooks due, webhooks wake
# ARGV: attempt, worker_id, event_type, event_data (JSON), logs line ('' = none), webhook event
#       ('' = none), now, minimum seconds between intermediate webhooks of one kind, retention_s.
#       Appends an intermediate event of a running attempt; the webhook for it is best-effort and
#       throttled. Returns 1 when the attempt should stop (cancel requested, or superseded), else 0.
PROGRESS = (
    _SCHEDULE_WEBHOOK
    + """
local cur = redis.call('HMGET', KEYS[1], 'status', 'attempt', 'worker_id', 'cancel_requested')
if cur[1] ~= 'running' or cur[2] ~= ARGV[1] or cur[3] ~= ARGV[2] then return 1 end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 1000, '*', 'type', ARGV[3], 'data', ARGV[4])
if ARGV[5] ~= '' then
  local logs = redis.call('HGET', KEYS[1], 'logs') or ''
  redis.call('HSET', KEYS[1], 'logs', logs .. ARGV[5] .. '\\n')
end
if ARGV[6] ~= '' then
  local last_field = 'webhook_last_' .. ARGV[6]
  local last = tonumber(redis.call('HGET', KEYS[1], last_field) or '0')
  local now = tonumber(ARGV[7])
  if now - last >= tonumber(ARGV[8]) then
    local job_id = string.match(KEYS[1], '[^:]+$')
    local seq = redis.call('HINCRBY', KEYS[1], 'webhook_seq', 1)
    local id = 'msg_' .. job_id .. '_' .. ARGV[6] .. '_' .. seq
    if schedule_webhook(KEYS[1], KEYS[3], KEYS[4], KEYS[5], job_id, ARGV[6], id, true, ARGV[7],
                        tonumber(ARGV[9])) == 1 then
      redis.call('HSET', KEYS[1], last_field, ARGV[7])
    end
  end
end
if cur[4] == '1' then return 1 end
return 0
"""
)
