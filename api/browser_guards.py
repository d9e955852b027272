"""Guards that keep browsers from being turned against the API: a Host allowlist (DNS rebinding),
no state-changing call from another site (CSRF), CORS only for the configured origins."""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body
from sdq.access_mode import allowed_hosts
from sdq.inputs import InvalidField
from sdq.settings import Settings

# Kubernetes probes and Prometheus scrapes send Host = the pod's IP: they must pass whatever the
# allowlist says (/metrics checks its own token or admin key).
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_PORTS = {"http": 80, "https": 443}

CORS_METHODS = ("GET", "POST", "PUT", "DELETE", "OPTIONS")
CORS_HEADERS = (
    "Authorization",
    "Content-Type",
    "Prefer",
    "Last-Event-ID",
    "Cancel-After",
    "Idempotency-Key",
)
CORS_EXPOSED = ("X-Request-Id", "Retry-After", "Location")

_NAME = re.compile(r"[a-z0-9_.-]+")  # a DNS name or an IPv4 address, lowercased
_IPV6 = frozenset(string.hexdigits + ":.")
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
_SHOWN_CHARS = 100  # of a refused header, in the error's detail


@dataclass(frozen=True)
class Authority:
    """`host[:port]`: the name lowercased without a trailing dot, an IPv6 literal unbracketed."""

    host: str
    port: int | None


@dataclass(frozen=True)
class Origin:
    """A web origin; `port` is the one in effect (80 for http, 443 for https when not written)."""

    scheme: str
    host: str
    port: int | None


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused before it reaches a route: the status and the header at fault."""

    status: int
    title: str
    header: str
    reason: str


def parse_authority(value: str) -> Authority | None:
    """A Host header's value (`name`, `name:port`, `[v6]`, `[v6]:port`), or None if malformed."""
    if value.startswith("["):
        host, bracket, rest = value[1:].partition("]")
        if not bracket or not host or not set(host) <= _IPV6 or ":" not in host:
            return None
        if rest and not rest.startswith(":"):
            return None
        port_text = rest[1:]
    else:
        host, _, port_text = value.partition(":")
        host = host.rstrip(".")
        if not _NAME.fullmatch(host.lower()):
            return None
    if port_text and not (
        port_text.isascii() and port_text.isdigit() and 0 < int(port_text) < 65536
    ):
        return None
    return Authority(host.lower(), int(port_text) if port_text else None)


def host_allowed(host: str, allowed: Sequence[str]) -> bool:
    """Whether the API answers to this Host header value. `allowed` holds names (a port in one is
    ignored), `*.example.com` (any subdomain of example.com, not example.com itself) or `*`;
    empty: any host."""
    if not allowed or "*" in allowed:
        return True
    authority = parse_authority(host)
    if authority is None:
        return False
    for entry in allowed:
        entry = entry.strip().lower()
        if entry.startswith("*."):
            suffix = entry[1:].rstrip(".")
            if authority.host.endswith(suffix) and len(authority.host) > len(suffix):
                return True
        elif allowed_name(entry) == authority.host:
            return True
    return False


def allowed_name(entry: str) -> str | None:
    """The host an allowlist entry names: `name`, `name:port`, `::1` or `[::1]` (a port is
    ignored); None when it names none."""
    if entry.count(":") > 1 and not entry.startswith("["):
        entry = f"[{entry}]"  # a bare IPv6 address
    named = parse_authority(entry)
    return named.host if named is not None else None


def parse_origin(value: str) -> Origin | None:
    """An `Origin` header's (or a configured origin's) `scheme://host[:port]`; None for `null`
    and anything that is not an origin."""
    scheme, sep, rest = value.strip().partition("://")
    scheme = scheme.lower()
    if not sep or not _SCHEME.fullmatch(scheme) or "/" in rest:
        return None
    authority = parse_authority(rest)
    if authority is None:
        return None
    return Origin(scheme, authority.host, authority.port or DEFAULT_PORTS.get(scheme))


