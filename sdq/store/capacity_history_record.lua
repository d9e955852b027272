-- One capacity sample of a model, at most one per interval whichever API replica offers it.
-- KEYS: the model's history stream; ARGV: the interval's start (ms), the oldest start to keep
--       (ms), seconds to keep the key, then field, value pairs.
-- Returns 1 when recorded, 0 when this interval already has its sample.
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #newest > 0 then
  local newest_ms = tonumber((string.gsub(newest[1][1], '-.*', '')))
  if newest_ms >= tonumber(ARGV[1]) then return 0 end
end
local fields = {}
for i = 4, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('XADD', KEYS[1], ARGV[1] .. '-0', unpack(fields))
redis.call('XTRIM', KEYS[1], 'MINID', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
