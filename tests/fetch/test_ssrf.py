"""With FETCH_ALLOW_PRIVATE off, internal addresses are refused before any connection to them: named
directly, through a name, after a redirect, or by a name that changes its answer (DNS rebinding)."""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from ipaddress import ip_address
from pathlib import Path

import pytest

from services.fetch import NetworkError, PublicAddresses, RefusedAddress
from services.fetch.addresses import IPAddress
from tests.fetch.conftest import Open, Recording, Serve, fetch_settings
from tests.fetch.server import Reply

OFF = fetch_settings(fetch_allow_private=False)
DATA = Path(__file__).parent / "data"  # a test CA, and a certificate it signed for news.test
LOOPBACK = ip_address("127.0.0.1")


class OnePort:
    """The production policy with one exception: 127.0.0.1 on one port, a server to start from."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._production = PublicAddresses(allow_private=False)

    def refusal(self, address: IPAddress, port: int) -> str | None:
        if address == LOOPBACK and port == self.port:
            return None
        return self._production.refusal(address, port)


class Names:
    """A resolver with fixed answers per name, each name's answers taken in turn; records lookups."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self._answers = answers
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.lookups.append(host)
        turns = self._answers.get(host, [[host]])  # an IP literal resolves to itself
        return turns.pop(0) if len(turns) > 1 else turns[0]


