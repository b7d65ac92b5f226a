"""Ingest's HTTP app: the routes of routes.py over one Redis connection, errors answered one way."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis.exceptions import RedisError

from services import metrics
from services.errors import RequestError
from services.ingest.feeds.routes import feeds_router
from services.ingest.routes import Ingest, ingest_router
from services.ingest.settings import IngestSettings
from services.runtime.connection import Once
from services.runtime.retention import trim_forever
from services.web.app import service_app
from services.web.errors import add_error_handler
from services.web.health import add_health_routes

RECONNECT_S = 1.0  # how often the trimmer tries Redis again while it is down


def _count(exc: RequestError) -> None:
    metrics.REFUSED.labels(status=str(exc.status)).inc()


async def _trim_raw(connection: Once[Ingest], stopping: asyncio.Event) -> None:
    """Trim acknowledged raw entries even while no enrich worker runs, so the cap holds room."""
    while (ingest := connection.value) is None and not stopping.is_set():
        with contextlib.suppress(RedisError, OSError):
            ingest = await connection.get()
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), RECONNECT_S)
    if ingest is not None:
        await trim_forever(ingest.retention, stopping)


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    """Build the ingest app; Redis is connected in the lifespan."""
    cfg = settings or IngestSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Connected on first use: while Redis is down, requests are answered 503 and retried later.
        app.state.ingest = connection = Once(lambda: Ingest.connect(cfg))
        stopping = asyncio.Event()
        trimmer = asyncio.create_task(_trim_raw(connection, stopping), name="trim-raw")
        try:
            yield
        finally:
            stopping.set()
            await trimmer
            if connection.value is not None:
                await connection.value.redis.aclose()

    app = service_app(
        "Wirestream ingest",
        "Post news articles; each is published once to the raw stream for enrichment.",
        lifespan,
    )
    app.include_router(ingest_router(cfg))
    app.include_router(feeds_router(cfg))
    add_error_handler(app, count=_count, unavailable="nothing was published")

    async def ready() -> None:
        ingest = await app.state.ingest.get()
        await ingest.redis.ping()

    add_health_routes(app, ready=ready)
    return app
