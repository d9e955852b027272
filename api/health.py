"""Liveness (the process answers) and readiness (Redis answers and the process is not draining;
the pid says which process answered)."""

from __future__ import annotations

import os
from typing import Any, Literal, NotRequired

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from typing_extensions import TypedDict

from api.deps import Runtime

router = APIRouter(tags=["health"])


class Liveness(BaseModel):
    status: Literal["ok"]


class Readiness(TypedDict):
    """`ok` with `redis` and `pid`; `draining` with `pid`; `unavailable` with Redis' error."""

    status: Literal["ok", "draining", "unavailable"]
    redis: NotRequired[str]
    pid: NotRequired[int]


READINESS_DOCS: dict[int | str, dict[str, Any]] = {
    200: {"model": Readiness, "description": "Ready: Redis answers, the process is not draining"},
    503: {"model": Readiness, "description": "Not ready: draining (SIGTERM), or Redis away"},
}


@router.get("/healthz")
async def healthz() -> Liveness:
    return Liveness(status="ok")


# Answered as built (no response model): its 503s carry the same shape as its 200.
@router.get("/readyz", responses=READINESS_DOCS)
async def readyz(runtime: Runtime) -> JSONResponse:
    """503 once the process drains (SIGTERM): Kubernetes takes it out of the Service's endpoints.
    /healthz stays 200: the process is fine, only stopping."""
    if runtime.drain.draining:
        body: Readiness = {"status": "draining", "pid": os.getpid()}
        return JSONResponse(body, status_code=503)
    try:
        await runtime.store.redis.ping()
    except Exception as error:
        body = {"status": "unavailable", "redis": f"{type(error).__name__}: {error}"}
        return JSONResponse(body, status_code=503)
    return JSONResponse(Readiness(status="ok", redis="ok", pid=os.getpid()))
