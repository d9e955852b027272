-- Stores a new API key: its record by id, and by the hash of its secret for lookups; a name keeps
-- one role (keys of one name are one tenant), checked here so that two concurrent creations of
-- one name cannot give it two roles.
-- KEYS: keys hash, the by-hash key; ARGV: key id, record JSON (with the hash), name, role.
-- Returns 1 (stored), 0 (the id or the secret's hash is taken), -1 (the name has another role).
if redis.call('EXISTS', KEYS[2]) == 1 or redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return 0
end
for _, record in ipairs(redis.call('HVALS', KEYS[1])) do
  local key = cjson.decode(record)
  if key['name'] == ARGV[3] and key['role'] ~= ARGV[4] then return -1 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[2])
return 1
