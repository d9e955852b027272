-- Publishes a worker's heartbeat with a TTL and indexes it by time.
-- KEYS: worker key, workers index; ARGV: heartbeat JSON, TTL ms, seen_at, worker id.
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
return 1
