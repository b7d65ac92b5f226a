"""Schema migrations on SQLite and PostgreSQL: fresh, adopted, reversible, atomic and run at start."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from services.contracts import EnrichedArticle
from services.store.db import aggregates, repository
from services.store.db import engine as db
from services.store.db.repository import ArticleQuery
from services.store.settings import StoreSettings
from tests.factories import BASE_TIME, enriched_article, entity
from tests.store.conftest import ENGINES, running_store

HEAD = ScriptDirectory.from_config(db.alembic_config()).get_current_head()
TABLES = {"articles", "article_entities", "article_tags", "article_topics", "alembic_version"}


@pytest.fixture(params=ENGINES)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with no tables, on each engine in turn."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("empty_pg_url"))
    return f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"


@pytest.fixture
async def engine(empty_url: str) -> AsyncIterator[AsyncEngine]:
    engine = db.create_engine(empty_url)
    yield engine
    await engine.dispose()


async def version(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        if not await conn.run_sync(lambda c: sa.inspect(c).has_table("alembic_version")):
            return None
        return (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).scalar_one_or_none()


async def table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))


async def listed(engine: AsyncEngine, **query: object) -> list[str]:
    async with engine.connect() as conn:
        items, _ = await repository.list_articles(conn, query=ArticleQuery(**query))  # type: ignore[arg-type]
    return [item.id for item in items]


def test_a_fresh_database_migrates_to_head_and_a_second_run_changes_nothing(empty_url: str) -> None:
    db.migrate_sync(empty_url)
    db.migrate_sync(empty_url)

    async def check() -> None:
        engine = db.create_engine(empty_url)
        try:
            assert await version(engine) == HEAD
            names = await table_names(engine)
            assert names >= TABLES
            if engine.dialect.name == "sqlite":
                assert {"articles_fts", "articles_fts_keys"} <= names
            else:
                async with engine.connect() as conn:
                    columns = await conn.run_sync(lambda c: sa.inspect(c).get_columns("articles"))
                assert "search" in {c["name"] for c in columns}
        finally:
            await engine.dispose()

    asyncio.run(check())


async def test_a_database_from_before_migrations_is_adopted_and_backfilled(engine: AsyncEngine) -> None:
    await db.upgrade(engine, "0001")
    async with engine.begin() as conn:
        await conn.execute(sa.text("DROP TABLE alembic_version"))  # as the store used to leave it
        article = enriched_article(
            title="Harbour strike",
            body="Dockers walked out over pay.",
            entities=[entity("Dock Union", "ORG")],
            tags=["Labour"],
            topics=[{"code": "medtop:20000574", "label": "election", "score": 0.9}],
        )
        doc = article.model_dump(mode="json")
        when = BASE_TIME.replace(tzinfo=None) if engine.dialect.name == "sqlite" else BASE_TIME
        await conn.execute(
            sa.text(
                "INSERT INTO articles (id, sort_time, published_at, received_at, enriched_at, source,"
                " language, title, doc) VALUES (:id, :t, :t, :t, :t, 'wire', 'en', :title, :doc)"
            ),
            {"id": article.id, "t": when, "title": article.title, "doc": orjson.dumps(doc).decode()},
        )
        await conn.execute(
            sa.text("INSERT INTO article_entities VALUES (:id, 'Dock Union', 'ORG', 1, 0.5)"),
            {"id": article.id},
        )
        await conn.execute(sa.text("INSERT INTO article_tags VALUES (:id, 'Labour')"), {"id": article.id})
    assert await version(engine) is None

    await db.upgrade(engine)

    assert await version(engine) == HEAD
    assert await listed(engine, q="dockers") == [article.id]
    assert await listed(engine, entities=("Dock Union",)) == [article.id]
    assert await listed(engine, tags=("Labour",)) == [article.id]
    assert await listed(engine, topics=("medtop:11000000",)) == [article.id]  # the ancestor was backfilled
    async with engine.connect() as conn:
        key = (await conn.execute(sa.text("SELECT name_key FROM article_entities"))).scalar_one()
        assert await aggregates.top_entities(conn) == [{"name": "Dock Union", "type": "ORG", "articles": 1}]
        assert [t["code"] for t in await aggregates.top_topics(conn)] == [
            "medtop:11000000",
            "medtop:20000574",
        ]
    assert key == "dock union"


async def test_downgrading_to_the_baseline_and_back_keeps_articles_searchable(engine: AsyncEngine) -> None:
    await db.upgrade(engine)
    article = enriched_article(
        title="Volcano erupts", topics=[{"code": "medtop:03000000", "label": "x", "score": 1}]
    )
    async with engine.begin() as conn:
        await repository.upsert_articles(conn, batch=[article])

    await db.downgrade(engine, "0001")
    assert "article_topics" not in await table_names(engine)
    await db.upgrade(engine)

    assert await listed(engine, q="volcano") == [article.id]
    assert await listed(engine, topics=("medtop:03000000",)) == [article.id]


async def _insert_raw(engine: AsyncEngine, *batch: EnrichedArticle) -> None:
    """Insert articles as an older store did: the row alone, the engine indexing it (triggers, columns)."""
    async with engine.begin() as conn:
        for article in batch:
            when = article.published_at
            if engine.dialect.name == "sqlite":
                when = when.replace(tzinfo=None) if when else None
            await conn.execute(
                sa.text(
                    "INSERT INTO articles (id, sort_time, published_at, received_at, enriched_at, source,"
                    " language, title, doc) VALUES (:id, :t, :t, :t, :t, 'wire', 'en', :title, :doc)"
                ),
                {
                    "id": article.id,
                    "t": when,
                    "title": article.title,
                    "doc": orjson.dumps(article.model_dump(mode="json")).decode(),
                },
            )


async def test_articles_indexed_by_the_engines_are_indexed_again_with_the_stores_terms(
    engine: AsyncEngine,
) -> None:
    await db.upgrade(engine, "0004")
    metro = enriched_article(
        minutes=0,
        title="深圳地铁14号线二期今日开通",
        summary="新线连接福田与坪山。",
        body="沿线新增6座车站。",
    )
    leak = enriched_article(
        minutes=1,
        title="Council apologises",
        summary="An e-mail leak.",
        body="Covid-19 data of 2,300 people.",
    )
    await _insert_raw(engine, metro, leak)

    await db.upgrade(engine)

    assert await version(engine) == HEAD
    assert await listed(engine, q="地铁") == [metro.id]
    assert await listed(engine, q="车站") == [metro.id]
    assert await listed(engine, q="e-mail covid-19") == [leak.id]
    assert await listed(engine, q="leaks", sort="relevance") == [leak.id]
    # back to the engines' own index, and forward again
    await db.downgrade(engine, "0004")
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            triggers = await conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            assert {"articles_fts_insert", "articles_fts_update"} <= set(triggers.scalars())
        else:
            generated = await conn.execute(
                sa.text(
                    "SELECT attgenerated::text FROM pg_attribute"
                    " WHERE attrelid = 'articles'::regclass AND attname = 'search'"
                )
            )
            assert generated.scalar_one() == "s"
    await db.upgrade(engine)
    assert await listed(engine, q="地铁") == [metro.id]
    assert await listed(engine, q="e-mail") == [leak.id]


async def test_documents_stored_with_a_source_offset_are_served_in_utc_after_upgrade(
    engine: AsyncEngine,
) -> None:
    await db.upgrade(engine, "0005")
    tokyo = enriched_article(minutes=0, title="Markets open in Tokyo")
    naive = enriched_article(minutes=1, title="Council meets")
    await _insert_raw(engine, tokyo, naive)
    docs = {
        tokyo.id: {"published_at": "2024-03-10T10:00:00+09:00", "received_at": "2024-03-10T01:00:05+00:00"},
        naive.id: {"published_at": "2024-03-10T10:00:00"},
    }
    async with engine.begin() as conn:
        for article_id, times in docs.items():
            row = await conn.execute(sa.text("SELECT doc FROM articles WHERE id = :id"), {"id": article_id})
            doc = row.scalar_one()
            doc = orjson.loads(doc) if isinstance(doc, str) else dict(doc)
            await conn.execute(
                sa.text("UPDATE articles SET doc = :doc WHERE id = :id"),
                {"id": article_id, "doc": orjson.dumps({**doc, **times}).decode()},
            )

    await db.upgrade(engine)

    async with engine.connect() as conn:
        tokyo_doc = await repository.get_article(conn, article_id=tokyo.id)
        naive_doc = await repository.get_article(conn, article_id=naive.id)
    assert tokyo_doc is not None and naive_doc is not None
    moved, kept = tokyo_doc.model_dump(mode="json"), naive_doc.model_dump(mode="json")
    assert (moved["published_at"], moved["published_offset"]) == ("2024-03-10T01:00:00Z", "+09:00")
    assert moved["received_at"] == "2024-03-10T01:00:05Z"
    assert (kept["published_at"], kept["published_offset"]) == ("2024-03-10T10:00:00Z", None)


async def test_a_failing_migration_changes_nothing(engine: AsyncEngine) -> None:
    await db.upgrade(engine, "0001")
    async with engine.begin() as conn:  # a table in the way makes revision 0002 fail half-way
        await conn.execute(sa.text("CREATE TABLE article_topics (x INTEGER)"))

    with pytest.raises(sa.exc.DBAPIError):
        await db.upgrade(engine)

    assert await version(engine) == "0001"
    async with engine.connect() as conn:
        columns = await conn.run_sync(lambda c: sa.inspect(c).get_columns("article_entities"))
    assert "sort_time" not in {c["name"] for c in columns}  # the columns added before the failure are gone


async def test_replicas_that_migrate_at_once_all_succeed(empty_url: str) -> None:
    await asyncio.gather(*(db.migrate(empty_url) for _ in range(4)))

    engine = db.create_engine(empty_url)
    try:
        assert await version(engine) == HEAD
        assert await table_names(engine) >= TABLES
    finally:
        await engine.dispose()


async def test_the_store_migrates_on_start_unless_told_not_to(
    empty_url: str, redis_url: str, prefix: str, redis: Redis
) -> None:
    settings = StoreSettings(database_url=empty_url, redis_url=redis_url, stream_prefix=prefix)
    async with running_store(settings.model_copy(update={"migrate_on_start": False})) as client:
        assert (await client.get("/healthz")).status_code == 200
    engine = db.create_engine(empty_url)
    try:
        assert await version(engine) is None

        async with running_store(settings) as client:
            assert (await client.get("/v1/articles")).json() == {"items": [], "next_cursor": None}
        assert await version(engine) == HEAD
    finally:
        await engine.dispose()
