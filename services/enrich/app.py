"""Enrich worker wiring: read ``<prefix>:raw`` as group ``enrich``, publish to ``<prefix>:enriched``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis.asyncio import Redis

from services.contracts import ENRICH, ENRICHED_EVENT, RawArticle, enriched_stream
from services.enrich.pipeline import Enricher
from services.enrich.settings import EnrichSettings
from services.runtime import codec
from services.runtime.connection import on_keyspace, open_redis
from services.runtime.groups import Protected
from services.runtime.retention import Retention, Room
from services.runtime.runner import Item
from services.runtime.worker import StageWorker, stage_worker
from services.web.app import service_app
from services.web.health import add_health_routes


def build_worker(settings: EnrichSettings, enricher: Enricher, redis: Redis) -> StageWorker:
    """Read the raw stream as group ``enrich``; publish each batch to the enriched stream, then ack."""
    target = enriched_stream(settings.stream_prefix)

    async def enrich_and_publish(items: Sequence[Item[RawArticle]]) -> None:
        articles = await asyncio.to_thread(enricher.enrich, [i.value for i in items])
        async with redis.pipeline(transaction=False) as pipe:
            for article in articles:
                fields = codec.entry(article, event_type=ENRICHED_EVENT, correlation_id=article.id)
                pipe.xadd(target, fields)  # type: ignore[arg-type]
            await pipe.execute()

    # The enriched stream is capped by pausing here while it is full, never by trimming unread entries.
    protected = Protected.of(settings.stream_prefix, target, settings.protected)
    output = Retention(redis, target, protected, settings.stream_retention, settings.stream_maxlen)
    room = Room(output, settings.batch_size)
    return stage_worker(settings, ENRICH, redis=redis, process=enrich_and_publish, gate=room)


@asynccontextmanager
async def running_worker(settings: EnrichSettings) -> AsyncIterator[StageWorker]:
    """Load the models, connect, and consume until the context exits."""
    enricher = await asyncio.to_thread(
        Enricher, model=settings.spacy_model, batch_size=settings.nlp_batch_size
    )
    redis = await open_redis(settings.redis_url)
    worker = build_worker(on_keyspace(settings, redis), enricher, redis)
    await worker.start()
    try:
        yield worker
    finally:
        await worker.stop()
        await redis.aclose()


def create_app(settings: EnrichSettings) -> FastAPI:
    """Wrap the worker in an HTTP app serving health and metrics."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running_worker(settings) as worker:
            app.state.worker = worker
            yield

    app = service_app("Wirestream enrich", "Health and metrics of one enrich worker.", lifespan)
    add_health_routes(app, ready=lambda: app.state.worker.redis.ping())
    return app
