"""Reads and writes of stored articles on a real SQLite file: upserts, ordering, filters and cursors."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.contracts import EnrichedArticle
from services.errors import BadCursor
from services.store.db import cursors, repository
from services.store.db.engine import create_engine, upgrade
from services.store.db.repository import ArticleQuery
from services.store.db.tables import article_entities, article_tags, articles
from tests.factories import BASE_TIME, enriched_article, entity


@pytest.fixture
async def engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()


async def upsert(engine: AsyncEngine, *batch: EnrichedArticle) -> list[str]:
    async with engine.begin() as conn:
        return await repository.upsert_articles(conn, batch=list(batch))


async def get(engine: AsyncEngine, article_id: str) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        article = await repository.get_article(conn, article_id=article_id)
    return article.model_dump(mode="json") if article is not None else None


async def page(engine: AsyncEngine, **query: Any) -> tuple[list[str], str | None]:
    for key in ("entities", "tags"):
        if key in query:
            query[key] = tuple(query[key])
    async with engine.connect() as conn:
        items, cursor = await repository.list_articles(conn, query=ArticleQuery(**query))
    return [item.id for item in items], cursor


async def all_pages(engine: AsyncEngine, limit: int, **query: Any) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        ids, cursor = await page(engine, limit=limit, cursor=cursor, **query)
        pages.append(ids)
        if cursor is None:
            return pages


async def count(engine: AsyncEngine, table: sa.Table, article_id: str | None = None) -> int:
    stmt = sa.select(sa.func.count()).select_from(table)
    if article_id is not None:
        column = table.c.id if table is articles else table.c.article_id
        stmt = stmt.where(column == article_id)
    async with engine.connect() as conn:
        return int((await conn.execute(stmt)).scalar_one())


async def entity_rows(engine: AsyncEngine, article_id: str) -> set[tuple[str, str, int]]:
    stmt = sa.select(article_entities.c.name, article_entities.c.type, article_entities.c.mentions).where(
        article_entities.c.article_id == article_id
    )
    async with engine.connect() as conn:
        return {(r.name, r.type, r.mentions) for r in await conn.execute(stmt)}


async def tag_rows(engine: AsyncEngine, article_id: str) -> set[str]:
    stmt = sa.select(article_tags.c.tag).where(article_tags.c.article_id == article_id)
    async with engine.connect() as conn:
        return set((await conn.execute(stmt)).scalars())


def newest_first(*batch: EnrichedArticle) -> list[str]:
    """The order the store promises: published (else received) time descending, then id descending."""

    def key(a: EnrichedArticle) -> tuple[datetime, str]:
        return (a.published_at or a.received_at), a.id

    return [a.id for a in sorted(batch, key=key, reverse=True)]


# ---------------------------------------------------------------------------------------------------------
# Upserts


async def test_upserting_the_same_article_twice_keeps_one_row_set(engine: AsyncEngine) -> None:
    article = enriched_article(
        entities=[entity("Ada Lovelace", count=2), entity("Acme", "ORG")], tags=["Science", "History"]
    )

    assert await upsert(engine, article) == [article.id]
    assert await upsert(engine, article) == []  # same enrichment: nothing rewritten

    assert await count(engine, articles) == 1
    assert await entity_rows(engine, article.id) == {("Ada Lovelace", "PERSON", 2), ("Acme", "ORG", 1)}
    assert await tag_rows(engine, article.id) == {"Science", "History"}
    assert await count(engine, article_entities) == 2
    assert await count(engine, article_tags) == 2
    assert await get(engine, article.id) == article.model_dump(mode="json")


async def test_same_article_twice_in_one_batch_is_one_row(engine: AsyncEngine) -> None:
    article = enriched_article(entities=[entity("Acme", "ORG")], tags=["Business"])

    assert await upsert(engine, article, article) == [article.id]

    assert await count(engine, articles) == 1
    assert await count(engine, article_entities) == 1
    assert await count(engine, article_tags) == 1


async def test_entity_listed_twice_is_stored_once(engine: AsyncEngine) -> None:
    article = enriched_article(entities=[entity("Acme", "ORG", count=3), entity("Acme", "ORG", count=1)])

    await upsert(engine, article)

    assert await entity_rows(engine, article.id) == {("Acme", "ORG", 3)}
    # One name may be two entities of different types.
    other = enriched_article(entities=[entity("Jordan", "PERSON"), entity("Jordan", "LOCATION")])
    await upsert(engine, other)
    assert await entity_rows(engine, other.id) == {("Jordan", "PERSON", 1), ("Jordan", "LOCATION", 1)}


def _versions() -> tuple[EnrichedArticle, EnrichedArticle]:
    old = enriched_article(
        enriched_after=timedelta(minutes=1),
        title="Old headline",
        entities=[entity("Old Person"), entity("Shared Org", "ORG")],
        tags=["Old Tag", "Shared Tag"],
    )
    new = old.model_copy(
        update={
            "title": "New headline",
            "enriched_at": old.enriched_at + timedelta(hours=1),
            "entities": [entity("New Person"), entity("Shared Org", "ORG", count=4)],
            "tags": ["New Tag", "Shared Tag"],
        }
    )
    return old, new


async def _assert_is(engine: AsyncEngine, article: EnrichedArticle) -> None:
    assert await get(engine, article.id) == article.model_dump(mode="json")
    assert await entity_rows(engine, article.id) == {(e.name, e.type, e.count) for e in article.entities}
    assert await tag_rows(engine, article.id) == set(article.tags)
    assert await count(engine, articles) == 1


async def test_newer_enrichment_replaces_the_older(engine: AsyncEngine) -> None:
    old, new = _versions()
    await upsert(engine, old)

    assert await upsert(engine, new) == [new.id]

    await _assert_is(engine, new)
    assert await page(engine, entities=["Old Person"]) == ([], None)
    assert await page(engine, tags=["Old Tag"]) == ([], None)
    assert await page(engine, entities=["New Person"]) == ([new.id], None)
    assert await page(engine, tags=["New Tag"]) == ([new.id], None)


async def test_older_enrichment_never_overwrites_a_newer_one(engine: AsyncEngine) -> None:
    old, new = _versions()
    await upsert(engine, new)

    assert await upsert(engine, old) == []

    await _assert_is(engine, new)
    assert await page(engine, entities=["Old Person"]) == ([], None)


@pytest.mark.parametrize("order", ["old-first", "new-first"])
async def test_newer_enrichment_wins_inside_one_batch(engine: AsyncEngine, order: str) -> None:
    old, new = _versions()
    batch = (old, new) if order == "old-first" else (new, old)

    assert await upsert(engine, *batch) == [new.id]

    await _assert_is(engine, new)


async def test_older_enrichment_in_a_later_batch_with_others_is_skipped_alone(engine: AsyncEngine) -> None:
    old, new = _versions()
    await upsert(engine, new)
    fresh = enriched_article(tags=["Fresh"])

    assert await upsert(engine, old, fresh) == [fresh.id]

    assert await tag_rows(engine, new.id) == set(new.tags)
    assert await tag_rows(engine, fresh.id) == {"Fresh"}


async def test_unknown_id_is_none(engine: AsyncEngine) -> None:
    assert await get(engine, "doesnotexist") is None


# ---------------------------------------------------------------------------------------------------------
# Listing and filters


async def test_list_is_newest_first_by_published_else_received_time(engine: AsyncEngine) -> None:
    published_early = enriched_article(minutes=0)
    published_late = enriched_article(minutes=120)
    unpublished_mid = enriched_article(minutes=None, received_at=BASE_TIME + timedelta(minutes=60))
    unpublished_newest = enriched_article(minutes=None, received_at=BASE_TIME + timedelta(minutes=180))
    # Published before it was received: its published time counts, not the later arrival.
    received_late = enriched_article(minutes=30, received_at=BASE_TIME + timedelta(days=1))
    batch = (published_early, published_late, unpublished_mid, unpublished_newest, received_late)
    await upsert(engine, *batch)

    ids, cursor = await page(engine)

    assert ids == [
        unpublished_newest.id,
        published_late.id,
        unpublished_mid.id,
        received_late.id,
        published_early.id,
    ]
    assert ids == newest_first(*batch)
    assert cursor is None


async def test_list_orders_times_with_offsets_in_utc(engine: AsyncEngine) -> None:
    plus_five = timezone(timedelta(hours=5))
    # 12:00+05:00 is 07:00 UTC: older than 08:00 UTC despite the larger wall-clock time.
    east = enriched_article(minutes=None, published_at=datetime(2024, 1, 15, 12, 0, tzinfo=plus_five))
    utc = enriched_article(minutes=None, published_at=datetime(2024, 1, 15, 8, 0, tzinfo=UTC))
    await upsert(engine, east, utc)

    assert (await page(engine))[0] == [utc.id, east.id]


async def test_entity_filters_repeat_as_and(engine: AsyncEngine) -> None:
    both = enriched_article(minutes=3, entities=[entity("Ada Lovelace"), entity("London", "LOCATION")])
    ada = enriched_article(minutes=2, entities=[entity("Ada Lovelace")])
    london = enriched_article(minutes=1, entities=[entity("London", "LOCATION")])
    await upsert(engine, both, ada, london)

    assert (await page(engine, entities=["Ada Lovelace"]))[0] == [both.id, ada.id]
    assert (await page(engine, entities=["London"]))[0] == [both.id, london.id]
    assert (await page(engine, entities=["Ada Lovelace", "London"]))[0] == [both.id]
    assert (await page(engine, entities=["Ada Lovelace", "Paris"]))[0] == []
    assert (await page(engine, entities=["ada lovelace"]))[0] == []  # canonical names match exactly


async def test_tag_and_source_filters(engine: AsyncEngine) -> None:
    a = enriched_article(minutes=3, tags=["Politics", "Europe"], source="wire")
    b = enriched_article(minutes=2, tags=["Politics"], source="blog")
    c = enriched_article(minutes=1, tags=["Sport"], source="wire", entities=[entity("Ada Lovelace")])
    d = enriched_article(minutes=0, tags=[], source=None)
    await upsert(engine, a, b, c, d)

    assert (await page(engine, tags=["Politics"]))[0] == [a.id, b.id]
    assert (await page(engine, tags=["Politics", "Europe"]))[0] == [a.id]
    assert (await page(engine, tags=["Politics", "Sport"]))[0] == []
    assert (await page(engine, source="wire"))[0] == [a.id, c.id]
    assert (await page(engine, source="blog"))[0] == [b.id]
    assert (await page(engine, source="nobody"))[0] == []
    assert (await page(engine, source="wire", tags=["Politics"]))[0] == [a.id]
    assert (await page(engine, source="wire", entities=["Ada Lovelace"]))[0] == [c.id]
    assert (await page(engine))[0] == [a.id, b.id, c.id, d.id]


# ---------------------------------------------------------------------------------------------------------
# Cursor paging


async def test_cursor_paging_returns_each_article_exactly_once(engine: AsyncEngine) -> None:
    # Groups of three share a published time, so the id must break ties across page boundaries.
    batch = [enriched_article(minutes=i // 3) for i in range(25)]
    await upsert(engine, *batch)

    pages = await all_pages(engine, limit=7)

    assert [len(p) for p in pages] == [7, 7, 7, 4]
    flat = [i for p in pages for i in p]
    assert flat == newest_first(*batch)
    assert len(set(flat)) == 25


async def test_exactly_full_last_page_has_no_next_cursor(engine: AsyncEngine) -> None:
    await upsert(engine, *(enriched_article(minutes=i) for i in range(14)))

    pages = await all_pages(engine, limit=7)

    assert [len(p) for p in pages] == [7, 7]


async def test_cursor_paging_with_filters_stays_within_the_filter(engine: AsyncEngine) -> None:
    tagged = [enriched_article(minutes=i, tags=["Keep"]) for i in range(0, 20, 2)]
    others = [enriched_article(minutes=i, tags=["Other"]) for i in range(1, 20, 2)]
    await upsert(engine, *tagged, *others)

    pages = await all_pages(engine, limit=3, tags=["Keep"])

    assert [i for p in pages for i in p] == newest_first(*tagged)


async def test_cursor_paging_is_stable_when_articles_arrive_between_pages(engine: AsyncEngine) -> None:
    original = [enriched_article(minutes=i // 2) for i in range(25)]
    await upsert(engine, *original)
    seen: list[str] = []

    ids, cursor = await page(engine, limit=7)
    seen += ids
    newer = [enriched_article(minutes=1000 + i) for i in range(5)]
    await upsert(engine, *newer)  # newer than anything paged so far: they belong before the cursor
    ids, cursor = await page(engine, limit=7, cursor=cursor)
    seen += ids
    # Older than everything: not yet reached, so a later page must include it.
    oldest = enriched_article(minutes=-1000)
    await upsert(engine, oldest)
    while cursor is not None:
        ids, cursor = await page(engine, limit=7, cursor=cursor)
        seen += ids

    assert seen == newest_first(*original, oldest)
    assert not set(seen) & {a.id for a in newer}
    assert (await page(engine, limit=5))[0] == newest_first(*newer)  # a fresh first page shows them


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "!!!!",
        "a",
        "é",
        _b64(b"not json"),
        _b64(b"42"),
        _b64(orjson.dumps({"when": "2024-01-15T08:07:00+00:00"})),
        _b64(orjson.dumps(["2024-01-15T08:07:00+00:00"])),
        _b64(orjson.dumps(["yesterday", "abc"])),
        _b64(orjson.dumps([12345, "abc"])),
        _b64(orjson.dumps(["2024-01-15T08:07:00+00:00", "abc", "extra"])),
    ],
)
async def test_garbage_cursor_is_bad_cursor(engine: AsyncEngine, cursor: str) -> None:
    await upsert(engine, enriched_article())

    with pytest.raises(BadCursor, match="cursor is not valid"):
        await page(engine, cursor=cursor)


def test_cursor_round_trips() -> None:
    when = datetime(2024, 1, 15, 8, 7, 1, 123456, tzinfo=UTC)

    cursor = cursors.encode_cursor(when, "abc123")

    assert "=" not in cursor
    assert cursors.decode_cursor(cursor) == (when, "abc123")
    assert cursors.decode_cursor(cursors.encode_cursor(when.replace(tzinfo=None), "x"))[0] == when
