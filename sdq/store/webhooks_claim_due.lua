-- Takes due deliveries and pushes them a lease into the future, so two takers never hold the
-- same one. KEYS: due set; ARGV: now, lease_s, limit. Returns the taken members.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for i = 1, #due do
  redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), due[i])
end
return due
