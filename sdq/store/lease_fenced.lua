-- Run one command only if the lease's current token is the caller's (a holder that lost its
-- lease while paused cannot write after its successor). KEYS: the lease; ARGV: token, then the
-- command and its arguments. Returns {1, the command's reply} or {0}.
if tonumber(redis.call('HGET', KEYS[1], 'token')) ~= tonumber(ARGV[1]) then
  return {0}
end
return {1, redis.call(unpack(ARGV, 2))}
