"""Which addresses a fetch may reach: public ones; internal ones only when allowed; some never."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from services.fetch.addresses import PublicAddresses

PUBLIC = ["93.184.215.14", "8.8.8.8", "1.1.1.1", "2606:4700::1111", "2a00:1450:4001:82a::200e"]
INTERNAL = {
    "127.0.0.1": "loopback",
    "127.255.0.9": "loopback",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "172.31.255.255": "private",
    "192.168.1.1": "private",
    "100.64.0.1": "carrier-grade NAT",
    "169.254.1.1": "link-local",
    "::1": "loopback",
    "fc00::1": "unique local",
    "fd12:3456::1": "unique local",
    "fe80::1": "link-local",
    "fe80::1%1": "link-local",
    "::ffff:127.0.0.1": "reached as 127.0.0.1",
    "::ffff:10.0.0.1": "reached as 10.0.0.1",
    "64:ff9b::a00:1": "reached as 10.0.0.1",
    "2002:c0a8:101::1": "reached as 192.168.1.1",
}
NEVER = {
    "169.254.169.254": "cloud metadata",
    "169.254.170.2": "cloud metadata",
    "fd00:ec2::254": "cloud metadata",
    "100.100.100.200": "cloud metadata",
    "::ffff:169.254.169.254": "cloud metadata",
    "0.0.0.0": "unspecified",
    "0.1.2.3": "unspecified",
    "::": "unspecified",
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "ff02::1": "multicast",
    "255.255.255.255": "reserved",
    "240.0.0.1": "reserved",
    "192.0.2.1": "documentation",
    "2001:db8::1": "documentation",
    "198.18.0.1": "benchmarking",
    "::127.0.0.1": "IPv4-compatible",
    "2001::1": "IETF protocol assignments",  # Teredo
    "100::1": "discard",
    "4000::1": "not global unicast",
}


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert PublicAddresses().refusal(ip_address(address), 443) is None


@pytest.mark.parametrize(("address", "why"), INTERNAL.items())
def test_internal_addresses_are_refused_unless_allowed(address: str, why: str) -> None:
    refusal = PublicAddresses().refusal(ip_address(address), 80)
    assert refusal is not None
    assert why in refusal
    assert PublicAddresses(allow_private=True).refusal(ip_address(address), 80) is None


@pytest.mark.parametrize(("address", "why"), NEVER.items())
def test_metadata_multicast_unspecified_and_reserved_are_refused_even_when_private_is_allowed(
    address: str, why: str
) -> None:
    for policy in (PublicAddresses(), PublicAddresses(allow_private=True)):
        refusal = policy.refusal(ip_address(address), 80)
        assert refusal is not None
        assert why in refusal


def test_an_ipv6_address_carrying_a_public_ipv4_is_judged_by_it() -> None:
    for address in ("::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"):
        assert PublicAddresses().refusal(ip_address(address), 80) is None
