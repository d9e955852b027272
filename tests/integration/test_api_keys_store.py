"""API keys on a real Redis: stored by the hash of their secret only, found, listed, revoked."""

from __future__ import annotations

import time

import redis

from sdq.api_keys import ApiKey, Role, new_key_id, new_secret, secret_hash
from sdq.store.api_keys import Created, create_key, find_key, list_keys, revoke_key, touch_keys
from sdq.store.ops import OpRunner


def make_key(store: OpRunner, name: str, role: Role = Role.CLIENT) -> tuple[ApiKey, str]:
    secret = new_secret()
    key = ApiKey(id=new_key_id(), name=name, role=role, created_at=time.time())
    assert store.run(create_key(key, secret_hash(secret))) is Created.STORED
    return key, secret


def test_a_key_is_found_by_its_secret_and_never_stored_in_clear(
    redis_client: redis.Redis,
) -> None:
    store = OpRunner(redis_client)
    key, secret = make_key(store, "alice")
    assert store.run(find_key(secret_hash(secret))) == key
    assert store.run(find_key(secret_hash(secret + "x"))) is None
    dump = b"".join(
        redis_client.dump(name) or b"" for name in redis_client.scan_iter("sdq:apikey*")
    )
    assert secret.encode() not in dump
    assert secret.removeprefix("sdq_").encode() not in dump


def test_the_same_id_or_secret_is_never_stored_twice(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    key, secret = make_key(store, "carol")
    twin = key.model_copy(update={"name": "mallory"})
    assert store.run(create_key(twin, secret_hash(new_secret()))) is Created.TAKEN
    other = ApiKey(id=new_key_id(), name="mallory", role=Role.ADMIN, created_at=time.time())
    assert store.run(create_key(other, secret_hash(secret))) is Created.TAKEN
    assert store.run(find_key(secret_hash(secret))) == key


def test_revoking_removes_the_lookup_and_the_listing(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    key, secret = make_key(store, "dave")
    kept, _ = make_key(store, "erin", Role.ADMIN)
    revoked = store.run(revoke_key(key.id))
    assert revoked is not None and revoked.id == key.id
    assert store.run(find_key(secret_hash(secret))) is None
    listed = {k.id for k in store.run(list_keys())}
    assert key.id not in listed and kept.id in listed
    assert store.run(revoke_key(key.id)) is None, "a second revocation finds nothing"


def test_last_used_times_are_listed_and_not_kept_for_revoked_keys(
    redis_client: redis.Redis,
) -> None:
    store = OpRunner(redis_client)
    used, _ = make_key(store, "frank")
    gone, _ = make_key(store, "grace")
    store.run(revoke_key(gone.id))
    assert store.run(touch_keys({used.id: 1234.5, gone.id: 99.0})) == 1
    listed = {k.id: k for k in store.run(list_keys())}
    assert listed[used.id].last_used_at == 1234.5
    assert gone.id not in listed
    assert redis_client.hget("sdq:apikeys:last-used", gone.id) is None


def test_a_name_keeps_one_role(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    make_key(store, "heidi", Role.ADMIN)
    other = ApiKey(id=new_key_id(), name="heidi", role=Role.CLIENT, created_at=time.time())
    assert store.run(create_key(other, secret_hash(new_secret()))) is Created.OTHER_ROLE
    assert store.run(find_key(secret_hash(new_secret()))) is None
    make_key(store, "heidi", Role.ADMIN)  # a second key of the same role: a rotation
