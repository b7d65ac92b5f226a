"""Store wiring: consume ``<prefix>:enriched`` as group ``store`` into the database, serve the HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from services.asyncapi import router as asyncapi_router
from services.auth import parse_keys, protect_reads
from services.broker import make_broker
from services.contracts import STORE_GROUP, EnrichedArticle
from services.health import add_health_routes
from services.store import repository
from services.store.api import router
from services.store.db import create_engine, migrate
from services.store.dead_api import dead_router
from services.store.feed import feed_hub
from services.store.feed import router as feed_router
from services.store.settings import StoreSettings
from services.streams import Item
from services.worker import StageWorker, stage_worker


def build_worker(settings: StoreSettings, engine: AsyncEngine, redis: Redis) -> StageWorker:
    """Subscribe to the enriched stream; each batch is one transaction, acknowledged after commit."""

    async def persist(items: Sequence[Item[EnrichedArticle]]) -> None:
        async with engine.begin() as conn:
            await repository.upsert_articles(conn, batch=[i.value for i in items])

    async def database_answers() -> bool:
        try:
            async with engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except Exception:
            return False
        return True

    return stage_worker(
        settings,
        broker=make_broker(settings.redis_url),
        redis=redis,
        stage="store",
        group=STORE_GROUP,
        model=EnrichedArticle,
        process=persist,
        healthy=database_answers,
    )


def create_app(settings: StoreSettings | None = None) -> FastAPI:
    """Build the store app; the database, Redis and the consumer start in the lifespan."""
    cfg = settings or StoreSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if cfg.migrate_on_start:
            await migrate(cfg.database_url)  # locked: replicas starting together migrate once
        engine = create_engine(cfg.database_url)
        redis = Redis.from_url(cfg.redis_url)
        worker = build_worker(cfg, engine, redis)
        app.state.engine, app.state.redis = engine, redis
        await worker.start()
        app.state.feed_hub = feed_hub(cfg, redis)
        await app.state.feed_hub.start()
        try:
            yield
        finally:
            await app.state.feed_hub.stop()  # ends every open feed
            await worker.stop()
            await redis.aclose()
            await engine.dispose()

    app = FastAPI(
        title="Wirestream store",
        version="1",
        description="Enriched news articles: look up, filter and page through what the pipeline stored.",
        lifespan=lifespan,
        default_response_class=JSONResponse,
    )
    app.state.settings = cfg
    app.include_router(router)
    app.include_router(dead_router(cfg.ingest_api_keys))
    app.include_router(feed_router)
    app.include_router(asyncapi_router)
    protect_reads(app, parse_keys(cfg.read_api_keys))

    async def ready() -> None:
        await app.state.redis.ping()
        async with app.state.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    add_health_routes(app, ready=ready)
    return app
