-- The jobs whose files are due for removal: their record is gone. Each is leased to the caller
-- (looked at again after the lease if its files are not reported removed by then); a job whose
-- record is still readable is looked at again when the record would expire.
-- KEYS: the files index; ARGV: now (s), lease (s), most to take, job key prefix.
-- Returns the job ids to remove files of.
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local gone = {}
for _, id in ipairs(due) do
  local ttl = redis.call('PTTL', ARGV[4] .. id)
  if ttl >= 0 then
    redis.call('ZADD', KEYS[1], now + ttl / 1000 + 1, id)
  elseif ttl == -1 then  -- a record without expiry (none is written so): look again later
    redis.call('ZADD', KEYS[1], now + lease, id)
  else
    redis.call('ZADD', KEYS[1], now + lease, id)
    gone[#gone + 1] = id
  end
end
return gone
