"""Typed FastAPI dependencies: the process's runtime, the base URL of links, the served model.
(Those that do no I/O are `async def` all the same: FastAPI runs a plain `def` dependency in
its thread pool, a hop that costs more than the function.)"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.errors import NotFound
from api.runtime import ApiRuntime
from sdq.settings import ModelSpec


async def get_runtime(request: Request) -> ApiRuntime:
    runtime: ApiRuntime = request.app.state.sdq
    return runtime


Runtime = Annotated[ApiRuntime, Depends(get_runtime)]


async def get_base_url(request: Request, runtime: Runtime) -> str:
    return (runtime.settings.public_url or str(request.base_url)).rstrip("/")


async def served_model(owner: str, name: str, runtime: Runtime) -> ModelSpec:
    """The model named by the `{owner}/{name}` path, or 404 listing the served models."""
    spec = runtime.settings.model(f"{owner}/{name}")
    if spec is None:
        served = ", ".join(m.id for m in runtime.settings.models)
        raise NotFound(f"model {owner}/{name} is not served here; served models: {served}")
    return spec


BaseUrl = Annotated[str, Depends(get_base_url)]
ServedModel = Annotated[ModelSpec, Depends(served_model)]


# Clients whose prediction model rejects a status they do not list: Replicate's Python client
# (1.0.7, the newest) knows starting, processing, succeeded, failed, canceled, and its `wait()`
# would never end on another. They are told `canceled` for `aborted` (the error says why).
CLIENTS_WITHOUT_ABORTED = ("replicate-python/",)


async def knows_aborted(request: Request) -> bool:
    return not request.headers.get("user-agent", "").startswith(CLIENTS_WITHOUT_ABORTED)


KnowsAborted = Annotated[bool, Depends(knows_aborted)]
