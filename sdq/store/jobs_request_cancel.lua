-- Flags a running job for cancellation (the worker reads the flag between steps). Queued jobs are
-- not touched here: the caller cancels them with the cancel_queued transition.
-- KEYS: job hash. Returns the job's status ('' when there is no such job).
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return '' end
if status == 'running' then redis.call('HSET', KEYS[1], 'cancel_requested', '1') end
return status
