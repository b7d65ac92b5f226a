"""Fixtures of the fetch tests: loopback servers, and fetchers that are closed after the test."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import httpcore
import pytest

from services.fetch import Fetcher, FetchSettings
from tests.fetch.server import Handler, Server

Serve = Callable[..., Awaitable[Server]]
Open = Callable[..., Fetcher]


def fetch_settings(**overrides: Any) -> FetchSettings:
    """Settings for a test: loopback allowed, no delay between requests, short timeouts."""
    values: dict[str, Any] = {
        "fetch_allow_private": True,
        "fetch_host_delay_s": 0.0,
        "fetch_host_concurrency": 4,
        "fetch_timeout_s": 10.0,
        "fetch_user_agent": "WirestreamTest/1.0",
    }
    return FetchSettings(**(values | overrides))


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start a loopback server (``serve(handler, host=..., port=..., tls=...)``); each is closed after
    the test."""
    servers: list[Server] = []

    async def start(handler: Handler | None = None, **where: Any) -> Server:
        server = await Server(handler, **where).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


@pytest.fixture
async def open_fetcher() -> AsyncIterator[Open]:
    """Make a Fetcher (``open_fetcher(settings=..., **kwargs)``); each is closed after the test."""
    fetchers: list[Fetcher] = []

    def make(settings: FetchSettings | None = None, **kwargs: Any) -> Fetcher:
        fetcher = Fetcher(settings or fetch_settings(), **kwargs)
        fetchers.append(fetcher)
        return fetcher

    yield make
    for fetcher in fetchers:
        await fetcher.aclose()


class Recording(httpcore.AsyncNetworkBackend):
    """The network under the vetting backend: records every connection made and counts bytes read."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()
        self.connected: list[tuple[str, int]] = []
        self.received = 0

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append((host, port))
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _Counting(stream, self)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _Counting(httpcore.AsyncNetworkStream):
    def __init__(self, stream: httpcore.AsyncNetworkStream, record: Recording) -> None:
        self._stream = stream
        self._record = record

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        data = await self._stream.read(max_bytes, timeout)
        self._record.received += len(data)
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._stream.start_tls(ssl_context, server_hostname, timeout)
        return _Counting(stream, self._record)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)
