-- Takes due deliveries and pushes them a lease into the future, so two takers never hold the
-- same one. A member that is not `job_id|delivery_id` could never be delivered: it is removed.
-- KEYS: due set; ARGV: now, lease_s, limit. Returns the taken members.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local taken = {}
for i = 1, #due do
  if string.find(due[i], '|', 1, true) then
    redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), due[i])
    taken[#taken + 1] = due[i]
  else
    redis.call('ZREM', KEYS[1], due[i])
  end
end
return taken
