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
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix: IPv4 in bits 96-128
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: where the IPv4 sits is local
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # RFC 4291, deprecated
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # RFC 2765 (SIIT), obsolete
_IPV4_BITS = 0xFFFFFFFF

# Cloud metadata and platform services: refused even where private targets are allowed.
METADATA: dict[IPAddress, str] = {
    ipaddress.ip_address("169.254.169.254"): "the cloud metadata address",
    ipaddress.ip_address("169.254.170.2"): "the AWS ECS task metadata address",
    ipaddress.ip_address("fd00:ec2::254"): "the AWS IPv6 metadata address",
    ipaddress.ip_address("100.100.100.200"): "the Alibaba Cloud metadata address",
    ipaddress.ip_address("168.63.129.16"): "the Azure platform address (WireServer)",
}

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


@dataclass(frozen=True)
class Embedded:
    """The IPv4 address(es) an IPv6 address carries, and what kind of address carries them."""

    form: str
    ipv4: tuple[tuple[str, ipaddress.IPv4Address], ...]  # (role, address); role may be ""
    decisive: bool  # the IPv4 decides alone: the IPv6 address is only a way to reach it


def embedded_ipv4(address: ipaddress.IPv6Address) -> Embedded | None:
    """Pure: the IPv4 an IPv4-mapped, 6to4, NAT64, Teredo, IPv4-compatible or -translated
    address embeds, or None."""
    low = ipaddress.IPv4Address(int(address) & _IPV4_BITS)
    if address.ipv4_mapped is not None:
        return Embedded("an IPv4-mapped address", (("", address.ipv4_mapped),), decisive=True)
    if address.sixtofour is not None:
        return Embedded("a 6to4 address", (("", address.sixtofour),), decisive=True)
    if address in _NAT64:
        return Embedded("a NAT64 address", (("", low),), decisive=True)
    if address.teredo is not None:
        server, client = address.teredo
        return Embedded(
            "a Teredo address", (("server ", server), ("client ", client)), decisive=True
        )
    if address in _IPV4_COMPATIBLE and int(address) > 1:  # not :: or ::1
        return Embedded("an IPv4-compatible address", (("", low),), decisive=False)
    if address in _IPV4_TRANSLATED:
        return Embedded("an IPv4-translated address", (("", low),), decisive=False)
    return None


def address_refusal(address: IPAddress, allow_private: bool) -> str | None:
    """Pure: why a webhook may not connect to this address, or None when it may. Link-local,
    metadata, multicast and unspecified addresses are refused even when private ones are allowed;
    an IPv6 address that embeds an IPv4 one is refused for what it embeds."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = embedded_ipv4(address)
        if embedded is not None:
            for role, ipv4 in embedded.ipv4:
                reason = address_refusal(ipv4, allow_private)
                if reason:
                    return f"{embedded.form} embedding {role}{ipv4}: {reason}"
            if embedded.decisive:
                return None
        if address in _NAT64_LOCAL:
            return "a local-use NAT64 address (64:ff9b:1::/48), whose IPv4 cannot be located"
    always: list[tuple[bool, str]] = [
        (address in METADATA, METADATA.get(address, "")),
        (address.is_multicast, "a multicast address"),
        (address.is_unspecified, "an unspecified address"),
        (address.is_link_local, "a link-local address"),
    ]
    reason = next((reason for refused, reason in always if refused), None)
    if reason or allow_private:
        return reason
    checks: list[tuple[bool, str]] = [
        (address.is_loopback, "a loopback address"),
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
