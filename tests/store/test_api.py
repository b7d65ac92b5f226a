"""The store app, lifespan and consumer included, against a real Redis and a SQLite file of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
from redis.asyncio import Redis

from services.contracts import STORE_GROUP, EnrichedArticle, dead_stream, enriched_stream
from services.runtime.codec import DATA_FIELD
from services.store.app import create_app
from services.store.settings import StoreSettings
from tests.factories import enriched_article, enriched_entry, entity
from tests.harness import eventually, in_process

T = TypeVar("T")


@dataclass
class Store:
    client: httpx.AsyncClient
    redis: Redis
    prefix: str

    async def add(self, fields: dict[str, Any]) -> str:
        entry_id = await self.redis.xadd(enriched_stream(self.prefix), fields)
        return str(entry_id.decode())

    async def article(self, article_id: str) -> dict[str, Any] | None:
        answer = await self.client.get(f"/v1/articles/{article_id}")
        if answer.status_code == 404:
            return None
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    async def stored(self, article: EnrichedArticle) -> dict[str, Any]:
        return await eventually(lambda: self.article(article.id), what=f"article {article.id} in the store")

    async def settled(self, last_entry_id: str) -> bool:
        """The group has read up to ``last_entry_id`` and has nothing pending."""
        [group] = await self.redis.xinfo_groups(enriched_stream(self.prefix))
        return group["last-delivered-id"].decode() == last_entry_id and group["pending"] == 0

    async def wait_settled(self, last_entry_id: str) -> None:
        await eventually(lambda: self.settled(last_entry_id), what=f"group {STORE_GROUP} to ack everything")

    async def list(self, **params: Any) -> dict[str, Any]:
        answer = await self.client.get("/v1/articles", params=params)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())


@asynccontextmanager
async def running(settings: StoreSettings, redis: Redis) -> AsyncIterator[Store]:
    async with in_process(create_app(settings), "http://store") as client:
        yield Store(client, redis, settings.stream_prefix)


def settings_for(redis_url: str, prefix: str, sqlite_url: str, **extra: Any) -> StoreSettings:
    return StoreSettings(
        redis_url=redis_url,
        stream_prefix=prefix,
        database_url=sqlite_url,
        claim_idle_ms=500,
        poll_ms=100,
        **extra,
    )


@pytest.fixture
async def store(redis_url: str, prefix: str, sqlite_url: str, redis: Redis) -> AsyncIterator[Store]:
    async with running(settings_for(redis_url, prefix, sqlite_url), redis) as s:
        yield s


# ---------------------------------------------------------------------------------------------------------
# Consuming


async def test_enriched_entry_is_stored_and_acknowledged(store: Store) -> None:
    article = enriched_article(entities=[entity("Ada Lovelace", count=2)], tags=["Science"])

    entry_id = await store.add(enriched_entry(article))

    assert await store.stored(article) == article.model_dump(mode="json")
    await store.wait_settled(entry_id)
    pending = await store.redis.xpending(enriched_stream(store.prefix), STORE_GROUP)
    assert pending["pending"] == 0


async def test_entry_added_before_the_store_starts_is_stored(
    redis_url: str, prefix: str, sqlite_url: str, redis: Redis
) -> None:
    article = enriched_article()
    await redis.xadd(enriched_stream(prefix), enriched_entry(article))  # no stream, no group yet

    async with running(settings_for(redis_url, prefix, sqlite_url), redis) as store:
        assert (await store.stored(article))["id"] == article.id


async def test_stored_articles_survive_a_restart(
    redis_url: str, prefix: str, sqlite_url: str, redis: Redis
) -> None:
    article = enriched_article()
    settings = settings_for(redis_url, prefix, sqlite_url)
    async with running(settings, redis) as store:
        await store.add(enriched_entry(article))
        await store.stored(article)

    async with running(settings, redis) as store:
        assert await store.article(article.id) == article.model_dump(mode="json")


async def test_same_entry_twice_is_one_article(store: Store) -> None:
    article = enriched_article(tags=["Once"])
    fields = enriched_entry(article)

    await store.add(fields)
    last = await store.add(fields)

    await store.wait_settled(last)
    page = await store.list()
    assert [item["id"] for item in page["items"]] == [article.id]
    assert (await store.list(tag="Once"))["items"] == [article.model_dump(mode="json")]


async def test_newer_enrichment_on_the_stream_replaces_the_stored_one(store: Store) -> None:
    old = enriched_article(entities=[entity("Old Name")])
    new = old.model_copy(
        update={"enriched_at": old.enriched_at.replace(year=2025), "entities": [entity("New")]}
    )

    await store.add(enriched_entry(new))
    last = await store.add(enriched_entry(old))  # arrives late: must not win

    await store.wait_settled(last)
    assert await store.article(old.id) == new.model_dump(mode="json")
    assert (await store.list(entity="Old Name"))["items"] == []


async def test_malformed_entry_is_dead_lettered_and_the_next_one_stored(store: Store) -> None:
    bad_id = await store.add({DATA_FIELD: b"{not json"})
    article = enriched_article()
    good_id = await store.add(enriched_entry(article))

    await store.stored(article)
    await store.wait_settled(good_id)
    [(_, record)] = await store.redis.xrange(dead_stream(store.prefix))
    assert record[b"entry_id"].decode() == bad_id
    assert record[b"stage"] == b"store"
    assert record[b"error"].startswith(b"malformed: not JSON")
    assert record[b"orig:" + DATA_FIELD.encode()] == b"{not json"


# ---------------------------------------------------------------------------------------------------------
# Reading


async def test_unknown_id_is_404_naming_it(store: Store) -> None:
    answer = await store.client.get("/v1/articles/nosuch0123456789")
    assert answer.status_code == 404
    assert "nosuch0123456789" in answer.json()["detail"]


async def test_filters_find_the_stored_article(store: Store) -> None:
    article = enriched_article(
        source="wire",
        tags=["Science", "History"],
        entities=[entity("Ada Lovelace"), entity("London", "LOCATION")],
    )
    other = enriched_article(source="blog", tags=["Sport"], entities=[entity("Someone Else")])
    await store.add(enriched_entry(other))
    await store.add(enriched_entry(article))
    await store.stored(article)
    await store.stored(other)
    expected = [article.model_dump(mode="json")]

    assert (await store.list(entity="Ada Lovelace"))["items"] == expected
    assert (await store.list(entity=["Ada Lovelace", "London"]))["items"] == expected
    assert (await store.list(tag="Science"))["items"] == expected
    assert (await store.list(tag=["Science", "History"], source="wire"))["items"] == expected
    assert await store.list(entity=["Ada Lovelace", "Someone Else"]) == {"items": [], "next_cursor": None}
    assert await store.list(tag="Science", source="blog") == {"items": [], "next_cursor": None}


async def test_pages_follow_next_cursor(store: Store) -> None:
    batch = [enriched_article(minutes=i) for i in range(5)]
    for article in batch:
        last = await store.add(enriched_entry(article))
    await store.wait_settled(last)

    first = await store.list(limit=2)
    second = await store.list(limit=2, cursor=first["next_cursor"])
    third = await store.list(limit=2, cursor=second["next_cursor"])

    ids = [i["id"] for p in (first, second, third) for i in p["items"]]
    assert ids == [a.id for a in reversed(batch)]
    assert third["next_cursor"] is None


async def test_bad_cursor_is_400(store: Store) -> None:
    answer = await store.client.get("/v1/articles", params={"cursor": "not-a-cursor"})
    assert answer.status_code == 400
    assert "cursor" in answer.json()["detail"]


@pytest.mark.parametrize("limit", [0, -1, 101, "many"])
async def test_limit_outside_1_to_100_is_422(store: Store, limit: int | str) -> None:
    answer = await store.client.get("/v1/articles", params={"limit": limit})
    assert answer.status_code == 422
    assert [err["loc"] for err in answer.json()["detail"]] == [["query", "limit"]]


@pytest.mark.parametrize("limit", [1, 100])
async def test_limit_at_the_bounds_is_accepted(store: Store, limit: int) -> None:
    answer = await store.client.get("/v1/articles", params={"limit": limit})
    assert answer.status_code == 200
    assert answer.json() == {"items": [], "next_cursor": None}


async def test_max_page_size_setting_bounds_limit(
    redis_url: str, prefix: str, sqlite_url: str, redis: Redis
) -> None:
    async with running(settings_for(redis_url, prefix, sqlite_url, max_page_size=10), redis) as store:
        assert (await store.client.get("/v1/articles", params={"limit": 10})).status_code == 200
        refused = await store.client.get("/v1/articles", params={"limit": 11})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["query", "limit"]
    assert "10" in refused.json()["detail"][0]["msg"]


async def test_health_and_readiness(store: Store) -> None:
    live = await store.client.get("/healthz")
    ready = await store.client.get("/readyz")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
