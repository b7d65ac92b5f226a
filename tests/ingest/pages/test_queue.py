"""Pages posted as a bare URL: answered with the id their article will carry, queued once per id on
``<prefix>:fetch`` within the de-duplication window, and given back when they never become articles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from redis.asyncio import Redis

from services.contracts import PAGE_EVENT, ArticleIn, PageRequest, fetch_stream, raw_stream
from services.ingest.app import create_app
from services.ingest.pages.queue import page_queue, page_request
from services.ingest.parsing import to_raw
from services.ingest.publisher import Publisher
from services.ingest.settings import IngestSettings
from services.runtime import codec
from tests.factories import article_fields
from tests.harness import in_process

URL = "http://www.example.com/news/harbour-reopens?utm_source=rss"


@pytest.fixture
def settings(redis_url: str, prefix: str) -> IngestSettings:
    return IngestSettings(redis_url=redis_url, stream_prefix=prefix)


@pytest.fixture
async def client(settings: IngestSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process(create_app(settings), "http://ingest") as c:
        yield c


def _post(client: httpx.AsyncClient, value: Any) -> Any:
    return client.post(
        "/v1/articles", content=orjson.dumps(value), headers={"Content-Type": "application/json"}
    )


async def _queued(redis: Redis, prefix: str) -> list[PageRequest]:
    rows = await redis.xrange(fetch_stream(prefix))
    return [codec.decode(fields, PageRequest).body for _id, fields in rows]


async def test_a_bare_url_is_queued_under_the_id_an_article_with_that_url_gets(
    client: httpx.AsyncClient, redis: Redis, prefix: str
) -> None:
    answer = await _post(client, {"url": URL})

    assert answer.status_code == 202, answer.text
    expected = to_raw(ArticleIn.model_validate(article_fields(url=URL))).id
    assert answer.json() == {"id": expected, "status": "accepted"}
    [queued] = await _queued(redis, prefix)
    assert (queued.id, queued.url, queued.feed_id, queued.item) == (expected, URL, None, None)
    [(_id, fields)] = await redis.xrange(fetch_stream(prefix))
    assert orjson.loads(fields[codec.DATA_FIELD.encode()])["headers"]["event_type"] == PAGE_EVENT
    assert await redis.xlen(raw_stream(prefix)) == 0  # nothing is published before it is fetched


async def test_a_repost_within_the_window_is_a_duplicate_and_queues_nothing(
    client: httpx.AsyncClient, redis: Redis, prefix: str
) -> None:
    first = await _post(client, {"url": URL})
    again = await _post(client, {"url": "https://example.com/news/harbour-reopens"})  # the same, canonical

    assert again.status_code == 200
    assert again.json() == {"id": first.json()["id"], "status": "duplicate"}
    assert len(await _queued(redis, prefix)) == 1


async def test_an_article_posted_with_that_url_before_makes_the_page_a_duplicate(
    client: httpx.AsyncClient, redis: Redis, prefix: str
) -> None:
    posted = await _post(client, article_fields(url=URL))

    answer = await _post(client, {"url": URL})

    assert answer.json() == {"id": posted.json()["id"], "status": "duplicate"}
    assert await _queued(redis, prefix) == []


@pytest.mark.parametrize("url", ["ftp://example.com/a", "/news/relative", "", 42, "http://"])
async def test_a_url_that_cannot_be_fetched_is_refused_naming_the_field(
    client: httpx.AsyncClient, redis: Redis, prefix: str, url: object
) -> None:
    answer = await _post(client, {"url": url})

    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"] == ["body", "url"]
    assert await _queued(redis, prefix) == []


async def test_a_url_with_other_fields_is_an_article_and_needs_title_and_body(
    client: httpx.AsyncClient, redis: Redis, prefix: str
) -> None:
    answer = await _post(client, {"url": URL, "source": "Example"})

    assert answer.status_code == 422
    assert {tuple(d["loc"]) for d in answer.json()["detail"]} == {("body", "title"), ("body", "body")}
    assert await _queued(redis, prefix) == []


async def test_a_forgotten_page_is_accepted_again_and_a_claimed_id_is_published(
    client: httpx.AsyncClient, settings: IngestSettings, redis: Redis, prefix: str
) -> None:
    first = (await _post(client, {"url": URL})).json()
    queue = page_queue(redis, settings)

    await queue.forget([first["id"]])
    again = await _post(client, {"url": URL})

    assert again.status_code == 202
    assert len(await _queued(redis, prefix)) == 2
    # The fetch stage publishes the article of a queued page although its id is claimed in the window.
    publisher = Publisher(redis, prefix, window=settings.dedup_window, buckets=settings.dedup_buckets)
    article = to_raw(ArticleIn.model_validate(article_fields(url=URL)))
    assert await publisher.publish([article]) == ["duplicate"]
    assert await publisher.publish([article], claimed=True) == ["accepted"]
    assert await redis.xlen(raw_stream(prefix)) == 1


def test_a_feed_items_page_carries_the_items_id() -> None:
    item = ArticleIn.model_validate(article_fields(url="https://example.com/a"))

    request = page_request("http://www.example.com/a?utm_medium=feed", feed_id="0123456789abcdef", item=item)

    assert request.id == to_raw(item).id
    assert request.url == "http://www.example.com/a?utm_medium=feed"  # fetched as the feed links it
