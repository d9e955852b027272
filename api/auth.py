"""Who is calling: the key a request carries, checked against the bootstrap key and the stored
keys (revocations seen within a second), and the dependencies routes use to require a role."""

from __future__ import annotations

import logging
import time
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from api.credentials import read_credential
from api.errors import Forbidden, Unauthorized, error_body
from sdq import metrics
from sdq.api_keys import (
    BOOTSTRAP_KEY_ID,
    BOOTSTRAP_KEY_NAME,
    OPEN_PRINCIPAL,
    ApiKey,
    Principal,
    Role,
    same_secret,
    secret_hash,
)
from sdq.store.api_keys import find_key, touch_keys
from sdq.store.ops import AsyncOpRunner

log = logging.getLogger(__name__)

# A looked-up key is trusted this long before it is looked up again: the bound on how late a
# revocation reaches a replica that saw the key a moment before.
KEY_CACHE_S = 1.0
KEY_CACHE_MAX = 10_000
# Last-used times are written at most this often per API process (one write for all keys).
LAST_USED_FLUSH_S = 60.0
# Failed authentications are logged at most once per this many seconds (with a count).
FAILURE_LOG_EVERY_S = 1.0


def principal_of(key: ApiKey) -> Principal:
    return Principal(
        key_id=key.id,
        name=key.name,
        tenant=key.tenant,
        role=key.role,
        max_queued=key.max_queued,
        max_priority=key.most_urgent_priority,
    )


BOOTSTRAP_PRINCIPAL = Principal(
    key_id=BOOTSTRAP_KEY_ID, name=BOOTSTRAP_KEY_NAME, tenant=BOOTSTRAP_KEY_NAME, role=Role.ADMIN
)


class AccessControl:
    """The API process's view of keys: the bootstrap key, a one-second cache of stored keys,
    the batched last-used times, and the count of failed authentications."""

    def __init__(self, store: AsyncOpRunner, admin_key: str | None, keys_required: bool) -> None:
        self.store = store
        self.keys_required = keys_required
        self.admin_key = admin_key
        self.cache: dict[str, tuple[float, Principal | None]] = {}
        self.used: dict[str, float] = {}
        self.flushed_at = time.monotonic()
        self.failures = 0
        self.failures_logged = 0
        self.failure_logged_at = 0.0

    async def principal(self, key: str) -> Principal | None:
        if self.admin_key is not None and same_secret(key, self.admin_key):
            return BOOTSTRAP_PRINCIPAL
        hashed = secret_hash(key)
        now = time.monotonic()
        cached = self.cache.get(hashed)
        if cached is not None and now - cached[0] < KEY_CACHE_S:
            found = cached[1]
        else:
            stored = await self.store.run(find_key(hashed))
            found = principal_of(stored) if stored is not None else None
            if len(self.cache) >= KEY_CACHE_MAX:
                self.cache.clear()
            self.cache[hashed] = (now, found)
        if found is not None and found.key_id is not None:
            await self._used(found.key_id)
        return found

    async def _used(self, key_id: str) -> None:
        self.used[key_id] = time.time()
        if time.monotonic() - self.flushed_at < LAST_USED_FLUSH_S:
            return
        used, self.used, self.flushed_at = self.used, {}, time.monotonic()
        try:
            await self.store.run(touch_keys(used))
        except Exception:  # bookkeeping: never fail the request it rides on; try next minute
            self.used = used | self.used
            log.debug("could not record keys' last-used times", exc_info=True)

    def refused(self, request: Request, why: str, reason: str) -> None:
        """Count a failed authentication (in `sdq_auth_failures_total` by `reason` too) and log
        it (never the key), at most once a second."""
        metrics.auth_failure(reason)
        self.failures += 1
        now = time.monotonic()
        if now - self.failure_logged_at < FAILURE_LOG_EVERY_S:
            return
        since = self.failures - self.failures_logged
        self.failures_logged, self.failure_logged_at = self.failures, now
        client = request.client.host if request.client else "unknown"
        more = f"; {since - 1} more since the last such line" if since > 1 else ""
        log.warning(
            "authentication failed: %s (%s %s from %s; %d failures since start%s)",
            why, request.method, request.url.path, client, self.failures, more,
        )  # fmt: skip


