"""What the AUTOMATIC1111 dialect keeps in Redis, per tenant: its options and its latest job."""

from __future__ import annotations

from typing import Any

from sdq.store import redis_keys as keys
from sdq.store.ops import Op


def get_options(tenant: str) -> Op[dict[str, str]]:
    """The options the tenant set through `POST /sdapi/v1/options` (on any API replica)."""

    def decode(raw: Any) -> dict[str, str]:
        if isinstance(raw, dict):
            return {str(name): str(value) for name, value in raw.items()}
        return {str(name): str(value) for name, value in zip(raw[::2], raw[1::2], strict=True)}

    return Op(keys=(), args=("HGETALL", keys.a1111_options(tenant)), decode=decode)


def set_option(tenant: str, name: str, value: str) -> Op[int]:
    return Op(keys=(), args=("HSET", keys.a1111_options(tenant), name, value), decode=int)


def remember_last_job(tenant: str, job_id: str, retention_s: int) -> Op[bool]:
    """The tenant's most recent job, for `/sdapi/v1/progress` and `/interrupt`."""
    args = ("SET", keys.a1111_last_job(tenant), job_id, "EX", str(retention_s))
    return Op(keys=(), args=args, decode=bool)


def last_job(tenant: str) -> Op[str | None]:
    return Op(
        keys=(),
        args=("GET", keys.a1111_last_job(tenant)),
        decode=lambda raw: str(raw) if raw is not None else None,
    )
