"""Leases in Redis: one holder at a time for a periodic duty (the scaler's ticks, the recovery
pass), taken over within a lease's length when the holder dies, with fencing tokens that keep a
former holder's late writes out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sdq.store import redis_keys as keys
from sdq.store.ops import Op, lua

T = TypeVar("T")

_HOLD = lua("lease_hold.lua")
_RELEASE = lua("lease_release.lua")
_FENCED = lua("lease_fenced.lua")


@dataclass(frozen=True)
class LeaseState:
    """After a try: the caller's token (0: another holds the lease), the holder, its ms left."""

    token: int
    holder: str
    left_ms: int

    @property
    def held(self) -> bool:
        return self.token > 0


def hold_lease(name: str, holder: str, ttl_s: float) -> Op[LeaseState]:
    """Take the lease if free, renew it if `holder` has it, else say who has it."""
    return Op(
        keys=(keys.lease(name), keys.lease_tokens(name)),
        args=(holder, str(max(1, int(ttl_s * 1000)))),
        decode=lambda raw: LeaseState(int(raw[0]), str(raw[1]), int(raw[2])),
        script=_HOLD,
    )


def release_lease(name: str, holder: str) -> Op[bool]:
    return Op(
        keys=(keys.lease(name),),
        args=(holder,),
        decode=lambda raw: int(raw) == 1,
        script=_RELEASE,
    )


class Fenced(Exception):
    """A write refused: the lease has a newer holder than the caller's token says."""


def fenced(op: Op[T], name: str, token: int) -> Op[T]:
    """`op` (a plain command, not a script) run only while `token` is the lease's current one;
    otherwise the op raises `Fenced` when decoded."""
    if op.script is not None or op.keys:
        raise ValueError("only a plain command can be fenced")

    def decode(raw: Any) -> T:
        if int(raw[0]) != 1:
            raise Fenced(f"the {name} lease has a newer holder than token {token}")
        return op.decode(raw[1])

    return Op(keys=(keys.lease(name),), args=(str(token), *op.args), decode=decode, script=_FENCED)
