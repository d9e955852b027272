"""Ops (one Redis round trip and how to read its reply) and the sync and async runners of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any, Generic, TypeVar

import redis
import redis.asyncio as aioredis

T = TypeVar("T")


@dataclass(frozen=True)
class Op(Generic[T]):
    """One round trip to Redis: a Lua script (or a plain command) and how to read its reply."""

    keys: tuple[str, ...]
    args: tuple[str, ...]
    decode: Callable[[Any], T]
    script: str | None = None


def lua(*names: str) -> str:
    """The source of a script from the `.lua` files beside the store's modules, joined in order
    (a shared function file first, then the script that calls it)."""
    folder = resources.files(__package__)
    return "\n".join(folder.joinpath(name).read_text(encoding="utf-8") for name in names)


class OpRunner:
    """Runs ops on a synchronous Redis client (workers, the scaler, the webhook sender)."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._scripts: dict[str, Any] = {}

    def run(self, op: Op[T]) -> T:
        if op.script is None:
            return op.decode(self.redis.execute_command(*op.args))  # type: ignore[no-untyped-call]
        script = self._scripts.get(op.script)
        if script is None:
            script = self._scripts[op.script] = self.redis.register_script(op.script)
        return op.decode(script(keys=list(op.keys), args=list(op.args)))


class AsyncOpRunner:
    """Runs ops on an asyncio Redis client (the API)."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.redis = client
        self._scripts: dict[str, Any] = {}

    async def run(self, op: Op[T]) -> T:
        if op.script is None:
            return op.decode(await self.redis.execute_command(*op.args))  # type: ignore[no-untyped-call]
        script = self._scripts.get(op.script)
        if script is None:
            script = self._scripts[op.script] = self.redis.register_script(op.script)
        return op.decode(await script(keys=list(op.keys), args=list(op.args)))
