"""Store wiring: the consumer of ``<prefix>:enriched``, the HTTP API, the live feed and the AsyncAPI page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from fastapi import FastAPI

from services.runtime.connection import on_keyspace, open_redis
from services.store.api.articles import router
from services.store.api.asyncapi import router as asyncapi_router
from services.store.api.dead import dead_router
from services.store.api.deps import StoreState
from services.store.consumer import build_worker
from services.store.db.engine import create_engine, migrate
from services.store.feed.routes import feed_hub
from services.store.feed.routes import router as feed_router
from services.store.settings import StoreSettings
from services.web.app import service_app
from services.web.auth import parse_keys, protect_reads
from services.web.errors import add_error_handler
from services.web.health import add_health_routes


def create_app(settings: StoreSettings | None = None) -> FastAPI:
    """Build the store app; the database, Redis, the consumer and the feed start in the lifespan."""
    cfg = settings or StoreSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if cfg.migrate_on_start:
            await migrate(cfg.database_url)  # locked: replicas starting together migrate once
        redis = await open_redis(cfg.redis_url)
        live = on_keyspace(cfg, redis)
        engine = create_engine(cfg.database_url)
        store = StoreState(settings=live, engine=engine, redis=redis, feed_hub=feed_hub(live, redis))
        worker = build_worker(live, engine, redis)
        app.state.store = store
        await worker.start()
        await store.feed_hub.start()
        try:
            yield
        finally:
            await store.feed_hub.stop()  # ends every open feed
            await worker.stop()
            await redis.aclose()
            await engine.dispose()

    app = service_app(
        "Wirestream store",
        "Enriched news articles: look up, filter and page through what the pipeline stored.",
        lifespan,
    )
    for routes in (router, dead_router(cfg.ingest_api_keys), feed_router, asyncapi_router):
        app.include_router(routes)
    protect_reads(app, parse_keys(cfg.read_api_keys))
    add_error_handler(app)

    async def ready() -> None:
        store: StoreState = app.state.store
        await store.redis.ping()
        async with store.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    add_health_routes(app, ready=ready)
    return app
