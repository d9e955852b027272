"""The browser guards' decisions: which Host the API answers to, which Origin may change state."""

from __future__ import annotations

import pytest

from api.browser_guards import (
    Authority,
    Origin,
    cross_site_refusal,
    host_allowed,
    host_refusal,
    origin_allowed,
    parse_authority,
    parse_origin,
)

LOOPBACK = ("localhost", "127.0.0.1", "::1")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("localhost", Authority("localhost", None)),
        ("LocalHost:7860", Authority("localhost", 7860)),
        ("example.com.", Authority("example.com", None)),
        ("example.com.:443", Authority("example.com", 443)),
        ("127.0.0.1:7860", Authority("127.0.0.1", 7860)),
        ("[::1]", Authority("::1", None)),
        ("[::1]:7860", Authority("::1", 7860)),
        ("[2001:DB8::1]:80", Authority("2001:db8::1", 80)),
        ("host:", Authority("host", None)),
        ("", None),
        ("::1", None),  # IPv6 without brackets
        ("[::1", None),
        ("[::1]x", None),
        ("[]", None),
        ("[evil.com]", None),
        ("a b", None),
        ("evil.com/path", None),
        ("user@evil.com", None),
        ("host:port", None),
        ("host:0", None),
        ("host:65536", None),
        ("host:+80", None),
        ("host:٣", None),  # a non-ASCII digit
    ],
)
def test_parse_authority(value: str, expected: Authority | None) -> None:
    assert parse_authority(value) == expected


@pytest.mark.parametrize(
    ("host", "allowed", "expected"),
    [
        ("anything.example", (), True),  # no allowlist: any host
        ("anything.example", ("*",), True),
        ("localhost:7860", LOOPBACK, True),
        ("LOCALHOST", LOOPBACK, True),
        ("localhost.:7860", LOOPBACK, True),
        ("127.0.0.1:7860", LOOPBACK, True),
        ("[::1]:7860", LOOPBACK, True),
        ("[::1]:7860", ("[::1]",), True),  # an IPv6 entry may keep its brackets
        ("localhost", ("localhost:9999",), True),  # an entry's port is ignored
        ("evil.example:7860", LOOPBACK, False),  # DNS rebinding: the attacker's name
        ("localhost.evil.example", LOOPBACK, False),
        ("127.0.0.2", LOOPBACK, False),
        ("[::2]", LOOPBACK, False),
        ("api.example.com", ("*.example.com",), True),
        ("a.b.example.com:443", ("*.example.com",), True),
        ("example.com", ("*.example.com",), False),  # the wildcard is for subdomains only
        ("evilexample.com", ("*.example.com",), False),
        ("example.com.evil", ("*.example.com",), False),
        ("", LOOPBACK, False),
        ("local host", LOOPBACK, False),
        ("::1", LOOPBACK, False),
    ],
)
def test_host_allowed(host: str, allowed: tuple[str, ...], expected: bool) -> None:
    assert host_allowed(host, allowed) is expected


@pytest.mark.parametrize(
    ("path", "host", "allowed", "status"),
    [
        ("/v1/predictions", "localhost:7860", LOOPBACK, None),
        ("/v1/predictions", "evil.example:7860", LOOPBACK, 421),
        ("/v1/predictions", "evil.example:7860", (), None),
        ("/v1/predictions", None, LOOPBACK, 400),
        ("/v1/predictions", "a b", LOOPBACK, 400),
        ("/v1/predictions", None, (), None),
        ("/healthz", "10.1.2.3:7860", LOOPBACK, None),  # Kubernetes probes: Host = the pod IP
        ("/readyz", "10.1.2.3:7860", LOOPBACK, None),
        ("/readyz", None, LOOPBACK, None),
        ("/healthz/x", "10.1.2.3:7860", LOOPBACK, 421),
    ],
)
def test_host_refusal(
    path: str, host: str | None, allowed: tuple[str, ...], status: int | None
) -> None:
    refusal = host_refusal(path, host, allowed)
    assert (refusal.status if refusal else None) == status
    assert refusal is None or refusal.header == "Host"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://localhost:7860", Origin("http", "localhost", 7860)),
        ("HTTPS://App.Example.com", Origin("https", "app.example.com", 443)),
        ("http://example.com", Origin("http", "example.com", 80)),
        ("http://[::1]:7860", Origin("http", "::1", 7860)),
        ("chrome-extension://abcdef", Origin("chrome-extension", "abcdef", None)),
        ("null", None),
        ("", None),
        ("https://example.com/", None),
        ("https://example.com/path", None),
        ("example.com", None),
        ("https://", None),
        ("https://a b", None),
        ("1http://example.com", None),
    ],
)
def test_parse_origin(value: str, expected: Origin | None) -> None:
    assert parse_origin(value) == expected


