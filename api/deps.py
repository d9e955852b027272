"""Typed FastAPI dependencies: the process's runtime, the base URL of links, the served model.
(Those that do no I/O are `async def` all the same: FastAPI runs a plain `def` dependency in
its thread pool, a hop that costs more than the function.)"""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import URL

from api.errors import NotFound
from api.runtime import ApiRuntime
from sdq.settings import ModelSpec


async def get_runtime(request: Request) -> ApiRuntime:
    return runtime_of(request)


def runtime_of(request: Request) -> ApiRuntime:
    runtime: ApiRuntime = request.app.state.sdq
    return runtime


Runtime = Annotated[ApiRuntime, Depends(get_runtime)]


async def get_base_url(request: Request, runtime: Runtime) -> str:
    return base_url_of(request, runtime)


def base_url_of(request: Request, runtime: ApiRuntime) -> str:
    """The base of the links in answers: SDQ_PUBLIC_URL, else the URL the request came to."""
    if runtime.settings.public_url:
        return runtime.settings.public_url.rstrip("/")
    scope = request.scope
    host = next((value for name, value in scope["headers"] if name == b"host"), None)
    server = scope.get("server")
    root_path = scope.get("app_root_path", scope.get("root_path", ""))
    return _base_url(scope.get("scheme", "http"), host, server and tuple(server), root_path)


@functools.lru_cache(maxsize=256)
def _base_url(
    scheme: str, host: bytes | None, server: tuple[str, int] | None, root_path: str
) -> str:
    """`str(request.base_url)` without its trailing `/`, built once per distinct origin (a URL
    object per request costs more than the rest of the dependency)."""
    headers = [] if host is None else [(b"host", host)]
    path = root_path if root_path.endswith("/") else root_path + "/"
    scope = {"type": "http", "scheme": scheme, "server": server, "headers": headers, "path": path}
    return str(URL(scope=scope | {"root_path": root_path, "query_string": b""})).rstrip("/")


async def served_model(owner: str, name: str, runtime: Runtime) -> ModelSpec:
    return spec_or_404(runtime, owner, name)


def spec_or_404(runtime: ApiRuntime, owner: str, name: str) -> ModelSpec:
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
    return speaks_aborted(request)


def speaks_aborted(request: Request) -> bool:
    return not request.headers.get("user-agent", "").startswith(CLIENTS_WITHOUT_ABORTED)


KnowsAborted = Annotated[bool, Depends(knows_aborted)]
