"""The feeds process wiring: the poller and the fetch stage on one Redis connection and one fetcher.

    python -m services.ingest.feeds

The poller claims due feeds and publishes their items (poller.py); the fetch stage reads
``<prefix>:fetch`` as consumer group ``fetch`` through the stream runtime (services/ingest/pages/
stage.py), so its pages are reclaimed and dead-lettered as every stage's entries are. Both publish as
ingest does and wait while its backpressure would refuse. With FEEDS_PORT set the process serves
/healthz, /readyz and /metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from redis.asyncio import Redis

from services.contracts import FETCH
from services.errors import Unavailable
from services.fetch import Fetcher
from services.ingest.feeds.poller import Poller
from services.ingest.feeds.settings import FeedsSettings
from services.ingest.guards import Backpressure
from services.ingest.pages.queue import page_queue
from services.ingest.pages.stage import PageStage
from services.ingest.publisher import Publisher
from services.runtime.connection import on_keyspace, open_redis
from services.runtime.worker import StageWorker, stage_worker
from services.web.app import service_app
from services.web.health import add_health_routes

STOP_GRACE_S = 3.0  # polls and pages in hand get this long at stop; the rest are put back or stay pending


@dataclass
class Feeds:
    """The running parts of one feeds process."""

    redis: Redis
    poller: Poller
    worker: StageWorker


def build(settings: FeedsSettings, redis: Redis, fetcher: Fetcher) -> Feeds:
    """Wire the poller and the fetch stage; ``settings`` name keys as they are named on ``redis``."""
    publisher = Publisher(
        redis,
        settings.stream_prefix,
        window=settings.dedup_window,
        buckets=settings.dedup_buckets,
        durability=settings.durability,
    )
    queue = page_queue(redis, settings)
    backpressure = Backpressure(redis, settings)
    poller = Poller(
        redis=redis,
        prefix=settings.stream_prefix,
        fetcher=fetcher,
        publisher=publisher,
        pages=queue,
        backpressure=backpressure,
        concurrency=settings.feeds_concurrency,
        fetch_timeout_s=settings.fetch_timeout_s,
    )
    # A page must be done well before a peer may reclaim it: half the claim idle time at most.
    budget = min(settings.fetch_timeout_s, settings.claim_idle_ms / 2000)
    stage = PageStage(fetcher, publisher, queue, budget, settings.max_deliveries)

    async def room() -> bool:
        try:
            await backpressure.check(settings.pages_concurrency)
        except Unavailable:
            return False
        return True

    # One batch is as many pages as are fetched at once.
    reading = settings.model_copy(update={"batch_size": settings.pages_concurrency})
    worker = stage_worker(reading, FETCH, redis=redis, process=stage, gate=room)
    return Feeds(redis, poller, worker)


@asynccontextmanager
async def running_feeds(settings: FeedsSettings) -> AsyncIterator[Feeds]:
    """Connect, then poll feeds and fetch pages until the context exits; stop within a few seconds."""
    redis = await open_redis(settings.redis_url)
    settings = on_keyspace(settings, redis)
    fetcher = Fetcher(settings)
    feeds = build(settings, redis, fetcher)
    stopping = asyncio.Event()
    await feeds.worker.start()
    polling = asyncio.create_task(feeds.poller.run(stopping), name="poll-feeds")
    try:
        yield feeds
    finally:
        stopping.set()
        with contextlib.suppress(asyncio.CancelledError):
            await polling
        await asyncio.gather(feeds.poller.stop(STOP_GRACE_S), feeds.worker.stop(STOP_GRACE_S))
        await fetcher.aclose()
        await redis.aclose()


def create_app(settings: FeedsSettings) -> FastAPI:
    """Wrap the feeds process in an HTTP app serving health and metrics."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running_feeds(settings) as feeds:
            app.state.feeds = feeds
            yield

    app = service_app("Wirestream feeds", "Health and metrics of one feed poller and page fetcher.", lifespan)
    add_health_routes(app, ready=lambda: app.state.feeds.redis.ping())
    return app
