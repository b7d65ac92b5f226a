"""robots.txt: read through the same safe path, honoured, cached per origin for its TTL."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from services.fetch import RetryLater, RobotsDisallowed
from tests.fetch.conftest import Open, Serve, fetch_settings
from tests.fetch.server import Reply

ROBOTS = b"""User-agent: *
Disallow: /private
Allow: /private/open

User-agent: OtherBot
Disallow: /
"""


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_disallowed_urls_are_refused_and_robots_txt_is_read_once_per_ttl(
    serve: Serve, open_fetcher: Open
) -> None:
    server = await serve()
    server.routes["/robots.txt"] = Reply(200, {"Content-Type": "text/plain"}, ROBOTS)
    for path in ("/news", "/private/open", "/private/secret"):
        server.routes[path] = Reply(200, {}, b"ok")
    clock = Clock()
    fetcher = open_fetcher(robots_ttl=600.0, clock=clock)

    assert (await fetcher.fetch(server.url("/news"))).content == b"ok"
    assert (await fetcher.fetch(server.url("/private/open"))).content == b"ok"
    with pytest.raises(RobotsDisallowed, match=r"robots\.txt disallows it for 'WirestreamTest/1\.0'"):
        await fetcher.fetch(server.url("/private/secret"))
    assert server.requests("/private/secret") == []  # refused without asking
    assert len(server.requests("/robots.txt")) == 1  # cached

    clock.now += 599
    await fetcher.fetch(server.url("/news"))
    assert len(server.requests("/robots.txt")) == 1
    clock.now += 2  # the TTL ran out: read again, and the new rules apply
    server.routes["/robots.txt"] = Reply(200, {}, b"User-agent: *\nDisallow: /news\n")
    with pytest.raises(RobotsDisallowed):
        await fetcher.fetch(server.url("/news"))
    assert len(server.requests("/robots.txt")) == 2


async def test_concurrent_fetches_share_one_read_of_robots_txt(serve: Serve, open_fetcher: Open) -> None:
    server = await serve()
    server.routes["/robots.txt"] = Reply(200, {}, ROBOTS)
    server.routes["/a"] = Reply(200, {}, b"a")
    fetcher = open_fetcher()
    results = await asyncio.gather(*(fetcher.fetch(server.url("/a")) for _ in range(5)))
    assert [r.content for r in results] == [b"a"] * 5
    assert len(server.requests("/robots.txt")) == 1


async def test_the_rules_for_our_user_agent_apply(serve: Serve, open_fetcher: Open) -> None:
    server = await serve()
    server.routes["/robots.txt"] = Reply(200, {}, b"User-agent: WirestreamTest\nDisallow: /\n")
    server.routes["/a"] = Reply(200, {}, b"a")
    with pytest.raises(RobotsDisallowed):
        await open_fetcher().fetch(server.url("/a"))


@pytest.mark.parametrize("status", [404, 403, 410])
async def test_a_missing_robots_txt_allows_all(serve: Serve, open_fetcher: Open, status: int) -> None:
    server = await serve()
    server.routes["/robots.txt"] = Reply(status, {}, b"")
    server.routes["/a"] = Reply(200, {}, b"a")
    assert (await open_fetcher().fetch(server.url("/a"))).content == b"a"


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_a_failing_robots_txt_stops_the_fetch_with_its_transient_error(
    serve: Serve, open_fetcher: Open, status: int
) -> None:
    server = await serve()
    server.routes["/robots.txt"] = Reply(status, {"Retry-After": "60"}, b"")
    server.routes["/a"] = Reply(200, {}, b"a")
    fetcher = open_fetcher()
    expected = rf"retry_later: robots\.txt: HTTP {status}, retry after 60 s \(http://\S+/a\)"
    with pytest.raises(RetryLater, match=expected):
        await fetcher.fetch(server.url("/a"))
    assert server.requests("/a") == []
    server.routes["/robots.txt"] = Reply(404)  # not cached: asked again, and now the page is fetched
    assert (await fetcher.fetch(server.url("/a"))).content == b"a"
    assert len(server.requests("/robots.txt")) == 2


async def test_robots_txt_is_followed_through_redirects_and_read_per_origin(
    serve: Serve, open_fetcher: Open
) -> None:
    site, cdn = await serve(), await serve()
    site.routes["/robots.txt"] = Reply(301, {"Location": cdn.url("/site-robots.txt")}, b"")
    cdn.routes["/site-robots.txt"] = Reply(200, {}, b"User-agent: *\nDisallow: /drafts\n")
    cdn.routes["/robots.txt"] = Reply(200, {}, b"User-agent: *\nDisallow: /\n")
    site.routes["/story"] = Reply(302, {"Location": cdn.url("/story")}, b"")
    fetcher = open_fetcher()
    with pytest.raises(RobotsDisallowed):
        await fetcher.fetch(site.url("/drafts/1"))
    with pytest.raises(RobotsDisallowed, match=r"\(http://127.0.0.1:\d+/story\)"):  # cdn's own rules
        await fetcher.fetch(site.url("/story"))
    assert len(site.requests("/story")) == 1
    assert cdn.requests("/story") == []


async def test_a_large_robots_txt_is_read_up_to_500_kib(serve: Serve, open_fetcher: Open) -> None:
    server = await serve()
    padding = b"# " + b"x" * 1024 + b"\n"
    server.routes["/robots.txt"] = Reply(
        200, {}, b"User-agent: *\nDisallow: /early\n" + padding * 600 + b"Disallow: /late\n"
    )
    server.routes["/late"] = Reply(200, {}, b"late")
    fetcher = open_fetcher()
    with pytest.raises(RobotsDisallowed):
        await fetcher.fetch(server.url("/early"))
    assert (await fetcher.fetch(server.url("/late"))).content == b"late"  # past 500 KiB: not read


async def test_a_crawl_delay_longer_than_the_setting_spaces_requests_to_the_site(
    serve: Serve, open_fetcher: Open
) -> None:
    server = await serve()
    server.routes["/robots.txt"] = Reply(200, {}, b"User-agent: *\nCrawl-delay: 0.3\n")
    for n in range(3):
        server.routes[f"/{n}"] = Reply(200, {}, b"ok")
    fetcher = open_fetcher(fetch_settings(fetch_host_delay_s=0.0, fetch_host_concurrency=1))
    await asyncio.gather(*(fetcher.fetch(server.url(f"/{n}")) for n in range(3)))
    pages = sorted(seen.arrived for seen in server.seen if seen.path != "/robots.txt")
    gaps = [later - earlier for earlier, later in itertools.pairwise(pages)]
    assert min(gaps) >= 0.3, gaps
