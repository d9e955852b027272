"""Liveness (the process answers) and readiness (Redis answers and the process is not draining;
the pid says which process answered)."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import Runtime

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, Any]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(runtime: Runtime) -> JSONResponse:
    """503 once the process drains (SIGTERM): Kubernetes takes it out of the Service's endpoints.
    /healthz stays 200: the process is fine, only stopping."""
    if runtime.drain.draining:
        body = {"status": "draining", "pid": os.getpid()}
        return JSONResponse(body, status_code=503)
    try:
        await runtime.store.redis.ping()
    except Exception as error:
        body = {"status": "unavailable", "redis": f"{type(error).__name__}: {error}"}
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ok", "redis": "ok", "pid": os.getpid()})
