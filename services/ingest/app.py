"""Ingest's HTTP app: the routes of routes.py over one Redis connection, errors answered one way."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services import metrics
from services.errors import RequestError
from services.ingest.routes import Ingest, ingest_router
from services.ingest.settings import IngestSettings
from services.runtime.retention import trim_forever
from services.web.app import service_app
from services.web.errors import add_error_handler
from services.web.health import add_health_routes


def _count(exc: RequestError) -> None:
    metrics.REFUSED.labels(status=str(exc.status)).inc()


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    """Build the ingest app; Redis is connected in the lifespan."""
    cfg = settings or IngestSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.ingest = ingest = Ingest.connect(cfg)
        # Acknowledged raw entries are trimmed even while no enrich worker runs, so the cap holds room.
        stopping = asyncio.Event()
        trimmer = asyncio.create_task(trim_forever(ingest.retention, stopping), name="trim-raw")
        try:
            yield
        finally:
            stopping.set()
            await trimmer
            await ingest.redis.aclose()

    app = service_app(
        "Wirestream ingest",
        "Post news articles; each is published once to the raw stream for enrichment.",
        lifespan,
    )
    app.include_router(ingest_router(cfg))
    add_error_handler(app, count=_count, unavailable="nothing was published")
    add_health_routes(app, ready=lambda: app.state.ingest.redis.ping())
    return app
