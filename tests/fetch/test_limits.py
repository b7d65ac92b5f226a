"""Bounds: read and total timeouts, the size limit while streaming, and a gzip bomb cut off early in
bounded memory."""

from __future__ import annotations

import asyncio
import struct
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator

import pytest

from services.fetch import FetchTimeout, TooLarge
from services.fetch.client import Timeouts
from tests.fetch.conftest import Open, Recording, Serve, fetch_settings
from tests.fetch.server import Reply, Seen

MiB = 1024 * 1024
BOMB_MIB = 10 * 1024  # inflates to 10 GiB
_ZEROS = bytes(MiB)


async def gzip_bomb() -> AsyncIterator[bytes]:
    """10 GiB of zeros as a gzip stream of about 10 MB, produced as it is sent: after the first MiB,
    every MiB compresses (with a full flush) to the same block, so nothing is compressed twice and
    nothing is held."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    yield deflate.compress(_ZEROS) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(_ZEROS) + deflate.flush(zlib.Z_FULL_FLUSH)
    for _ in range(BOMB_MIB - 1):
        yield block
    crc = 0  # only a client that read it all gets here: end the stream as gzip ends one
    for _ in range(BOMB_MIB):
        crc = zlib.crc32(_ZEROS, crc)
    yield b"\x03\x00" + struct.pack("<II", crc, (BOMB_MIB * MiB) & 0xFFFFFFFF)


async def test_a_gzip_bomb_is_cut_off_at_the_limit_in_bounded_memory(
    serve: Serve, open_fetcher: Open
) -> None:
    async def bomb(seen: Seen) -> Reply:
        return Reply(200, {"Content-Type": "application/xml", "Content-Encoding": "gzip"}, gzip_bomb())

    server = await serve(bomb)
    server.routes["/robots.txt"] = Reply(404)
    network = Recording()
    fetcher = open_fetcher(network=network)
    tracemalloc.start()
    try:
        with pytest.raises(TooLarge, match="over the limit of 1048576 bytes once decompressed"):
            await fetcher.fetch(server.url("/feed.xml"), max_bytes=MiB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert network.received < 256 * 1024  # of about 10 MB; 1 MiB inflates from about 1 KB
    assert peak < 4 * MiB  # the limit, one decompressed piece and the network buffers


async def test_a_body_over_the_limit_is_cut_off_while_streaming(serve: Serve, open_fetcher: Open) -> None:
    async def endless() -> AsyncIterator[bytes]:
        for _ in range(1600):  # 100 MiB, sent with no Content-Length
            yield b"x" * 65536

    async def stream(seen: Seen) -> Reply:
        return Reply(200, {"Content-Type": "text/html"}, endless())

    server = await serve(stream)
    network = Recording()
    fetcher = open_fetcher(network=network)
    with pytest.raises(TooLarge, match="over the limit of 1048576 bytes as sent"):
        await fetcher.fetch(server.url("/page"), max_bytes=MiB)
    assert network.received < 2 * MiB


async def test_a_content_length_over_the_limit_is_refused_before_the_body_is_read(
    serve: Serve, open_fetcher: Open
) -> None:
    server = await serve()
    server.routes["/big"] = Reply(200, {"Content-Type": "text/html"}, b"x" * (4 * MiB))
    network = Recording()
    fetcher = open_fetcher(fetch_settings(fetch_max_bytes=MiB), network=network)
    with pytest.raises(TooLarge, match="Content-Length 4194304 is over the limit of 1048576 bytes"):
        await fetcher.fetch(server.url("/big"))
    assert network.received < MiB


async def test_an_answer_that_never_comes_times_out_on_the_read_timeout(
    serve: Serve, open_fetcher: Open
) -> None:
    never = asyncio.Event()

    async def hang(seen: Seen) -> Reply:
        await never.wait()  # the test ends without setting it; the server's close cancels this
        return Reply()

    server = await serve(hang)
    server.routes["/robots.txt"] = Reply(404)
    fetcher = open_fetcher(timeouts=Timeouts(connect=1.0, read=0.3))
    started = time.monotonic()
    with pytest.raises(FetchTimeout, match="ReadTimeout: no answer in time"):
        await fetcher.fetch(server.url("/slow"))
    assert 0.3 <= time.monotonic() - started < 5


async def test_a_body_that_trickles_in_is_stopped_by_the_total_bound(
    serve: Serve, open_fetcher: Open
) -> None:
    async def trickle() -> AsyncIterator[bytes]:
        while True:  # a byte every 50 ms: no read ever times out
            yield b"x"
            await asyncio.sleep(0.05)

    async def slow(seen: Seen) -> Reply:
        return Reply(200, {"Content-Type": "text/html"}, trickle())

    server = await serve(slow)
    server.routes["/robots.txt"] = Reply(404)
    fetcher = open_fetcher(fetch_settings(fetch_timeout_s=1.0), timeouts=Timeouts(connect=1.0, read=5.0))
    started = time.monotonic()
    with pytest.raises(FetchTimeout, match=r"the fetch took more than 1 s"):
        await fetcher.fetch(server.url("/page"))
    assert 1.0 <= time.monotonic() - started < 5
