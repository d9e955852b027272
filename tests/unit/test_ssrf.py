"""The webhook SSRF guard: schemes, private and special addresses, names that resolve to them."""

from __future__ import annotations

import ipaddress
import re

import pytest

from sdq.ssrf import Resolver, UnsafeUrl, address_refusal, check_webhook_url


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
        ("http://169.254.169.254/latest/meta-data", "metadata"),
        ("http://100.64.0.1/", "CGNAT"),
        ("http://[::1]/", "loopback"),
        ("http://[fd00::1]/", "private"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[2002:7f00:1::]/", "6to4 address embedding 127.0.0.1: a loopback address"),
        ("http://[2002:a9fe:a9fe::]/", "6to4 address embedding 169.254.169.254"),
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


@pytest.mark.parametrize(
    "url",
    [
        "http://224.0.0.1/",
        "file:///etc/passwd",
        "http://0.0.0.0/",
        "http://169.254.169.254/",
        "http://[fe80::1]/",
        "http://[2002:a9fe:a9fe::]/",
    ],
)
def test_allow_private_still_refuses_the_rest(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        check_webhook_url(url, allow_private=True)


# address_refusal is pure: each address with the words its refusal must contain, or None.
# Embedded IPv4 used below: 127.0.0.1 = 7f00:0001, 10.0.0.1 = 0a00:0001,
# 169.254.169.254 = a9fe:a9fe, 100.100.100.200 = 6464:64c8, 93.184.216.34 = 5db8:d822.
# A Teredo address (2001::/32) carries its server in bits 32-64 and its client, XOR 0xffffffff,
# in the last 32 bits: ~93.184.216.34 = a247:27dd, ~127.0.0.1 = 80ff:fffe, ~169.254.169.254 =
# 5601:5601.
ALWAYS_REFUSED = [
    ("169.254.169.254", "the cloud metadata address"),
    ("169.254.170.2", "the AWS ECS task metadata address"),
    ("fd00:ec2::254", "the AWS IPv6 metadata address"),
    ("100.100.100.200", "the Alibaba Cloud metadata address"),
    ("168.63.129.16", "the Azure platform address"),
    ("169.254.0.1", "a link-local address"),
    ("169.254.255.254", "a link-local address"),
    ("fe80::1", "a link-local address"),
    ("febf:ffff::1", "a link-local address"),
    ("224.0.0.1", "a multicast address"),
    ("ff02::1", "a multicast address"),
    ("0.0.0.0", "an unspecified address"),
    ("::", "an unspecified address"),
    (
        "::ffff:169.254.169.254",
        "an IPv4-mapped address embedding 169.254.169.254: the cloud metadata address",
    ),
    ("2002:a9fe:a9fe::", "a 6to4 address embedding 169.254.169.254: the cloud metadata address"),
    ("2002:a9fe:101::1", "a 6to4 address embedding 169.254.1.1: a link-local address"),
    (
        "2002:6464:64c8::",
        "a 6to4 address embedding 100.100.100.200: the Alibaba Cloud metadata address",
    ),
    (
        "64:ff9b::a9fe:a9fe",
        "a NAT64 address embedding 169.254.169.254: the cloud metadata address",
    ),
    ("64:ff9b::169.254.0.1", "a NAT64 address embedding 169.254.0.1: a link-local address"),
    ("64:ff9b::e000:1", "a NAT64 address embedding 224.0.0.1: a multicast address"),
    (
        "2001:0:5db8:d822::5601:5601",
        "a Teredo address embedding client 169.254.169.254: the cloud metadata address",
    ),
    (
        "2001:0:a9fe:a9fe::a247:27dd",
        "a Teredo address embedding server 169.254.169.254: the cloud metadata address",
    ),
    (
        "::169.254.169.254",
        "an IPv4-compatible address embedding 169.254.169.254: the cloud metadata address",
    ),
    (
        "::ffff:0:169.254.169.254",
        "an IPv4-translated address embedding 169.254.169.254: the cloud metadata address",
    ),
    ("64:ff9b:1::a9fe:a9fe", "a local-use NAT64 address"),
    ("64:ff9b:1::5db8:d822", "a local-use NAT64 address"),
]

REFUSED_UNLESS_PRIVATE_ALLOWED = [
    ("127.0.0.1", "a loopback address"),
    ("10.0.0.1", "a private address"),
    ("100.64.0.1", "a CGNAT address"),
    ("240.0.0.1", "a reserved address"),
    ("::1", "a loopback address"),
    ("fd00::1", "a private address"),
    ("::ffff:127.0.0.1", "an IPv4-mapped address embedding 127.0.0.1: a loopback address"),
    ("2002:7f00:1::", "a 6to4 address embedding 127.0.0.1: a loopback address"),
    ("2002:a00:1:2::3", "a 6to4 address embedding 10.0.0.1: a private address"),
    ("64:ff9b::7f00:1", "a NAT64 address embedding 127.0.0.1: a loopback address"),
    ("64:ff9b::10.0.0.1", "a NAT64 address embedding 10.0.0.1: a private address"),
    (
        "2001:0:5db8:d822::80ff:fffe",
        "a Teredo address embedding client 127.0.0.1: a loopback address",
    ),
    ("2001:0:a00:1::a247:27dd", "a Teredo address embedding server 10.0.0.1: a private address"),
    ("::127.0.0.1", "an IPv4-compatible address embedding 127.0.0.1: a loopback address"),
    ("::ffff:0:10.0.0.1", "an IPv4-translated address embedding 10.0.0.1: a private address"),
    ("::93.184.216.34", "a reserved address"),  # the deprecated forms are judged as IPv6 too
]

ALWAYS_ALLOWED = [
    "93.184.216.34",
    "2606:2800:220:1::1",
    "::ffff:93.184.216.34",
    "2002:5db8:d822::1",  # 6to4 of a public address
    "64:ff9b::5db8:d822",  # NAT64 of a public address, as DNS64 answers on IPv6-only networks
    "2001:0:5db8:d822::a247:27dd",  # Teredo with a public server and a public client
]

ALLOWED_WITH_PRIVATE = [
    "127.0.0.1",
    "10.0.0.1",
    "100.64.0.1",
    "::1",
    "fd00::1",
    "fd00:ec2::253",
    "::ffff:127.0.0.1",
    "2002:7f00:1::",
    "64:ff9b::7f00:1",
    "2001:0:5db8:d822::80ff:fffe",
    "::127.0.0.1",
]


@pytest.mark.parametrize("allow_private", [False, True])
@pytest.mark.parametrize(("address", "reason"), ALWAYS_REFUSED)
def test_refused_even_with_private_targets_allowed(
    address: str, reason: str, allow_private: bool
) -> None:
    refusal = address_refusal(ipaddress.ip_address(address), allow_private)
    assert refusal is not None and refusal.startswith(reason), refusal


@pytest.mark.parametrize(("address", "reason"), REFUSED_UNLESS_PRIVATE_ALLOWED)
def test_refused_while_private_targets_are_refused(address: str, reason: str) -> None:
    assert address_refusal(ipaddress.ip_address(address), allow_private=False) == reason


@pytest.mark.parametrize("allow_private", [False, True])
@pytest.mark.parametrize("address", ALWAYS_ALLOWED)
def test_public_addresses_and_what_embeds_them_are_allowed(
    address: str, allow_private: bool
) -> None:
    assert address_refusal(ipaddress.ip_address(address), allow_private) is None


@pytest.mark.parametrize("address", ALLOWED_WITH_PRIVATE)
def test_allow_private_opens_private_loopback_and_what_embeds_them(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address), allow_private=True) is None


METADATA_NAMES = resolver(
    {
        "metadata.google.internal": ["169.254.169.254"],
        "instance-data.ec2.internal": ["169.254.169.254", "fd00:ec2::254"],
        "sixtofour.example": ["93.184.216.34", "2002:7f00:1::"],
    }
)


@pytest.mark.parametrize("allow_private", [False, True])
@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://[2002:a9fe:a9fe::]/latest/meta-data/",
            "host '2002:a9fe:a9fe::' resolves to 2002:a9fe:a9fe::, a 6to4 address embedding "
            "169.254.169.254: the cloud metadata address",
        ),
        (
            "http://[fd00:ec2::254]/latest/meta-data/",
            "host 'fd00:ec2::254' resolves to fd00:ec2::254, the AWS IPv6 metadata address",
        ),
        (
            "http://100.100.100.200/latest/meta-data/",
            "resolves to 100.100.100.200, the Alibaba Cloud metadata address",
        ),
        (
            "http://[fe80::1]/",
            "resolves to fe80::1, a link-local address",
        ),
        (
            "http://metadata.google.internal/computeMetadata/v1/",
            "host 'metadata.google.internal' resolves to 169.254.169.254, the cloud metadata",
        ),
        ("http://instance-data.ec2.internal/", "169.254.169.254, the cloud metadata address"),
    ],
)
def test_metadata_and_link_local_urls_are_refused(
    url: str, message: str, allow_private: bool
) -> None:
    with pytest.raises(UnsafeUrl, match=re.escape(message)):
        check_webhook_url(url, allow_private, resolve=METADATA_NAMES)


def test_a_name_resolving_to_an_embedding_address_is_refused() -> None:
    with pytest.raises(UnsafeUrl, match=re.escape("2002:7f00:1::, a 6to4 address embedding")):
        check_webhook_url("http://sixtofour.example/", allow_private=False, resolve=METADATA_NAMES)
