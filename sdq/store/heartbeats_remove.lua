-- Removes a worker's heartbeat on a clean shutdown. KEYS: worker key, workers index; ARGV: id.
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
