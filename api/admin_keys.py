"""Managing API keys (admins only): create one (its secret shown once), list them, revoke one."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.admin_shapes import CreatedKey, KeyList, RevokedKey
from api.auth import access_of
from api.deps import Runtime
from api.errors import Conflict, NotFound, Unavailable
from api.json_route import StrictJsonRoute
from sdq.api_keys import (
    BOOTSTRAP_KEY_ID,
    BOOTSTRAP_KEY_NAME,
    NAME_PATTERN,
    OPEN_TENANT,
    RESERVED_NAMES,
    ApiKey,
    MaxPriority,
    Role,
    new_key_id,
    new_secret,
    secret_hash,
)
from sdq.store.api_keys import Created, create_key, list_keys, revoke_key

router = APIRouter(tags=["admin"], prefix="/v1/admin/keys", route_class=StrictJsonRoute)

KeyId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_]{1,64}$", description="The key's id")]


class KeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=NAME_PATTERN,
        description="Who holds the key; keys with the same name are one tenant (rotation). "
        f"Reserved: {', '.join(RESERVED_NAMES)}",
    )

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        if name.lower() in RESERVED_NAMES:
            raise ValueError(
                f"{name!r} is reserved ({BOOTSTRAP_KEY_NAME}: the SDQ_ADMIN_KEY's tenant, "
                f"{OPEN_TENANT}: predictions made while authentication was off)"
            )
        return name

    role: Role = Field(default=Role.CLIENT, description="client: own predictions; admin: all")
    max_queued: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000,
        description="Most of the key's jobs waiting per model; more get 429 (unset: no quota)",
    )
    max_priority: MaxPriority = None


def _keys_in_use(request: Request) -> None:
    if not access_of(request).keys_required:
        raise Conflict(
            "authentication is off (no SDQ_ADMIN_KEY, or SDQ_AUTH=none): keys would not be "
            "checked; set SDQ_ADMIN_KEY and restart to use them"
        )


@router.post("", status_code=201)
async def create(body: KeyRequest, request: Request, runtime: Runtime) -> CreatedKey:
    """The new key's record and its secret `key`, shown this one time only."""
    _keys_in_use(request)
    secret = new_secret()
    key = ApiKey(
        id=new_key_id(),
        name=body.name,
        role=body.role,
        created_at=time.time(),
        max_queued=body.max_queued,
        max_priority=body.max_priority,
    )
    created = await runtime.store.run(create_key(key, secret_hash(secret)))
    if created is Created.OTHER_ROLE:
        other = "admin" if body.role is Role.CLIENT else "client"
        raise Conflict(
            f"the keys named {body.name!r} are {other} keys: a name is one tenant with one "
            "role; pick another name"
        )
    if created is Created.TAKEN:
        raise Unavailable("key id collision; retry the request")
    return CreatedKey.model_validate(key.model_dump(exclude={"last_used_at"}) | {"key": secret})


@router.get("")
async def list_all(request: Request, runtime: Runtime) -> KeyList:
    """Every stored key without its secret, with when it last authenticated a request (to the
    minute). The bootstrap key (SDQ_ADMIN_KEY) lives in the environment, not here."""
    _keys_in_use(request)
    keys = await runtime.store.run(list_keys())
    return KeyList(results=keys)


@router.delete("/{key_id}")
async def revoke(key_id: KeyId, request: Request, runtime: Runtime) -> RevokedKey:
    """Revoke the key: refused on every API replica within a second."""
    _keys_in_use(request)
    if key_id == BOOTSTRAP_KEY_ID:
        raise Conflict("the bootstrap key is SDQ_ADMIN_KEY: change it in the environment")
    revoked = await runtime.store.run(revoke_key(key_id))
    if revoked is None:
        raise NotFound(f"no key {key_id}")
    access_of(request).cache.clear()  # this replica: at once
    return RevokedKey.model_validate(
        revoked.model_dump(exclude={"last_used_at"}) | {"revoked": True}
    )
