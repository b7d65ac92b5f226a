"""The store's consuming stage: each batch of ``<prefix>:enriched`` is one transaction, acked after commit."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from services.contracts import STORE, EnrichedArticle
from services.runtime.runner import Item
from services.runtime.worker import StageWorker, stage_worker
from services.store.db import repository
from services.store.settings import StoreSettings


def build_worker(settings: StoreSettings, engine: AsyncEngine, redis: Redis) -> StageWorker:
    """Read the enriched stream as group ``store`` into the database; reclaim waits while it is down."""

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

    return stage_worker(settings, STORE, redis=redis, process=persist, healthy=database_answers)
