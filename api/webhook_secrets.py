"""The caller's webhook signing secret, as Replicate serves it (`/v1/webhooks/default/secret`):
read it, set or rotate the tenant's own, or go back to its default."""

from __future__ import annotations

from anyio import to_thread
from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Caller
from api.deps import Runtime
from api.json_route import StrictJsonRoute
from sdq.inputs import InvalidField, InvalidInput
from sdq.store.webhook_secrets import (
    delete_tenant_webhook_secret,
    set_tenant_webhook_secret,
    tenant_webhook_secret,
)
from sdq.webhook_secret import (
    new_webhook_secret,
    tenant_default_secret,
    webhook_secret,
    webhook_secret_problem,
)

router = APIRouter(
    tags=["webhooks"], prefix="/v1/webhooks/default/secret", route_class=StrictJsonRoute
)


class SecretRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(
        max_length=200, description="whsec_ followed by the base64 of 24 to 64 random bytes"
    )


class WebhookSecret(BaseModel):
    """The secret the tenant's webhooks are signed with (Standard Webhooks)."""

    key: str = Field(description="whsec_ followed by the base64 of the secret's bytes")


@router.get("")
async def get_secret(runtime: Runtime, caller: Caller) -> WebhookSecret:
    """The secret the caller's webhooks are signed with: its tenant's own, else its default, a
    secret derived for it alone (without keys: the global one). Verify deliveries with it, e.g.
    with the `standardwebhooks` library."""
    own = await runtime.store.run(tenant_webhook_secret(caller.tenant))
    if own is not None:
        return WebhookSecret(key=own)
    global_secret = await to_thread.run_sync(webhook_secret, runtime.settings)
    return WebhookSecret(key=tenant_default_secret(global_secret, caller.tenant))


@router.put("")
async def set_secret(body: SecretRequest, runtime: Runtime, caller: Caller) -> WebhookSecret:
    """Sign the tenant's webhooks from now on (within seconds) with this secret."""
    problem = webhook_secret_problem(body.key)
    if problem is not None:
        raise InvalidInput([InvalidField("key", problem)])
    await runtime.store.run(set_tenant_webhook_secret(caller.tenant, body.key))
    return WebhookSecret(key=body.key)


@router.post("/rotate")
async def rotate_secret(runtime: Runtime, caller: Caller) -> WebhookSecret:
    """A new random secret for the tenant, returned once here (and by GET afterwards)."""
    secret = new_webhook_secret()
    await runtime.store.run(set_tenant_webhook_secret(caller.tenant, secret))
    return WebhookSecret(key=secret)


@router.delete("", status_code=204)
async def delete_secret(runtime: Runtime, caller: Caller) -> Response:
    """Forget the tenant's own secret: its webhooks are signed with its default again."""
    await runtime.store.run(delete_tenant_webhook_secret(caller.tenant))
    return Response(status_code=204)
