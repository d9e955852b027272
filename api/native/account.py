"""`GET /v1/account`: who the key in use belongs to (Replicate's account call, plus sdq's role)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.auth import Caller
from sdq.api_keys import Role

router = APIRouter(tags=["account"])


class Account(BaseModel):
    """Replicate's account object (`username` is the tenant), plus the key's role and limits."""

    type: Literal["user"]
    username: str = Field(description="The tenant: the key's name (`local` without keys)")
    name: str
    github_url: None = Field(description="Always null")
    role: Role
    key_id: str | None = Field(description="The key's id (null with authentication off)")
    max_priority: int = Field(description="The most urgent priority the key may ask for")
    max_queued: int | None = Field(description="The key's queue quota per model (null: none)")


@router.get("/v1/account")
async def get_account(caller: Caller) -> Account:
    """The caller's tenant (`username`), the key's name and role (`client` or `admin`), and the
    most urgent priority and the queue quota it may use. With authentication off: `local`, an
    admin."""
    return Account(
        type="user",
        username=caller.tenant,
        name=caller.name,
        github_url=None,
        role=caller.role,
        key_id=caller.key_id,
        max_priority=caller.max_priority,
        max_queued=caller.max_queued,
    )
