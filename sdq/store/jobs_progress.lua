-- Appends an intermediate event of a running attempt; its webhook is best-effort and throttled.
-- KEYS: job hash, events stream, job webhooks, webhooks due, webhooks wake
-- ARGV: attempt, worker_id, event type, event data (JSON), logs line ('' = none), webhook event
--       ('' = none), now, minimum seconds between intermediate webhooks of one kind, retention_s.
-- Returns 1 when the attempt should stop (cancel requested, or superseded), else 0.
local cur = redis.call('HMGET', KEYS[1], 'status', 'attempt', 'worker_id', 'cancel_requested')
if cur[1] ~= 'running' or cur[2] ~= ARGV[1] or cur[3] ~= ARGV[2] then return 1 end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 1000, '*', 'type', ARGV[3], 'data', ARGV[4])
if ARGV[5] ~= '' then
  local logs = redis.call('HGET', KEYS[1], 'logs') or ''
  redis.call('HSET', KEYS[1], 'logs', logs .. ARGV[5] .. '\n')
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
