-- When the earliest delivery is due. KEYS: due set. Returns its score, or false.
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #first == 0 then return false end
return first[2]
