"""`GET /v1/account`: who the key in use belongs to (Replicate's account call, plus sdq's role)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.auth import Caller

router = APIRouter(tags=["account"])


@router.get("/v1/account")
async def get_account(caller: Caller) -> dict[str, Any]:
    """The caller's tenant (`username`), the key's name and role (`client` or `admin`), and the
    most urgent priority and the queue quota it may use. With authentication off: `local`, an
    admin."""
    return {
        "type": "user",
        "username": caller.tenant,
        "name": caller.name,
        "github_url": None,
        "role": caller.role.value,
        "key_id": caller.key_id,
        "max_priority": caller.max_priority,
        "max_queued": caller.max_queued,
    }