def public_origin(public_url: str | None) -> Origin | None:
    """The origin of `settings.public_url` (its path left out)."""
    if not public_url:
        return None
    parts = urlsplit(public_url)
    return parse_origin(f"{parts.scheme}://{parts.netloc}") if parts.netloc else None


def origin_allowed(
    origin: str, host: str | None, public_url: str | None, cors_origins: Sequence[str]
) -> bool:
    """Whether a page at `origin` may change state through this API: it is the API's own origin
    (the request's Host, or `public_url`'s origin) or one of `cors_origins` (`*`: any). The
    scheme is not compared with the request's, whose scheme is plain http behind a TLS-terminating
    proxy: the same host and port are the same server. `null` never is."""
    seen = parse_origin(origin)
    if seen is None:
        return False
    if same_server(seen, host) or seen == public_origin(public_url):
        return True
    return "*" in cors_origins or any(parse_origin(entry) == seen for entry in cors_origins)


def same_server(origin: Origin, host: str | None) -> bool:
    """Whether the origin names the host and port the request was sent to (a Host without a
    port: the default port of the origin's scheme)."""
    own = parse_authority(host) if host is not None else None
    if own is None or own.host != origin.host:
        return False
    return (own.port or DEFAULT_PORTS.get(origin.scheme)) == origin.port


def host_refusal(path: str, host: str | None, allowed: Sequence[str]) -> Refusal | None:
    """400 for a missing or malformed Host, 421 for one the API does not answer to (when there is
    an allowlist); the probes are never refused."""
    if not allowed or path in PROBE_PATHS or host_allowed(host or "", allowed):
        return None
    if host is None or parse_authority(host) is None:
        reason = "is missing" if host is None else f"{shown(host)} is not a host[:port]"
        return Refusal(400, "Bad Request", "Host", reason)
    reason = f"{shown(host)} is not a host this server answers to (SDQ_ALLOWED_HOSTS)"
    return Refusal(421, "Misdirected Request", "Host", reason)


def cross_site_refusal(
    method: str,
    origin: str | None,
    fetch_site: str | None,
    host: str | None,
    public_url: str | None,
    cors_origins: Sequence[str],
) -> Refusal | None:
    """403 for a state-changing call sent by a page of another site: an `Origin` that is neither
    the API's own nor allowed (`null` included), or, without an `Origin`, `Sec-Fetch-Site:
    cross-site`. No `Origin` at all is a non-browser client: allowed."""
    if method.upper() not in STATE_CHANGING:
        return None
    if origin is None:
        if fetch_site is not None and fetch_site.strip().lower() == "cross-site":
            reason = "is cross-site: a page of another site may not change state here"
            return Refusal(403, "Forbidden", "Sec-Fetch-Site", reason)
        return None
    if origin_allowed(origin, host, public_url, cors_origins):
        return None
    reason = (
        f"{shown(origin)} may not change state here (not this API's origin nor in SDQ_CORS_ORIGINS)"
    )
    return Refusal(403, "Forbidden", "Origin", reason)


def shown(value: str) -> str:
    """A header's value for an error message: quoted, and cut short."""
    cut = value if len(value) <= _SHOWN_CHARS else value[:_SHOWN_CHARS] + "..."
    return repr(cut)


