"""Which IP addresses a fetch may connect to: public ones, unless the deployment allows internal ones.

Every address a host resolves to is vetted here, just before the connection is made to that very
address (services/fetch/network.py). Refused, whatever the setting:

- cloud metadata services (169.254.169.254, 169.254.170.2, fd00:ec2::254, 100.100.100.200): a news
  fetcher has no business there, and their answers hold credentials;
- unspecified (0.0.0.0/8, ::), multicast, and the reserved, documentation and benchmarking ranges;
- IPv6 outside global unicast (2000::/3) but for the internal ranges below.

Refused unless ``allow_private`` (FETCH_ALLOW_PRIVATE): loopback, private (RFC 1918), carrier-grade
NAT (100.64.0.0/10), link-local, IPv6 unique local (fc00::/7) and site-local.

IPv6 that carries an IPv4 address reaching it (IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``,
6to4 ``2002::/16``) is judged by that IPv4 address. Python's ``is_private`` and ``is_global`` are not
used: they differ between Python versions and call ``::127.0.0.1`` global.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Protocol

IPAddress = IPv4Address | IPv6Address

_METADATA = frozenset(
    ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
_INTERNAL: tuple[tuple[IPv4Network | IPv6Network, str], ...] = tuple(
    (ip_network(net), why)
    for net, why in (
        ("127.0.0.0/8", "loopback"),
        ("10.0.0.0/8", "private"),
        ("172.16.0.0/12", "private"),
        ("192.168.0.0/16", "private"),
        ("100.64.0.0/10", "carrier-grade NAT"),
        ("169.254.0.0/16", "link-local"),
        ("::1/128", "loopback"),
        ("fc00::/7", "unique local (private)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local (private)"),
        ("64:ff9b:1::/48", "local-use NAT64 (private)"),
    )
)
_NEVER: tuple[tuple[IPv4Network | IPv6Network, str], ...] = tuple(
    (ip_network(net), why)
    for net, why in (
        ("0.0.0.0/8", "unspecified"),
        ("192.0.0.0/24", "reserved (IETF protocol assignments)"),
        ("192.0.2.0/24", "reserved (documentation)"),
        ("198.51.100.0/24", "reserved (documentation)"),
        ("203.0.113.0/24", "reserved (documentation)"),
        ("198.18.0.0/15", "reserved (benchmarking)"),
        ("192.88.99.0/24", "reserved (6to4 relay)"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
        ("::/128", "unspecified"),
        ("::/96", "reserved (IPv4-compatible)"),
        ("100::/64", "reserved (discard)"),
        ("2001::/23", "reserved (IETF protocol assignments)"),
        ("2001:db8::/32", "reserved (documentation)"),
        ("3fff::/20", "reserved (documentation)"),
        ("ff00::/8", "multicast"),
    )
)
_GLOBAL_UNICAST = ip_network("2000::/3")
_NAT64 = ip_network("64:ff9b::/96")


class AddressPolicy(Protocol):
    """Decides whether a connection to ``address`` on ``port`` may be made."""

    def refusal(self, address: IPAddress, port: int) -> str | None:
        """Say why a connection to ``address`` is refused, or None to allow it."""
        ...


def embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address reaches through mapping, NAT64 or 6to4, if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def classify(address: IPAddress) -> tuple[str, bool] | None:
    """``(why, internal)`` for an address that is not public, else None; internal ones are the kind
    FETCH_ALLOW_PRIVATE allows."""
    if address.version == 6 and address.scope_id:  # fe80::1%eth0: judge the address, not the zone
        address = IPv6Address(str(address).split("%", 1)[0])
    if address in _METADATA:
        return "a cloud metadata address", False
    if isinstance(address, IPv6Address) and (inner := embedded_ipv4(address)) is not None:
        found = classify(inner)
        return None if found is None else (f"{found[0]}, reached as {inner}", found[1])
    for net, why in _INTERNAL:
        if address in net:
            return f"{why} ({net})", True
    for net, why in _NEVER:
        if address in net:
            return f"{why} ({net})", False
    if isinstance(address, IPv6Address) and address not in _GLOBAL_UNICAST:
        return "not global unicast (outside 2000::/3)", False
    return None


class PublicAddresses:
    """The production policy: public addresses only, plus internal ones when ``allow_private``."""

    def __init__(self, *, allow_private: bool = False) -> None:
        self.allow_private = allow_private

    def refusal(self, address: IPAddress, port: int) -> str | None:
        """Say why ``address`` is refused, or None when it is public (or internal and allowed)."""
        found = classify(address)
        if found is None or (found[1] and self.allow_private):
            return None
        why, internal = found
        return f"{why}; FETCH_ALLOW_PRIVATE=true allows it" if internal else why
