"""The webhook SSRF guard: schemes, private and special addresses, names that resolve to them."""

from __future__ import annotations

import pytest

from sdq.ssrf import Resolver, UnsafeUrl, check_webhook_url


def resolver(table: dict[str, list[str]]) -> Resolver:
    def resolve(host: str, port: int) -> list[str]:
        return table[host]

    return resolve


NAMES = resolver(
    {
        "internal.example": ["10.0.0.5"],
        "mixed.example": ["93.184.216.34", "192.168.0.7"],
        "public.example": ["93.184.216.34", "2606:2800:220:1::1"],
    }
)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/hook", "loopback"),
        ("http://localhost:8080/hook", "loopback"),  # real resolution through /etc/hosts
        ("http://10.0.0.1/", "private"),
        ("http://172.16.0.1/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://100.64.0.1/", "CGNAT"),
        ("http://[::1]/", "loopback"),
        ("http://[fd00::1]/", "private"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[::ffff:10.1.2.3]/", "private"),
        ("http://224.0.0.1/", "multicast"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://240.0.0.1/", "reserved"),
        ("http://internal.example/hook", "10.0.0.5, a private address"),
        ("http://mixed.example/hook", "192.168.0.7"),
        ("file:///etc/passwd", "scheme 'file' is not allowed"),
        ("gopher://example.com/", "scheme 'gopher' is not allowed"),
        ("ftp://example.com/", "scheme 'ftp' is not allowed"),
        ("https:///nohost", "has no host"),
        ("http://example.com:99999/", "not a valid URL"),
    ],
)
def test_refused(url: str, reason: str) -> None:
    resolve = NAMES if "example" in url else None
    with pytest.raises(UnsafeUrl, match=reason):
        if resolve is None:
            check_webhook_url(url, allow_private=False)
        else:
            check_webhook_url(url, allow_private=False, resolve=resolve)


def test_public_name_is_pinned_to_its_checked_address() -> None:
    target = check_webhook_url(
        "https://public.example/hooks?x=1", allow_private=False, resolve=NAMES
    )
    assert target.address == "93.184.216.34"
    assert target.connect_url == "https://93.184.216.34:443/hooks?x=1"
    assert target.host_header == "public.example"


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/x", "http://[::1]:9/", "http://10.0.0.1/", "http://localhost/"]
)
def test_allow_private_opens_private_and_loopback(url: str) -> None:
    assert check_webhook_url(url, allow_private=True).port in (9, 80)


@pytest.mark.parametrize("url", ["http://224.0.0.1/", "file:///etc/passwd", "http://0.0.0.0/"])
def test_allow_private_still_refuses_the_rest(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        check_webhook_url(url, allow_private=True)