CORS = ("https://app.example.com",)


@pytest.mark.parametrize(
    ("origin", "host", "public_url", "cors", "expected"),
    [
        # The API's own origin: the host and port the request was sent to.
        ("http://localhost:7860", "localhost:7860", None, (), True),
        ("http://127.0.0.1:7860", "127.0.0.1:7860", None, (), True),
        ("http://[::1]:7860", "[::1]:7860", None, (), True),
        ("https://sdq.example.com", "sdq.example.com", None, (), True),  # TLS at the proxy
        ("http://sdq.example.com", "sdq.example.com", None, (), True),
        ("https://sdq.example.com", "sdq.example.com:443", None, (), True),
        ("http://localhost:3000", "localhost:7860", None, (), False),  # another local app
        ("http://localhost", "localhost:7860", None, (), False),
        ("https://sdq.example.com", "sdq.example.com:8443", None, (), False),
        ("http://evil.example", "localhost:7860", None, (), False),
        ("http://evil.example", None, None, (), False),
        # Its public URL's origin (the path left out).
        ("https://sdq.example.com", "10.0.0.5:7860", "https://sdq.example.com/api", (), True),
        ("https://sdq.example.com", "10.0.0.5:7860", "https://sdq.example.com:443", (), True),
        ("http://sdq.example.com", "10.0.0.5:7860", "https://sdq.example.com", (), False),
        # The configured CORS origins.
        ("https://app.example.com", "localhost:7860", None, CORS, True),
        ("https://APP.example.com:443", "localhost:7860", None, CORS, True),
        ("http://app.example.com", "localhost:7860", None, CORS, False),
        ("https://app.example.com.evil", "localhost:7860", None, CORS, False),
        ("https://anyone.example", "localhost:7860", None, ("*",), True),
        # `null`: a sandboxed frame, a file:// page, a redirect across origins.
        ("null", "localhost:7860", None, CORS, False),
        ("null", "localhost:7860", None, ("*",), False),
    ],
)
def test_origin_allowed(
    origin: str, host: str | None, public_url: str | None, cors: tuple[str, ...], expected: bool
) -> None:
    assert origin_allowed(origin, host, public_url, cors) is expected


HOST = "localhost:7860"


@pytest.mark.parametrize(
    ("method", "origin", "fetch_site", "status", "header"),
    [
        ("POST", None, None, None, None),  # no Origin: curl, SDKs, other services
        ("POST", "http://localhost:7860", "same-origin", None, None),
        ("POST", "https://app.example.com", "cross-site", None, None),  # allowed by CORS
        ("POST", "http://evil.example", "cross-site", 403, "Origin"),
        ("PUT", "http://evil.example", None, 403, "Origin"),
        ("PATCH", "http://evil.example", None, 403, "Origin"),
        ("DELETE", "http://evil.example", None, 403, "Origin"),
        ("delete", "http://evil.example", None, 403, "Origin"),
        ("POST", "null", None, 403, "Origin"),
        ("POST", None, "cross-site", 403, "Sec-Fetch-Site"),
        ("POST", None, "Cross-Site", 403, "Sec-Fetch-Site"),
        ("POST", None, "same-site", None, None),
        ("POST", None, "none", None, None),  # typed in the address bar, a bookmark
        # Reading is not refused here: without CORS a page cannot read the answer.
        ("GET", "http://evil.example", "cross-site", None, None),
        ("HEAD", "null", None, None, None),
        ("OPTIONS", "http://evil.example", "cross-site", None, None),
    ],
)
def test_cross_site_refusal(
    method: str, origin: str | None, fetch_site: str | None, status: int | None, header: str | None
) -> None:
    refusal = cross_site_refusal(method, origin, fetch_site, HOST, None, CORS)
    seen = (refusal.status, refusal.header) if refusal else (None, None)
    assert seen == (status, header)
