-- A function shared by the job scripts: schedules a webhook delivery when the job has a webhook
-- whose filter names the event. The delivery record lives in the job's webhooks hash; the due set
-- is what the webhook service drains (LPUSH on the wake list lets it notice at once).
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
