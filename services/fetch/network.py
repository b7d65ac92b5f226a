"""Connections that go only where the address policy allows: resolve once, vet, connect to that IP.

httpcore asks its network backend for a TCP stream to ``(host, port)``; this backend resolves the host
itself, vets every address it resolved to, and connects to one of those very addresses. No second
lookup happens between the check and the connection, so a name that answers a public address to the
check and a private one to the connection (DNS rebinding) has no moment to do it. The hostname still
goes everywhere it belongs: httpcore puts it in the Host header and uses it for TLS (SNI and the
certificate check), because they come from the request's URL, not from the stream.

A host that resolves to any forbidden address is refused whole: a mix of public and private answers is
the mark of a rebinding attempt, and trying only the public ones would make the result depend on luck.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from ipaddress import ip_address

import anyio
import httpcore

from services.fetch.addresses import AddressPolicy, IPAddress
from services.fetch.errors import FetchTimeout, NetworkError, RefusedAddress

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""Resolves ``(host, port)`` to IP addresses as text; an IP literal resolves to itself."""


async def system_resolver(host: str, port: int) -> list[str]:
    """The system's resolver (getaddrinfo), each address once, in its order."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class VettingBackend(httpcore.AsyncNetworkBackend):
    """A network backend that connects only to resolved addresses the policy allows."""

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        resolver: Resolver = system_resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def vetted(self, host: str, port: int, within: float | None = None) -> list[IPAddress]:
        """Resolve ``host`` once and return its addresses, or refuse if any of them is forbidden."""
        where = ""  # the fetcher fills in the URL it was fetching
        try:
            async with asyncio.timeout(within):
                answers = await self._resolver(host, port)
        except TimeoutError:
            raise FetchTimeout(where, f"resolving {host} took more than {within:g} s") from None
        except OSError as exc:
            raise NetworkError(where, f"cannot resolve {host}: {exc}") from None
        addresses = [ip_address(answer) for answer in answers]
        if not addresses:
            raise NetworkError(where, f"{host} resolves to no address")
        for address in addresses:
            if (why := self._policy.refusal(address, port)) is not None:
                raise RefusedAddress(where, str(address), why)
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect to the first vetted address of ``host`` that answers."""
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in await self.vetted(host, port, timeout):
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # vetted() returns at least one address
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Refuse: a fetch never goes to a local socket."""
        raise RefusedAddress("", path, "a Unix socket")

    async def sleep(self, seconds: float) -> None:
        """Sleep as the inner backend does."""
        await self._inner.sleep(seconds)
