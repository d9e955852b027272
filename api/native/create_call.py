"""The create routes' per-call facts (runtime, base URL, model, Idempotency-Key, client) from one
dependency: FastAPI solves each dependency per request at a cost above most of their bodies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from api.deps import base_url_of, runtime_of, speaks_aborted, spec_or_404
from api.idempotency import IdempotencyHeader
from api.idempotency_key import check_key
from api.runtime import ApiRuntime
from sdq.settings import ModelSpec


@dataclass(frozen=True)
class CreateCall:
    runtime: ApiRuntime
    base_url: str
    key: str | None  # the checked Idempotency-Key
    knows_aborted: bool
    spec: ModelSpec | None = None  # the path's model, on /v1/models/{owner}/{name}/predictions


async def create_call(request: Request, key: IdempotencyHeader = None) -> CreateCall:
    """`POST /v1/predictions`: the body names the model."""
    runtime = runtime_of(request)
    return CreateCall(
        runtime, base_url_of(request, runtime), check_key(key), speaks_aborted(request)
    )


async def model_create_call(
    request: Request, owner: str, name: str, key: IdempotencyHeader = None
) -> CreateCall:
    """`POST /v1/models/{owner}/{name}/predictions`: 404 for a model not served (before the
    key is checked), as the separate dependencies answered."""
    runtime = runtime_of(request)
    spec = spec_or_404(runtime, owner, name)
    base_url = base_url_of(request, runtime)
    return CreateCall(runtime, base_url, check_key(key), speaks_aborted(request), spec)


CreateCallOf = Annotated[CreateCall, Depends(create_call)]
ModelCreateCall = Annotated[CreateCall, Depends(model_create_call)]