def refusal_response(
    path: str, refusal: Refusal, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The refusal as JSON in the dialect of the path, naming the header at fault."""
    detail = f"{refusal.header}: {refusal.reason}"
    fields = [InvalidField(refusal.header, refusal.reason)]
    body = error_body(path, refusal.status, refusal.title, detail, fields)
    return JSONResponse(body, status_code=refusal.status, headers=headers)


class BrowserGuard:
    """Pure ASGI: refuses a Host off the allowlist, then a cross-site state-changing call, before
    any routing or authentication."""

    def __init__(
        self,
        app: ASGIApp,
        allowed_hosts: Sequence[str] = (),
        public_url: str | None = None,
        cors_origins: Sequence[str] = (),
    ) -> None:
        self.app = app
        self.allowed_hosts = tuple(allowed_hosts)
        self.public_url = public_url
        self.cors_origins = tuple(cors_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path, host = scope["path"], headers.get("host")
        refusal = host_refusal(path, host, self.allowed_hosts) or cross_site_refusal(
            scope["method"],
            headers.get("origin"),
            headers.get("sec-fetch-site"),
            host,
            self.public_url,
            self.cors_origins,
        )
        if refusal is not None:
            await refusal_response(path, refusal)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class JsonCors(CORSMiddleware):
    """Starlette's CORS, except that a refused preflight is answered in JSON (the dialect's
    shape, not text/plain), and an origin not allowed gets no CORS header at all."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope) if scope["type"] == "http" else Headers()
        preflight = "origin" in headers and "access-control-request-method" in headers
        if scope["type"] == "http" and scope["method"] == "OPTIONS" and preflight:
            refusal = self.preflight_refusal(headers)
            answer = self.preflight_response(request_headers=headers)
            if refusal is not None or answer.status_code != 200:
                refusal = refusal or Refusal(400, "Bad Request", "Origin", "preflight refused")
                answer = refusal_response(scope["path"], refusal, {"Vary": "Origin"})
            await answer(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def preflight_refusal(self, headers: Headers) -> Refusal | None:
        """Why a preflight is refused, naming the header at fault (Starlette's rules)."""
        origin = headers["origin"]
        if not self.is_allowed_origin(origin=origin):
            return Refusal(
                403, "Forbidden", "Origin", f"{shown(origin)} is not in SDQ_CORS_ORIGINS"
            )
        method = headers["access-control-request-method"]
        if method not in self.allow_methods:
            allowed = ", ".join(self.allow_methods)
            reason = f"{shown(method)} is not one of {allowed}"
            return Refusal(400, "Bad Request", "Access-Control-Request-Method", reason)
        requested = headers.get("access-control-request-headers")
        if requested is not None and not self.allow_all_headers:
            names = [name.strip() for name in requested.split(",")]
            unknown = [name for name in names if name.lower() not in self.allow_headers]
            if unknown:
                listed = ", ".join(CORS_HEADERS)
                reason = f"{shown(', '.join(unknown))} may not be sent (allowed: {listed})"
                return Refusal(400, "Bad Request", "Access-Control-Request-Headers", reason)
        if "access-control-request-private-network" in headers and not self.allow_private_network:
            reason = "private network access is not allowed"
            return Refusal(400, "Bad Request", "Access-Control-Request-Private-Network", reason)
        return None

    async def send(self, message: Message, send: Send, request_headers: Headers) -> None:
        origin = request_headers.get("origin")
        if origin is None or self.is_allowed_origin(origin=origin):
            await super().send(message, send, request_headers)
            return
        if message["type"] == "http.response.start":  # Vary: Origin, as the answer depends on it
            vary = [value for name, value in message.get("headers", []) if name.lower() == b"vary"]
            if b"origin" not in b", ".join(vary).lower():
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"vary", b"Origin")],
                }
        await send(message)


def install_browser_guards(app: FastAPI, settings: Settings) -> None:
    """Add CORS (when `cors_origins` is set) and the browser guard around it. Call it after
    adding every middleware the guards must run before (the last added runs first) and before
    the error boundary."""
    if settings.cors_origins:
        app.add_middleware(
            JsonCors,
            allow_origins=tuple(settings.cors_origins),
            allow_methods=CORS_METHODS,
            allow_headers=CORS_HEADERS,
            expose_headers=CORS_EXPOSED,
            allow_credentials=False,  # keys travel in Authorization, never in cookies
        )
    app.add_middleware(
        BrowserGuard,
        allowed_hosts=tuple(allowed_hosts(settings)),
        public_url=settings.public_url,
        cors_origins=tuple(settings.cors_origins),
    )
