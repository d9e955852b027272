-- Revokes an API key: removes its record, its by-hash lookup and its last-used time.
-- KEYS: keys hash, last-used hash; ARGV: key id, prefix of the by-hash keys.
-- Returns the revoked record (JSON), or false when there is no such key.
local record = redis.call('HGET', KEYS[1], ARGV[1])
if not record then return false end
local hash = cjson.decode(record)['hash']
redis.call('DEL', ARGV[2] .. hash)
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return record
