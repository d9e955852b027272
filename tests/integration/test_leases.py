"""Leases on a real Redis: one holder at a time, renewal keeps the token, a lapsed or released
lease goes to the next holder with a newer token, and a former holder's fenced writes are
refused."""

from __future__ import annotations

import time

import pytest
import redis

from sdq.leadership import Leadership
from sdq.store import redis_keys as keys
from sdq.store.leases import Fenced, fenced, hold_lease, release_lease
from sdq.store.ops import Op, OpRunner


def test_one_holder_then_the_next_with_a_newer_token(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    steps = [  # (holder, ttl s, token expected, holder named)
        ("a", 5, 1, "a"),
        ("b", 5, 0, "a"),  # a holds it
        ("a", 5, 1, "a"),  # a renews: same token
    ]
    for holder, ttl, token, named in steps:
        state = store.run(hold_lease("duty", holder, ttl))
        assert (state.token, state.holder) == (token, named), holder
    assert store.run(release_lease("duty", "b")) is False  # not b's to give up
    assert store.run(release_lease("duty", "a")) is True
    assert store.run(hold_lease("duty", "b", 0.2)).token == 2  # free: b, a newer token
    time.sleep(0.3)  # b stops renewing: the lease lapses
    assert store.run(hold_lease("duty", "a", 5)).token == 3
    assert store.run(hold_lease("other", "b", 5)).token == 1  # each duty its own tokens


def test_a_former_holders_writes_are_fenced_out(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    old = store.run(hold_lease("duty", "a", 0.1)).token
    time.sleep(0.2)
    new = store.run(hold_lease("duty", "b", 5)).token
    write = Op[str](keys=(), args=("SET", "sdq:test:fenced", "x"), decode=str)
    assert store.run(fenced(write, "duty", new)) == "OK"
    with pytest.raises(Fenced):
        store.run(fenced(write, "duty", old))
    with pytest.raises(ValueError):
        fenced(hold_lease("duty", "a", 1), "duty", new)  # a script cannot be fenced


def test_leadership_follows_the_lease(redis_client: redis.Redis) -> None:
    store = OpRunner(redis_client)
    first = Leadership("duty", ttl_s=5, holder="one")
    second = Leadership("duty", ttl_s=5, holder="two")
    assert first.hold(store) == 1 and second.hold(store) == 0
    first.release(store)
    assert second.hold(store) == 2 and first.hold(store) == 0
    assert redis_client.hget(keys.lease("duty"), "holder") == "two"