@pytest.mark.parametrize(
    ("url", "address", "why"),
    [
        ("http://169.254.169.254/latest/meta-data/iam/", "169.254.169.254", "a cloud metadata address"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254", "a cloud metadata address"),
        ("http://10.0.0.1/admin", "10.0.0.1", "private (10.0.0.0/8)"),
        ("http://100.64.0.1/", "100.64.0.1", "carrier-grade NAT (100.64.0.0/10)"),
        ("http://0.0.0.0:8080/", "0.0.0.0", "unspecified (0.0.0.0/8)"),
        ("http://[fe80::1]/", "fe80::1", "link-local (fe80::/10)"),
    ],
)
async def test_internal_addresses_are_refused_without_a_connection(
    open_fetcher: Open, url: str, address: str, why: str
) -> None:
    network = Recording()
    with pytest.raises(RefusedAddress) as refused:
        await open_fetcher(OFF, network=network).fetch(url)
    liftable = PublicAddresses(allow_private=True).refusal(ip_address(address), 80) is None
    hint = f"{why}; FETCH_ALLOW_PRIVATE=true allows it" if liftable else why  # names what lifts it
    assert (refused.value.address, refused.value.why, refused.value.url) == (address, hint, url)
    assert str(refused.value) == f"refused_address: {address} is {hint} ({url})"
    assert network.connected == []


async def test_loopback_in_every_spelling_is_refused_and_never_connected_to(
    serve: Serve, open_fetcher: Open
) -> None:
    v4 = await serve(host="127.0.0.1")
    v6 = await serve(host="::1")
    network = Recording()
    fetcher = open_fetcher(OFF, network=network)
    urls = [
        v4.url("/feed"),
        v6.url("/feed"),  # http://[::1]:port/feed
        f"http://[::ffff:127.0.0.1]:{v4.port}/feed",  # IPv4-mapped IPv6
        f"http://[::ffff:7f00:1]:{v4.port}/feed",
        f"http://2130706433:{v4.port}/feed",  # 127.0.0.1 as one number
        f"http://localhost:{v4.port}/feed",
    ]
    for url in urls:
        with pytest.raises(RefusedAddress, match="loopback"):
            await fetcher.fetch(url)
    assert (v4.connections, v6.connections, network.connected) == (0, 0, [])


async def test_a_redirect_to_loopback_is_refused_before_connecting(serve: Serve, open_fetcher: Open) -> None:
    allowed, forbidden = await serve(), await serve()
    allowed.routes["/robots.txt"] = Reply(404)
    allowed.routes["/story"] = Reply(302, {"Location": forbidden.url("/admin")}, b"")
    allowed.routes["/mapped"] = Reply(301, {"Location": f"http://[::ffff:127.0.0.1]:{forbidden.port}/"}, b"")
    allowed.routes["/metadata"] = Reply(307, {"Location": "http://169.254.169.254/latest/"}, b"")
    allowed.routes["/ok"] = Reply(200, {}, b"fine")
    network = Recording()
    fetcher = open_fetcher(OFF, policy=OnePort(allowed.port), network=network)

    assert (await fetcher.fetch(allowed.url("/ok"))).content == b"fine"  # the allowed server answers
    for path, why in (("/story", "loopback"), ("/mapped", "loopback"), ("/metadata", "cloud metadata")):
        with pytest.raises(RefusedAddress, match=why):
            await fetcher.fetch(allowed.url(path))
        assert len(allowed.requests(path)) == 1  # the redirect was asked for; its target was not
    assert forbidden.connections == 0
    assert {host_port for host_port in network.connected} == {("127.0.0.1", allowed.port)}


async def test_the_connection_goes_to_the_address_vetted_with_the_name_kept(
    serve: Serve, open_fetcher: Open
) -> None:
    server = await serve()
    server.routes["/robots.txt"] = Reply(404)
    server.routes["/feed"] = Reply(200, {}, b"feed")
    names = Names({"news.test": [["127.0.0.1"]]})
    network = Recording()
    fetcher = open_fetcher(OFF, policy=OnePort(server.port), resolver=names, network=network)
    assert (await fetcher.fetch(f"http://news.test:{server.port}/feed")).content == b"feed"
    assert [seen.headers["host"] for seen in server.seen] == [f"news.test:{server.port}"] * 2
    assert network.connected == [("127.0.0.1", server.port)] * 2  # to the vetted IP, never the name
    assert names.lookups == ["news.test"] * 2  # once per connection, no second lookup to race


async def test_a_name_that_rebinds_to_a_forbidden_address_is_refused_at_that_connection(
    serve: Serve, open_fetcher: Open
) -> None:
    server = await serve()
    server.routes["/robots.txt"] = Reply(404)
    elsewhere = await serve(host="127.0.0.2", port=server.port)  # where the second answer points
    names = Names({"rebind.test": [["127.0.0.1"], ["127.0.0.2"]]})
    network = Recording()
    fetcher = open_fetcher(OFF, policy=OnePort(server.port), resolver=names, network=network)
    with pytest.raises(RefusedAddress, match=r"127\.0\.0\.2 is loopback"):
        await fetcher.fetch(f"http://rebind.test:{server.port}/feed")
    assert [s.path for s in server.seen] == ["/robots.txt"]  # the first answer served robots.txt
    assert elsewhere.connections == 0
    assert network.connected == [("127.0.0.1", server.port)]


async def test_a_name_with_one_forbidden_answer_among_others_is_refused_whole(
    serve: Serve, open_fetcher: Open
) -> None:
    server = await serve()
    names = Names({"mixed.test": [["127.0.0.1", "10.0.0.7"]]})
    network = Recording()
    fetcher = open_fetcher(OFF, policy=OnePort(server.port), resolver=names, network=network)
    with pytest.raises(RefusedAddress, match=r"10\.0\.0\.7 is private"):
        await fetcher.fetch(f"http://mixed.test:{server.port}/feed")
    assert (server.connections, network.connected) == (0, [])


async def test_allowing_private_addresses_opens_loopback_but_never_metadata(
    serve: Serve, open_fetcher: Open
) -> None:
    server = await serve()
    server.routes["/robots.txt"] = Reply(404)
    server.routes["/feed"] = Reply(200, {}, b"feed")
    fetcher = open_fetcher(fetch_settings(fetch_allow_private=True))
    assert (await fetcher.fetch(server.url("/feed"))).content == b"feed"
    with pytest.raises(RefusedAddress, match="cloud metadata"):
        await fetcher.fetch("http://169.254.169.254/latest/meta-data/")


async def test_https_to_the_vetted_address_still_checks_the_name(serve: Serve, open_fetcher: Open) -> None:
    # The certificate names news.test only: TLS succeeds only if SNI and the check use the name.
    asked_for: list[str | None] = []
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(DATA / "news.test.pem")
    tls.sni_callback = lambda _socket, name, _context: asked_for.append(name)  # type: ignore[assignment,func-returns-value]
    server = await serve(tls=tls)
    server.routes["/robots.txt"] = Reply(404)
    server.routes["/feed"] = Reply(200, {}, b"secure feed")
    trust = ssl.create_default_context(cafile=DATA / "test-ca.pem")
    names = Names({"news.test": [["127.0.0.1"]]})
    network = Recording()
    fetcher = open_fetcher(OFF, policy=OnePort(server.port), resolver=names, network=network, verify=trust)

    assert (await fetcher.fetch(f"https://news.test:{server.port}/feed")).content == b"secure feed"
    assert asked_for == ["news.test", "news.test"]  # robots.txt and the feed
    assert network.connected == [("127.0.0.1", server.port)] * 2
    with pytest.raises(NetworkError, match=r"robots\.txt: ConnectError: .*certificate verify failed"):
        await fetcher.fetch(f"https://127.0.0.1:{server.port}/feed")  # the address is not the name


async def test_proxies_from_the_environment_are_not_used(
    serve: Serve, open_fetcher: Open, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A proxy would resolve names itself, past the vetting; none is taken from the environment.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    server = await serve()
    server.routes["/feed"] = Reply(200, {}, b"direct")
    fetcher = open_fetcher(fetch_settings(fetch_allow_private=True))
    assert (await fetcher.fetch(server.url("/feed"))).content == b"direct"
