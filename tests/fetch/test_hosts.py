"""Politeness per host, as the server saw it: requests spaced by the delay, a few at a time."""

from __future__ import annotations

import asyncio
import itertools

from tests.fetch.conftest import Open, Serve, fetch_settings
from tests.fetch.server import Reply, Seen


async def test_requests_to_one_host_are_the_delay_apart(serve: Serve, open_fetcher: Open) -> None:
    server = await serve()
    server.routes["/robots.txt"] = Reply(404)
    for n in range(4):
        server.routes[f"/{n}"] = Reply(200, {}, b"ok")
    fetcher = open_fetcher(fetch_settings(fetch_host_delay_s=0.25, fetch_host_concurrency=1))
    await asyncio.gather(*(fetcher.fetch(server.url(f"/{n}")) for n in range(4)))
    arrivals = sorted(seen.arrived for seen in server.seen)
    assert len(arrivals) == 5  # robots.txt and four pages: all count
    # Each request starts the delay after the one before ended, so after it arrived, however slow
    # the machine: the server sees them at least the delay apart.
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert min(gaps) >= 0.25, gaps


async def test_each_host_has_its_own_turns(serve: Serve, open_fetcher: Open) -> None:
    servers = [await serve(host="127.0.0.1"), await serve(host="127.0.0.2")]
    for server in servers:
        server.routes["/robots.txt"] = Reply(404)
        server.routes["/a"] = Reply(200, {}, b"a")
    fetcher = open_fetcher(fetch_settings(fetch_host_delay_s=0.5))
    await asyncio.gather(*(fetcher.fetch(server.url("/a")) for server in servers))
    (robots_1, page_1), (robots_2, page_2) = ([s.arrived for s in server.seen] for server in servers)
    assert page_1 - robots_1 >= 0.5  # each host waited for itself
    assert page_2 - robots_2 >= 0.5
    assert robots_2 < page_1  # and neither for the other
    assert robots_1 < page_2


async def test_no_more_than_the_concurrency_is_open_at_once(serve: Serve, open_fetcher: Open) -> None:
    open_now = most = 0

    async def work(seen: Seen) -> Reply:
        nonlocal open_now, most
        open_now += 1
        most = max(most, open_now)
        await asyncio.sleep(0.05)  # the server's work: requests overlap unless held back
        open_now -= 1
        return Reply(200, {}, b"ok")

    server = await serve(work)
    server.routes["/robots.txt"] = Reply(404)
    fetcher = open_fetcher(fetch_settings(fetch_host_concurrency=2))
    await asyncio.gather(*(fetcher.fetch(server.url(f"/{n}")) for n in range(8)))
    assert most == 2
    assert len(server.seen) == 9
