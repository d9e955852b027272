"""Serving generated output files by their storage key."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse, Response

from api.deps import Runtime
from api.errors import NotFound
from sdq.job import is_job_id
from sdq.storage import OutputNotFound, is_valid_key

router = APIRouter(tags=["files"])

_CACHE = "public, max-age=31536000, immutable"


@router.get("/v1/files/{job_id}/{name}")
async def get_file(job_id: str, name: str, runtime: Runtime) -> Response:
    key = f"{job_id}/{name}"
    if not is_job_id(job_id) or not is_valid_key(key):
        raise NotFound(f"no output {key}")
    direct = runtime.storage.url(key)
    if direct is not None:  # object storage: send the client to a presigned URL
        return RedirectResponse(direct, status_code=307)
    path = runtime.storage.local_path(key)
    if path is not None:
        return FileResponse(path, media_type="image/png", headers={"Cache-Control": _CACHE})
    try:
        data = runtime.storage.get(key)
    except OutputNotFound:
        raise NotFound(f"no output {key}") from None
    return Response(data, media_type="image/png", headers={"Cache-Control": _CACHE})
