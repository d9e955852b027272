"""Who may read the `/metrics` of a worker, scaler or webhook sender (a pure decision): the
metrics token when one is set; else anyone, but only on a loopback address or with SDQ_AUTH=none."""

from __future__ import annotations

from dataclasses import dataclass

from sdq.access_mode import is_loopback
from sdq.api_keys import same_secret
from sdq.settings import Settings

MAX_HEADER_CHARS = 1024


@dataclass(frozen=True)
class MetricsAccess:
    """The token a scrape must send (None: open), or why the endpoint must not be served."""

    token: str | None
    refusal: str | None = None


def metrics_access(settings: Settings) -> MetricsAccess:
    """The token when set; open on loopback or with SDQ_AUTH=none; else refused, never open on
    a network address by default."""
    if settings.metrics_token is not None:
        return MetricsAccess(settings.metrics_token.get_secret_value())
    if is_loopback(settings.metrics_host) or settings.auth == "none":
        return MetricsAccess(None)
    where = f"{settings.metrics_host}:{settings.metrics_port}"
    return MetricsAccess(
        None,
        f"not serving metrics on {where} without a token: set SDQ_METRICS_TOKEN (at least 32 "
        "characters), or SDQ_AUTH=none to serve them open on purpose",
    )


def bearer_token(authorization: str | None) -> str | None:
    """The token of `Authorization: Bearer TOKEN`; None when absent or of another scheme."""
    if not authorization or len(authorization) > MAX_HEADER_CHARS:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    token = value.strip()
    return token if scheme.lower() == "bearer" and token else None


def may_read(access: MetricsAccess, authorization: str | None) -> bool:
    """Whether a scrape with this Authorization header gets the metrics (constant-time compare)."""
    if access.token is None:
        return True
    sent = bearer_token(authorization)
    return sent is not None and same_secret(sent, access.token)
