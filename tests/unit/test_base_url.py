"""The links' base URL, built once per origin, is what `request.base_url` says, less its `/`."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest
from starlette.requests import Request

from api.deps import base_url_of
from api.runtime import ApiRuntime

CASES = [
    ("http", b"example.com", ("127.0.0.1", 80), "", None),
    ("https", b"ex.com:8443", ("127.0.0.1", 443), "/p", None),
    ("http", None, ("127.0.0.1", 80), "", None),
    ("http", None, ("::1", 8000), "/p/", None),
    ("https", None, ["h", 443], "", "/a"),
    ("http", b"bad host", ("10.0.0.1", 8000), "", None),
    ("http", None, None, "", None),
]


@pytest.mark.parametrize(("scheme", "host", "server", "root_path", "app_root_path"), CASES)
def test_base_url_is_the_requests_own(
    scheme: str, host: bytes | None, server: Any, root_path: str, app_root_path: str | None
) -> None:
    scope: dict[str, Any] = {
        "type": "http",
        "scheme": scheme,
        "server": server,
        "headers": [] if host is None else [(b"host", host)],
        "path": "/v1/predictions",
        "root_path": root_path,
        "query_string": b"a=1",
    }
    if app_root_path is not None:
        scope["app_root_path"] = app_root_path
    runtime = cast(ApiRuntime, SimpleNamespace(settings=SimpleNamespace(public_url=None)))
    want = str(Request(scope).base_url).rstrip("/")
    assert base_url_of(Request(scope), runtime) == want


def test_public_url_wins() -> None:
    scope = {"type": "http", "headers": [(b"host", b"x")], "path": "/", "server": None}
    settings = SimpleNamespace(public_url="https://sdq.example/")
    runtime = cast(ApiRuntime, SimpleNamespace(settings=settings))
    assert base_url_of(Request(scope), runtime) == "https://sdq.example"
