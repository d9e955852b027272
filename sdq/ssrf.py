"""Webhook target safety: http(s) only, all resolved addresses public, connect to a checked one."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
MAX_URL_LENGTH = 2048


class UnsafeUrl(Exception):
    """The webhook URL may not be called; the message says why."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for host (A and AAAA)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise UnsafeUrl(f"host {host!r} does not resolve ({error.strerror})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def address_refusal(address: IPAddress, allow_private: bool) -> str | None:
    """Pure: why a webhook may not connect to this address, or None when it may."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        return address_refusal(mapped, allow_private)
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "an unspecified address"
    if allow_private:
        return None
    checks: list[tuple[bool, str]] = [
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address (e.g. the cloud metadata service)"),
        (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT, "a CGNAT address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "not a public address"),
    ]
    return next((reason for refused, reason in checks if refused), None)


@dataclass(frozen=True)
class CheckedTarget:
    """A webhook URL and the one checked address the request must connect to."""

    url: str
    scheme: str
    host: str
    port: int
    address: str
    path: str

    @property
    def connect_url(self) -> str:
        """The URL with the checked address in place of the host name."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{host}:{self.port}{self.path}"

    @property
    def host_header(self) -> str:
        default = {"http": 80, "https": 443}[self.scheme]
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def check_webhook_url(
    url: str, allow_private: bool, resolve: Resolver = system_resolver
) -> CheckedTarget:
    """Refuse anything but http(s) to public addresses (all of a name's); raise UnsafeUrl."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"must be at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeUrl(f"is not a valid URL ({error})") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl(f"scheme {parts.scheme or '(none)'!r} is not allowed; use http or https")
    host = parts.hostname
    if not host:
        raise UnsafeUrl("has no host")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolve(host, port)]
        if not addresses:
            raise UnsafeUrl(f"host {host!r} does not resolve") from None
    for address in addresses:
        reason = address_refusal(address, allow_private)
        if reason:
            raise UnsafeUrl(f"host {host!r} resolves to {address}, {reason}")
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    return CheckedTarget(url, parts.scheme, host, port, str(addresses[0]), path)
