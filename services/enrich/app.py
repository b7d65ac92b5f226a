"""Enrich worker wiring: read ``<prefix>:raw`` as group ``enrich``, publish to ``<prefix>:enriched``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI
from faststream.redis import RedisBroker, StreamSub
from redis.asyncio import Redis

from services.broker import make_broker
from services.contracts import (
    ENRICH_GROUP,
    ENRICHED_EVENT,
    EnrichedArticle,
    RawArticle,
    enriched_stream,
)
from services.enrich.pipeline import Enricher
from services.enrich.settings import EnrichSettings
from services.health import add_health_routes
from services.streams import Item
from services.worker import StageWorker, stage_worker


def build_worker(
    settings: EnrichSettings, enricher: Enricher, broker: RedisBroker, redis: Redis
) -> StageWorker:
    """Register the raw-stream subscriber and the enriched-stream publisher on ``broker``."""
    publisher = broker.publisher(
        stream=StreamSub(enriched_stream(settings.stream_prefix), maxlen=settings.stream_maxlen),
        schema=EnrichedArticle,
        title=enriched_stream(settings.stream_prefix),
        description="Every article with its entities, topics, keywords, tags and language.",
    )

    async def enrich_and_publish(items: Sequence[Item[RawArticle]]) -> None:
        articles = await asyncio.to_thread(enricher.enrich, [i.value for i in items])
        async with redis.pipeline(transaction=False) as pipe:
            for article in articles:
                await publisher.publish(
                    article, headers={"event_type": ENRICHED_EVENT}, correlation_id=article.id, pipeline=pipe
                )
            await pipe.execute()

    return stage_worker(
        settings,
        broker=broker,
        redis=redis,
        stage="enrich",
        group=ENRICH_GROUP,
        model=RawArticle,
        process=enrich_and_publish,
    )


@asynccontextmanager
async def running_worker(settings: EnrichSettings) -> AsyncIterator[StageWorker]:
    """Load the models, connect, and consume until the context exits."""
    enricher = await asyncio.to_thread(
        Enricher, model=settings.spacy_model, batch_size=settings.nlp_batch_size
    )
    redis = Redis.from_url(settings.redis_url)
    worker = build_worker(settings, enricher, make_broker(settings.redis_url), redis)
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

    app = FastAPI(title="Wirestream enrich", version="1", lifespan=lifespan)
    add_health_routes(app, ready=lambda: app.state.worker.redis.ping())
    return app