# Answered without a key: the probes, the API description (no data in it; its "Authorize"
# button takes a key), the web UI's pages and assets (no data either: their calls carry the key
# the person signs in with) and output links, which carry their own signature.
OPEN_PATHS = ("/healthz", "/readyz", "/openapi.json", "/docs", "/redoc", "/", "/ops")
OPEN_PREFIXES = ("/docs/", "/docs-assets/", "/ui-assets/", "/v1/files/")
# Checked by their route instead of the gate: /metrics also takes SDQ_METRICS_TOKEN, no key.
OWN_CHECK_PATHS = ("/metrics",)


def needs_key(path: str) -> bool:
    return (
        path not in OPEN_PATHS
        and path not in OWN_CHECK_PATHS
        and not path.startswith(OPEN_PREFIXES)
    )


def access_of(request: Request) -> AccessControl:
    access: AccessControl = request.app.state.sdq_access
    return access


async def identify(access: AccessControl, request: Request) -> Principal:
    """The caller, or Unauthorized (with its `WWW-Authenticate` challenge)."""
    if not access.keys_required:
        return OPEN_PRINCIPAL
    a1111 = request.url.path.startswith("/sdapi/")
    challenge = 'Bearer realm="sdq"' + (', Basic realm="sdq"' if a1111 else "")
    credential = read_credential(request.headers.get("authorization"), allow_basic=a1111)
    if credential.key is None:
        why = credential.problem or "no API key"
        sent = request.headers.get("authorization", "").strip()
        access.refused(request, why, "malformed" if sent else "missing")
        raise Unauthorized(why, challenge)
    found = await access.principal(credential.key)
    if found is None:
        why = "unknown or revoked API key"
        access.refused(request, why, "unknown")
        raise Unauthorized(why, challenge)
    return found


class AuthGate:
    """Refuses a request without a valid key before anything else reads it (its body is never
    parsed for a caller without a key: 401, not 422), and hands the caller on to the routes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not needs_key(scope["path"]):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            caller = await identify(access_of(request), request)
        except Unauthorized as refused:
            body = error_body(scope["path"], refused.status, refused.title, refused.detail, [])
            response = JSONResponse(body, refused.status, headers=dict(refused.headers))
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})[_PRINCIPAL] = caller
        await self.app(scope, receive, send)


_PRINCIPAL = "sdq_principal"


def principal_in(scope: Scope) -> Principal | None:
    """The caller `AuthGate` let through on this request, if it checked one."""
    found = scope.get("state", {}).get(_PRINCIPAL)
    return found if isinstance(found, Principal) else None


# Declares the scheme in the OpenAPI document (the docs page's "Authorize" button); the header
# itself is read by `read_credential`, which also takes `Token` and, on /sdapi, Basic.
_DOCUMENTED_SCHEME = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="An sdq API key (`sdq_…`) or SDQ_ADMIN_KEY, sent as `Authorization: Bearer <key>`",
)


async def authenticate(
    request: Request,
    _documented: Annotated[HTTPAuthorizationCredentials | None, Depends(_DOCUMENTED_SCHEME)],
) -> Principal:
    """The caller as `AuthGate` found it (identified here when the gate let the path pass)."""
    caller: Principal | None = getattr(request.state, _PRINCIPAL, None)
    return caller if caller is not None else await identify(access_of(request), request)


Caller = Annotated[Principal, Depends(authenticate)]


async def require_admin(caller: Caller) -> Principal:
    if not caller.is_admin:
        metrics.auth_failure("forbidden")
        raise Forbidden(f"key {caller.name!r} is a client key; this needs an admin key")
    return caller


Admin = Annotated[Principal, Depends(require_admin)]
