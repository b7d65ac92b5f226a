"""One poll of a feed against a real Redis and a loopback site: what it publishes, what its status says,
and that it publishes nothing while ingest's backpressure would refuse articles."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from services.contracts import fetch_stream, raw_stream
from services.fetch import Fetcher
from services.ingest.feeds.app import Feeds, build
from services.ingest.feeds.registry import FeedIn, FeedRegistry, FeedView
from services.ingest.feeds.schedule import Schedule
from services.ingest.feeds.settings import FeedsSettings
from tests.fetch.conftest import fetch_settings
from tests.fetch.server import Reply, Server

LONG = "The harbour reopened on Monday after the storm, the port authority said. " * 8
RSS = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Harbour News</title>
<item><title>Harbour reopens</title><link>{base}/news/1</link><description>{long}</description></item>
<item><title>Ferry delayed</title><link>{base}/news/2</link><description>Delays.</description></item>
<item><title>Broken"""
FEED = {"Content-Type": "application/rss+xml"}


@pytest.fixture
async def site() -> AsyncIterator[Server]:
    server = await Server().start()
    server.routes["/rss"] = Reply(
        200, FEED | {"ETag": '"v1"'}, RSS.format(base=server.url(""), long=LONG).encode()
    )
    yield server
    await server.close()


async def make(redis_url: str, prefix: str, **settings: Any) -> tuple[Feeds, Fetcher]:
    values = fetch_settings().model_dump() | {"redis_url": redis_url, "stream_prefix": prefix} | settings
    cfg = FeedsSettings(**values)
    fetcher = Fetcher(cfg)
    return build(cfg, Redis.from_url(redis_url), fetcher), fetcher


async def poll_once(feeds: Feeds, redis: Redis, prefix: str, url: str) -> FeedView:
    registry = FeedRegistry(redis, prefix)
    feed = await registry.add(FeedIn(url=url, interval_s=60, source="Harbour"))
    [lease] = await Schedule(redis, prefix).claim(time.time(), 1, feeds.poller.lease_s)
    await feeds.poller.poll(lease)
    return await registry.get(feed.id)


async def test_a_malformed_feed_publishes_what_it_holds_and_says_what_was_wrong(
    redis: Redis, redis_url: str, prefix: str, site: Server
) -> None:
    feeds, fetcher = await make(redis_url, prefix)
    try:
        view = await poll_once(feeds, redis, prefix, site.url("/rss"))
    finally:
        await fetcher.aclose()
        await feeds.redis.aclose()

    status = view.status
    assert (status.last_status, status.consecutive_failures, status.etag) == (200, 0, '"v1"')
    assert status.last_error is not None and "not well-formed" in status.last_error
    assert (status.items_seen, status.items_published) == (3, 2)  # the broken item is seen, skipped
    assert await redis.xlen(raw_stream(prefix)) == 1  # the long item
    assert await redis.xlen(fetch_stream(prefix)) == 1  # the teaser's page


async def test_while_backpressure_refuses_nothing_is_published_and_the_feed_comes_back_soon(
    redis: Redis, redis_url: str, prefix: str, site: Server
) -> None:
    for n in range(3):  # enrichment (whose group does not exist yet) is 3 articles behind
        await redis.xadd(raw_stream(prefix), {"__data__": f'{{"n": {n}}}'})
    feeds, fetcher = await make(redis_url, prefix, max_raw_lag=3)
    try:
        view = await poll_once(feeds, redis, prefix, site.url("/rss"))
    finally:
        await fetcher.aclose()
        await feeds.redis.aclose()

    assert await redis.xlen(raw_stream(prefix)) == 3 and await redis.xlen(fetch_stream(prefix)) == 0
    status = view.status
    assert status.last_polled_at is None and status.consecutive_failures == 0 and status.etag is None
    assert status.next_poll_at is not None
    assert 0 < status.next_poll_at.timestamp() - time.time() <= 10  # soon, not after its interval
