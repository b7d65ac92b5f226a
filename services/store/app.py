"""Store wiring: consume ``<prefix>:enriched`` as group ``store`` into the database, serve the HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from services.broker import consumer_name, make_broker
from services.contracts import STORE_GROUP, EnrichedArticle, dead_stream, enriched_stream
from services.health import add_health_routes
from services.store import repository
from services.store.api import router
from services.store.db import create_engine, init_schema
from services.store.settings import StoreSettings
from services.streams import Item, StageRunner
from services.worker import StageWorker


def build_worker(settings: StoreSettings, engine: AsyncEngine, redis: Redis) -> StageWorker:
    """Subscribe to the enriched stream; each batch is one transaction, acknowledged after commit."""

    async def persist(items: Sequence[Item[EnrichedArticle]]) -> None:
        async with engine.begin() as conn:
            await repository.upsert_articles(conn, batch=[i.value for i in items])

    runner: StageRunner[EnrichedArticle] = StageRunner(
        redis=redis,
        stream=enriched_stream(settings.stream_prefix),
        group=STORE_GROUP,
        consumer=consumer_name(settings.consumer_name),
        dead_stream=dead_stream(settings.stream_prefix),
        stage="store",
        model=EnrichedArticle,
        process=persist,
        max_deliveries=settings.max_deliveries,
        dead_maxlen=settings.stream_maxlen,
    )
    return StageWorker(make_broker(settings.redis_url), runner, settings)


def create_app(settings: StoreSettings | None = None) -> FastAPI:
    """Build the store app; the database, Redis and the consumer start in the lifespan."""
    cfg = settings or StoreSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(cfg.database_url)
        redis = Redis.from_url(cfg.redis_url)
        await init_schema(engine)
        worker = build_worker(cfg, engine, redis)
        app.state.engine, app.state.redis = engine, redis
        await worker.start()
        try:
            yield
        finally:
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

    async def ready() -> None:
        await app.state.redis.ping()
        async with app.state.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    add_health_routes(app, ready=ready)
    return app
