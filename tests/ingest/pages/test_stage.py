"""The fetch stage against a real Redis and a loopback site: each page published, fallen back on, retried
or dead (services/ingest/pages/stage.py); the article a page becomes (article.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from redis.asyncio import Redis

from services.contracts import ArticleIn, PageRequest, raw_stream
from services.errors import PartialFailure
from services.fetch import Fetcher
from services.ingest.canonical import canonical_url
from services.ingest.pages.extract import NotAnArticle
from services.ingest.pages.queue import page_queue, page_request
from services.ingest.pages.stage import PageRetry, PageStage, PageUnavailable
from services.ingest.publisher import Publisher
from services.ingest.settings import IngestSettings
from services.runtime.codec import DATA_FIELD
from services.runtime.runner import Item
from tests.factories import article_fields
from tests.fetch.conftest import fetch_settings
from tests.fetch.server import Reply, Server

PAGES = Path(__file__).parents[2] / "data" / "feeds" / "pages"
HTML = {"Content-Type": "text/html; charset=utf-8"}
MAX_DELIVERIES = 3


@pytest.fixture
async def site() -> AsyncIterator[Server]:
    server = await Server().start()
    server.routes |= {
        "/ferry": Reply(200, HTML, (PAGES / "article_boilerplate.html").read_bytes()),
        "/gallery": Reply(200, HTML, (PAGES / "no_article.html").read_bytes()),
        "/ferry?utm_source=share": Reply(200, HTML, (PAGES / "article_boilerplate.html").read_bytes()),
        "/busy": Reply(503, {"Retry-After": "5"}, b"busy"),
        "/busy-too": Reply(503, {}, b"busy"),
    }
    yield server
    await server.close()


@pytest.fixture
async def stage(redis: Redis, prefix: str) -> AsyncIterator[PageStage]:
    settings = IngestSettings(stream_prefix=prefix)
    async with Fetcher(fetch_settings()) as fetcher:
        raw = Publisher(redis, prefix)
        yield PageStage(fetcher, raw, page_queue(redis, settings), 5.0, MAX_DELIVERIES)


def item(request: PageRequest, n: int = 0) -> Item[PageRequest]:
    return Item(f"1-{n}", request)


def feed_item(url: str) -> ArticleIn:
    return ArticleIn.model_validate(article_fields(url=url, source="The Feed", tags=["Feeds"]))


async def published(redis: Redis, prefix: str) -> list[dict[str, object]]:
    rows = await redis.xrange(raw_stream(prefix))
    return [orjson.loads(fields[DATA_FIELD.encode()])["body"] for _id, fields in rows]


async def test_a_page_is_published_under_its_announced_id_whatever_its_canonical_link(
    stage: PageStage, site: Server, redis: Redis, prefix: str
) -> None:
    request = page_request(site.url("/ferry?utm_source=share"))

    await stage([item(request)])

    [article] = await published(redis, prefix)
    assert article["id"] == request.id
    assert article["url"] == canonical_url(site.url("/ferry"))  # the URL the id was made from
    assert article["title"] == "Ferry returns to Skelholm after winter repairs"
    assert article["source"] == "The Harbour Gazette" and article["author"] == "Mara Lindqvist"


async def test_a_feed_items_page_keeps_the_feeds_source_and_tags(
    stage: PageStage, site: Server, redis: Redis, prefix: str
) -> None:
    request = page_request(site.url("/ferry"), feed_id="0123456789abcdef", item=feed_item(site.url("/ferry")))

    await stage([item(request)])

    [article] = await published(redis, prefix)
    assert article["id"] == request.id and article["source"] == "The Feed"
    assert article["tags"] == ["Feeds", "Ferries", "Skelholm", "Transport"]
    assert str(article["body"]).startswith("The passenger ferry")


async def test_a_page_posted_alone_that_cannot_be_had_is_poison_and_its_id_given_back(
    stage: PageStage, site: Server, redis: Redis, prefix: str
) -> None:
    gone, gallery = page_request(site.url("/gone")), page_request(site.url("/gallery"))
    queue = page_queue(redis, IngestSettings(stream_prefix=prefix))
    assert await queue.publish([gone, gallery]) == ["accepted", "accepted"]

    with pytest.raises(PartialFailure) as failed:
        await stage([item(gone, 0), item(gallery, 1)])

    errors = failed.value.errors
    assert isinstance(errors["1-0"], PageUnavailable) and isinstance(errors["1-1"], NotAnArticle)
    assert {str(e).split(":")[0] for e in errors.values()} == {"http_status", "no_text"}
    assert await published(redis, prefix) == []
    assert await queue.publish([gone, gallery]) == ["accepted", "accepted"]  # posted again: fetched again


async def test_a_busy_site_is_retried_until_the_last_delivery(
    stage: PageStage, site: Server, redis: Redis, prefix: str
) -> None:
    alone = page_request(site.url("/busy"))
    of_feed = page_request(site.url("/busy-too"), item=feed_item(site.url("/busy-too")))

    with pytest.raises(PartialFailure) as first:
        await stage([Item("1-0", alone, 1), Item("1-1", of_feed, 1)])
    assert {type(e) for e in first.value.errors.values()} == {PageRetry}
    assert "retry_later: HTTP 503" in str(first.value.errors["1-0"])

    with pytest.raises(PartialFailure) as last:
        await stage([Item("1-0", alone, MAX_DELIVERIES), Item("1-1", of_feed, MAX_DELIVERIES)])

    assert set(last.value.errors) == {"1-0"}  # dead now; the feed item is published as the feed gave it
    assert isinstance(last.value.errors["1-0"], PageUnavailable)
    [article] = await published(redis, prefix)
    assert article["id"] == of_feed.id and article["source"] == "The Feed"
