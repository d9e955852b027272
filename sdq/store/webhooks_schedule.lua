-- Functions shared by the job scripts and the delivery record script.

-- Keeps `key` for at least `seconds` from now: a TTL is only ever lengthened. A missing key is
-- left alone, and so is a key without a TTL unless `give_one` (a new webhooks hash).
local function keep_at_least(key, seconds, give_one)
  local ttl = redis.call('TTL', key)
  if ttl == -2 or (ttl == -1 and not give_one) then return end
  if ttl == -1 or ttl < seconds then redis.call('EXPIRE', key, seconds) end
end

-- Schedules a webhook delivery when the job has a webhook whose filter names the event. The
-- delivery record lives in the job's webhooks hash; the due set is what the webhook service drains
-- (LPUSH on the wake list lets it notice at once). The hash is kept for the retention, and a
-- guaranteed delivery's hash and job (its payload) for as long as the retry schedule may run:
-- `keep_key` holds that many seconds, published by the webhook service from its settings.
local function schedule_webhook(job_key, hooks_key, due_key, wake_key, job_id, event, delivery_id,
                                best_effort, now, retention, keep_key)
  local hook = redis.call('HMGET', job_key, 'webhook', 'webhook_events_filter')
  if not hook[1] or hook[1] == '' then return 0 end
  if not string.find(',' .. (hook[2] or '') .. ',', ',' .. event .. ',', 1, true) then return 0 end
  if redis.call('HEXISTS', hooks_key, delivery_id) == 1 then return 0 end
  local doc = cjson.encode({id = delivery_id, event = event, state = 'pending',
                            best_effort = best_effort, created_at = tonumber(now)})
  redis.call('HSET', hooks_key, delivery_id, doc)
  local keep = 0
  if not best_effort and keep_key then
    keep = math.floor(tonumber(redis.call('GET', keep_key) or '0') or 0)
  end
  keep_at_least(hooks_key, math.max(retention, keep), true)
  if keep > 0 then keep_at_least(job_key, keep, false) end
  redis.call('ZADD', due_key, now, job_id .. '|' .. delivery_id)
  redis.call('LPUSH', wake_key, '1')
  redis.call('LTRIM', wake_key, 0, 0)
  return 1
end
