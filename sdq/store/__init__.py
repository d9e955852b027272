"""The store: every read and write of Redis as an `Op` (a command or a Lua script and the decoding
of its reply), run by a sync or an async runner. One module per record kind, each script a `.lua`
file beside the module that runs it; the key schema in `redis_keys`."""
