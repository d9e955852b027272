"""Ops (one Redis round trip and how to read its reply) and the sync and async runners of them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


@dataclass(frozen=True)
class Replicated(Generic[T]):
    """An op's reply and how many replicas acknowledged its writes (Redis WAIT's answer)."""

    value: T
    replicas: int


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
        return op.decode(self._script(op.script)(keys=list(op.keys), args=list(op.args)))

    def run_replicated(
        self, op: Op[T], replicas: int, timeout_ms: int, before: Sequence[Op[Any]] = ()
    ) -> Replicated[T]:
        """Run the op, then wait (Redis WAIT, on the same connection) until `replicas` replicas
        hold its writes or `timeout_ms` pass. With `replicas` 0 and nothing `before` this is
        `run`. The ops `before` (their replies unread) run first, in order, in the same round
        trip: each as EVAL with its source, so that none can miss a script cache Redis lost and
        leave a later one to run out of order."""
        if replicas <= 0 and not before:
            return Replicated(self.run(op), 0)
        pipe = self.redis.pipeline(transaction=False)
        for each in (*before, op):
            if each.script is None:
                pipe.execute_command(*each.args)  # type: ignore[no-untyped-call]
            else:
                pipe.execute_command("EVAL", each.script, len(each.keys), *each.keys, *each.args)  # type: ignore[no-untyped-call]
        if replicas > 0:
            pipe.wait(replicas, timeout_ms)
        replies = pipe.execute()
        acknowledged = int(replies[-1]) if replicas > 0 else 0
        return Replicated(op.decode(replies[len(before)]), acknowledged)

    def _script(self, source: str) -> Any:
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = self.redis.register_script(source)
        return script


class AsyncOpRunner:
    """Runs ops on an asyncio Redis client (the API)."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.redis = client
        self._scripts: dict[str, Any] = {}

    async def run(self, op: Op[T]) -> T:
        if op.script is None:
            return op.decode(await self.redis.execute_command(*op.args))  # type: ignore[no-untyped-call]
        return op.decode(await self._script(op.script)(keys=list(op.keys), args=list(op.args)))

    async def run_replicated(self, op: Op[T], replicas: int, timeout_ms: int) -> Replicated[T]:
        """The asyncio flavour of `OpRunner.run_replicated`."""
        if replicas <= 0:
            return Replicated(await self.run(op), 0)
        async with self.redis.pipeline(transaction=False) as pipe:
            if op.script is None:
                pipe.execute_command(*op.args)
            else:
                await self._script(op.script)(keys=list(op.keys), args=list(op.args), client=pipe)
            pipe.wait(replicas, timeout_ms)
            reply, acknowledged = await pipe.execute()
        return Replicated(op.decode(reply), int(acknowledged))

    def _script(self, source: str) -> Any:
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = self.redis.register_script(source)
        return script
