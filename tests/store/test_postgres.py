"""What only PostgreSQL does: the stored search vector, the migration lock and concurrent upserts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.contracts import EnrichedArticle
from services.store.db import aggregates, repository
from services.store.db import engine as db
from services.store.db.repository import ArticleQuery
from services.store.settings import StoreSettings
from tests.factories import enriched_article, entity
from tests.store.conftest import running_store


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[AsyncEngine]:
    engine = db.create_engine(pg_url)
    yield engine
    await engine.dispose()


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def search(engine: AsyncEngine, text: str) -> list[str]:
    async with engine.connect() as conn:
        items, _ = await repository.list_articles(conn, query=ArticleQuery(q=text))
    return [item.id for item in items]


async def test_the_search_vector_is_written_by_the_store_and_served_by_a_gin_index(pg: AsyncEngine) -> None:
    article = enriched_article(
        title="Glacier retreats", summary="Ice loss speeds up.", body="Meltwater rose."
    )
    async with pg.begin() as conn:
        await repository.upsert_articles(conn, batch=[article])
        generated = await conn.execute(
            sa.text(
                "SELECT attgenerated::text FROM pg_attribute"
                " WHERE attrelid = 'articles'::regclass AND attname = 'search'"
            )
        )
        weights = (await conn.execute(sa.text("SELECT search::text FROM articles"))).scalar_one()
        await conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            (
                await conn.execute(
                    sa.text("EXPLAIN SELECT id FROM articles WHERE search @@ CAST('glacier' AS tsquery)")
                )
            ).scalars()
        )

    assert (
        generated.scalar_one() == ""
    )  # a plain column: the store writes its terms (services.store.db.terms)
    # Title, summary and body weigh A, B and C; one unused position between fields keeps phrases apart.
    assert {"'glacier':1A", "'ice':4B", "'meltwat':9C"} <= set(weights.split())
    assert "ix_articles_search" in plan


async def test_a_body_longer_than_the_index_cap_is_stored_and_its_start_searchable(pg: AsyncEngine) -> None:
    words = [f"w{i}x" for i in range(60_000)]  # about 390,000 characters
    article = enriched_article(title="Long read", body="aardvark " + " ".join(words) + " zebrafinch")
    async with pg.begin() as conn:
        assert await repository.upsert_articles(conn, batch=[article]) == [article.id]

    assert await search(pg, "aardvark") == [article.id]
    assert await search(pg, "zebrafinch") == []  # past the first 16,000 terms: not indexed
    async with pg.connect() as conn:
        assert (await repository.get_article(conn, article_id=article.id)).body.endswith("zebrafinch")  # type: ignore[union-attr]


@pytest.mark.parametrize("first", ["newer", "older"])
async def test_concurrent_upserts_of_one_article_keep_the_newer_enrichment(
    pg: AsyncEngine, first: str
) -> None:
    older = enriched_article(title="Older headline")
    newer = older.model_copy(
        update={"title": "Newer headline", "enriched_at": older.enriched_at + timedelta(hours=1)}
    )
    a, b = (newer, older) if first == "newer" else (older, newer)

    async with pg.connect() as one, pg.connect() as two:
        await one.begin()
        await repository.upsert_articles(one, batch=[a])
        second = asyncio.create_task(_upsert_in(two, b))  # blocks on the first transaction's row lock
        await _wait_for_lock_wait(pg)
        await one.commit()
        await second

    assert await search(pg, "headline") == [older.id]
    async with pg.connect() as conn:
        assert (await repository.get_article(conn, article_id=older.id)).title == "Newer headline"  # type: ignore[union-attr]


async def test_concurrent_writers_of_one_counter_take_turns(pg: AsyncEngine) -> None:
    first = enriched_article(entities=[entity("Shared Name")], tags=["Shared"])
    second = enriched_article(entities=[entity("Shared Name")], tags=["Shared"])

    async with pg.connect() as one, pg.connect() as two:
        await one.begin()
        await repository.upsert_articles(one, batch=[first])
        waiting = asyncio.create_task(_upsert_in(two, second))  # blocks on the counter row lock
        await _wait_for_lock_wait(pg)
        await one.commit()
        await waiting

    async with pg.connect() as conn:
        assert await aggregates.top_entities(conn) == [
            {"name": "Shared Name", "type": "PERSON", "articles": 2}
        ]
        assert await aggregates.top_tags(conn) == [{"name": "Shared", "articles": 2}]


async def _upsert_in(conn: AsyncConnection, article: EnrichedArticle) -> None:
    async with conn.begin():
        await repository.upsert_articles(conn, batch=[article])


async def _wait_for_lock_wait(engine: AsyncEngine, what: str = "transactionid") -> None:
    """Poll until some session of this database waits on a lock of this kind, or fail after 10 s."""
    deadline = time.monotonic() + 10
    async with engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = await conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                    " WHERE NOT l.granted AND l.locktype = :kind AND a.datname = current_database()"
                ),
                {"kind": what},
            )
            if waiting.scalar_one():
                return
            await conn.rollback()
            await asyncio.sleep(0)  # yield to the task being waited on; no fixed delay
    raise AssertionError(f"no session started waiting on a {what} lock within 10 s")


async def test_a_migration_waits_for_the_one_holding_the_lock(empty_pg_url: str) -> None:
    holder = await asyncpg.connect(_dsn(empty_pg_url))
    engine = db.create_engine(empty_pg_url)
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", db.MIGRATION_LOCK)
        migration = asyncio.create_task(db.migrate(empty_pg_url))
        await _wait_for_lock_wait(engine, "advisory")
        async with engine.connect() as conn:
            assert not await conn.run_sync(lambda c: sa.inspect(c).has_table("articles"))

        await holder.execute("SELECT pg_advisory_unlock($1)", db.MIGRATION_LOCK)
        await migration

        async with engine.connect() as conn:
            assert await conn.run_sync(lambda c: sa.inspect(c).has_table("articles"))
    finally:
        await holder.close()
        await engine.dispose()


async def test_the_store_runs_on_postgres_from_a_plain_postgresql_url(
    pg_url: str, redis_url: str, prefix: str, redis: Redis
) -> None:
    plain = _dsn(pg_url)
    assert plain.startswith("postgresql://")
    settings = StoreSettings(database_url=plain, redis_url=redis_url, stream_prefix=prefix)

    async with running_store(settings) as client:
        ready = await client.get("/readyz")
        listing = await client.get("/v1/articles", params={"q": "anything", "sort": "relevance"})

    assert ready.json() == {"status": "ready"}
    assert listing.json() == {"items": [], "next_cursor": None}
