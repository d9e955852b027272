"""Serving generated output files by their storage key, to holders of a signed, unexpired link
(no API key: browsers' `<img src>` and webhook receivers send no header)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, RedirectResponse, Response

from api.deps import Runtime
from api.errors import Forbidden, NotFound
from api.runtime import ApiRuntime
from sdq.job import is_job_id
from sdq.signed_links import LinkCheck, check_link
from sdq.storage import OutputNotFound, is_valid_key

router = APIRouter(tags=["files"])


async def checked_link(runtime: ApiRuntime, key: str, exp: str | None, sig: str | None) -> int:
    """Seconds the link has left, or 403 (the same answer whether or not the file exists).
    A signature that does not match is checked once more against a fresh read of a shared
    secret, which may have changed since this process read it."""
    now = time.time()
    verdict = check_link(await runtime.link_key(), key, exp, sig, now)
    if verdict is LinkCheck.FORGED:
        verdict = check_link(await runtime.link_key(recheck=True), key, exp, sig, now)
    if verdict is not LinkCheck.VALID:
        raise Forbidden(f"{verdict.value}; ask the API for a fresh link (the prediction's output)")
    return max(0, int(exp or 0) - int(now))


PNG = {"schema": {"type": "string", "format": "binary"}}
FILE_DOCS: dict[int | str, dict[str, Any]] = {
    200: {"description": "The PNG", "content": {"image/png": PNG}},
    307: {"description": "Object storage: a redirect to a fresh presigned link"},
}


@router.get("/v1/files/{job_id}/{name}", response_class=Response, responses=FILE_DOCS)
async def get_file(
    job_id: str,
    name: str,
    runtime: Runtime,
    exp: Annotated[str | None, Query(description="Unix seconds when the link expires")] = None,
    sig: Annotated[str | None, Query(description="The link's HMAC signature")] = None,
) -> Response:
    """The output file, with `exp` (unix seconds) and `sig` (its HMAC) from the link the API
    handed out; 403 when they are missing, wrong or past, 404 when the file is gone."""
    key = f"{job_id}/{name}"
    left_s = await checked_link(runtime, key, exp, sig)
    if not is_job_id(job_id) or not is_valid_key(key):
        raise NotFound(f"no output {key}")
    direct = runtime.storage.url(key)
    if direct is not None:  # object storage: send the client to a presigned URL
        return RedirectResponse(direct, status_code=307)
    cache = {"Cache-Control": f"private, max-age={left_s}"}
    path = runtime.storage.local_path(key)
    if path is not None:
        return FileResponse(path, media_type="image/png", headers=cache)
    try:
        data = runtime.storage.get(key)
    except OutputNotFound:
        raise NotFound(f"no output {key}") from None
    return Response(data, media_type="image/png", headers=cache)
