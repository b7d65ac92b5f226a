"""The ingest HTTP app, lifespan included, against a real Redis: what is answered and what is published."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
import pytest
from redis.asyncio import Redis

from services import metrics
from services.contracts import RAW_EVENT, RawArticle, raw_stream
from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from services.runtime import codec
from services.runtime.codec import DATA_FIELD
from services.tools.local import free_port
from tests.factories import article_fields
from tests.harness import in_process

MAX_BODY = 2048
MAX_ITEMS = 5


@asynccontextmanager
async def running(settings: IngestSettings) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan (Redis connection, publisher) and talk to it in-process."""
    async with in_process(create_app(settings), "http://ingest") as client:
        yield client


@pytest.fixture
async def client(redis_url: str, prefix: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = IngestSettings(
        redis_url=redis_url, stream_prefix=prefix, max_body_bytes=MAX_BODY, max_batch_items=MAX_ITEMS
    )
    async with running(settings) as c:
        yield c


async def _entries(redis: Redis, prefix: str) -> list[tuple[str, dict[bytes, bytes]]]:
    rows = await redis.xrange(raw_stream(prefix))
    return [(eid.decode(), fields) for eid, fields in rows]


async def _xlen(redis: Redis, prefix: str) -> int:
    return int(await redis.xlen(raw_stream(prefix)))


async def _remembered(redis: Redis, prefix: str) -> int:
    """How many ids the de-duplication window holds."""
    return sum([await redis.scard(key) async for key in redis.scan_iter(match=f"{prefix}:dedup:*")])


def _post_json(client: httpx.AsyncClient, value: Any, path: str = "/v1/articles") -> Any:
    return client.post(path, content=orjson.dumps(value), headers={"Content-Type": "application/json"})


# ---------------------------------------------------------------------------------------------------------
# One article


async def test_post_json_is_accepted_and_published_once(
    client: httpx.AsyncClient, redis: Redis, prefix: str
) -> None:
    fields = article_fields(published_at="2024-01-15T08:07:00", tags=["Trade", "Trade", "Climate"])

    answer = await _post_json(client, fields)

    assert answer.status_code == 202, answer.text
    article_id = answer.json()["id"]
    assert answer.json() == {"id": article_id, "status": "accepted"}
    entries = await _entries(redis, prefix)
    assert len(entries) == 1
    _, entry = entries[0]
    assert list(entry) == [DATA_FIELD.encode()]  # one field, readable by any client
    envelope = orjson.loads(entry[DATA_FIELD.encode()])
    assert envelope["headers"]["event_type"] == RAW_EVENT
    assert envelope["headers"]["correlation_id"] == article_id
    article = codec.decode(entry, RawArticle).body
    assert article.id == article_id
    assert article.title == fields["title"]
    assert article.body == fields["body"]
    assert article.tags == ["Trade", "Climate"]
    assert article.published_at is not None
    assert article.published_at.isoformat() == "2024-01-15T08:07:00+00:00"
    assert article.received_at.tzinfo is not None


async def test_repost_is_a_duplicate_and_publishes_nothing(
    client: httpx.AsyncClient, redis: Redis, prefix: str
) -> None:
    fields = article_fields()
    first = await _post_json(client, fields)
    assert first.status_code == 202

    again = await _post_json(client, fields)
    # Same article, different whitespace: the same id.
    spaced = await _post_json(client, {**fields, "title": f"  {fields['title']} "})

    assert again.status_code == 200
    assert again.json() == {"id": first.json()["id"], "status": "duplicate"}
    assert spaced.status_code == 200
    assert spaced.json()["status"] == "duplicate"
    assert await _xlen(redis, prefix) == 1


async def test_tracking_amp_and_mobile_variants_of_a_url_are_duplicates(
    client: httpx.AsyncClient, redis: Redis, prefix: str
) -> None:
    clean = "https://www.theguardian.com/world/2024/jan/15/north-korea-foreign-minister-moscow-visit"
    path = "world/2024/jan/15/north-korea-foreign-minister-moscow-visit"
    variants = [
        f"{clean}?mc_cid=8d1e2f3a4b&mc_eid=5c6d7e8f90",
        f"{clean}?at_medium=RSS&at_campaign=KARANGA",
        f"{clean}?ito=1490&cmpid=tw&icid=sidebar",
        f"{clean}?_ga=2.1.2.3&fbclid=IwAR3kLmNoPqRsTuV",
        f"{clean}?CMP=share_btn_tw",
        f"{clean}/amp",
        f"{clean}/amp/",
        f"{clean}?outputType=amp",
        f"https://amp.theguardian.com/{path}",
        f"https://m.theguardian.com/{path}",
        f"https://amp-theguardian-com.cdn.ampproject.org/c/s/amp.theguardian.com/{path}",
    ]
    first = await _post_json(client, article_fields(url=clean))
    assert first.status_code == 202, first.text

    for variant in variants:
        # Another title and body: the URL alone identifies the article.
        answer = await _post_json(client, article_fields(url=variant))
        assert (answer.status_code, answer.json()) == (
            200,
            {"id": first.json()["id"], "status": "duplicate"},
        ), variant

    paged = await _post_json(client, article_fields(url=f"{clean}?page=2&utm_source=rss"))
    assert paged.status_code == 202  # a parameter that selects content makes another article
    assert await _xlen(redis, prefix) == 2


async def test_plain_text_post_is_accepted(client: httpx.AsyncClient, redis: Redis, prefix: str) -> None:
    answer = await client.post(
        "/v1/articles",
        content=b"Harbour closes\n\nThe harbour closed at noon.",
        headers={"Content-Type": "text/plain"},
    )
    assert answer.status_code == 202, answer.text
    [(_, entry)] = await _entries(redis, prefix)
    body = codec.decode(entry, RawArticle).body.model_dump(mode="json")
    assert (body["title"], body["body"]) == ("Harbour closes", "The harbour closed at noon.")


async def test_same_article_under_two_prefixes_is_published_to_each(
    redis_url: str, redis: Redis, prefix: str
) -> None:
    fields = article_fields()
    other = f"{prefix}-b"
    try:
        for p in (prefix, other):
            async with running(IngestSettings(redis_url=redis_url, stream_prefix=p)) as c:
                assert (await _post_json(c, fields)).status_code == 202
        assert await _xlen(redis, prefix) == 1
        assert await _xlen(redis, other) == 1
    finally:
        await redis.delete(f"{other}:raw", *[k async for k in redis.scan_iter(match=f"{other}:dedup:*")])


def _oversized() -> dict[str, Any]:
    return article_fields(body="x" * (MAX_BODY + 1))


@pytest.mark.parametrize(
    ("make", "content_type", "status", "needle"),
    [
        pytest.param(lambda: _json_without("body"), "application/json", 422, "body", id="missing-body"),
        pytest.param(lambda: _json_without("title"), "application/json", 422, "title", id="missing-title"),
        pytest.param(
            lambda: orjson.dumps(article_fields(title="   ")),
            "application/json",
            422,
            "title",
            id="blank-title",
        ),
        pytest.param(
            lambda: b'{"title": "t", "body": ', "application/json", 400, "malformed JSON", id="json"
        ),
        pytest.param(
            lambda: b"<article><title>t</title></article>",
            "application/xml",
            415,
            "application/xml",
            id="xml",
        ),
        pytest.param(lambda: orjson.dumps(article_fields()), None, 415, "(none)", id="no-content-type"),
        pytest.param(
            lambda: orjson.dumps(_oversized()),
            "application/json",
            413,
            f"limit of {MAX_BODY} bytes",
            id="big",
        ),
    ],
)
async def test_bad_input_is_refused_with_a_message_and_publishes_nothing(
    client: httpx.AsyncClient,
    redis: Redis,
    prefix: str,
    make: Callable[[], bytes],
    content_type: str | None,
    status: int,
    needle: str,
) -> None:
    assert (await _post_json(client, article_fields())).status_code == 202
    headers = {"Content-Type": content_type} if content_type else {}

    answer = await client.post("/v1/articles", content=make(), headers=headers)

    assert answer.status_code == status, answer.text
    detail = answer.json()["detail"]
    if status == 422:
        assert [err["loc"] for err in detail] == [["body", needle]]
        assert detail[0]["msg"].startswith(f"{needle}: ")
    else:
        assert needle in detail
    assert await _xlen(redis, prefix) == 1
    assert await _remembered(redis, prefix) == 1


def _json_without(field: str) -> bytes:
    fields = article_fields()
    del fields[field]
    return orjson.dumps(fields)


async def test_over_limit_body_is_refused_even_without_content_length(
    client: httpx.AsyncClient, redis: Redis, prefix: str
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        data = orjson.dumps(_oversized())
        for i in range(0, len(data), 512):
            yield data[i : i + 512]

    answer = await client.post("/v1/articles", content=chunks(), headers={"Content-Type": "application/json"})

    assert answer.status_code == 413
    assert f"limit of {MAX_BODY} bytes" in answer.json()["detail"]
    assert await _xlen(redis, prefix) == 0


async def test_a_refused_request_is_counted_as_a_request_and_articles_as_articles(
    client: httpx.AsyncClient,
) -> None:
    refused = metrics.REFUSED.labels(status="413")
    accepted = metrics.INGESTED.labels(status="accepted")
    before = refused._value.get(), accepted._value.get()
    batch = "\n".join(orjson.dumps(article_fields()).decode() for _ in range(3))

    answer = await client.post("/v1/articles", json=_oversized())
    posted = await client.post(
        "/v1/articles/batch", content=batch, headers={"Content-Type": "application/x-ndjson"}
    )

    assert answer.status_code == 413 and posted.status_code == 200
    assert (refused._value.get(), accepted._value.get()) == (before[0] + 1, before[1] + 3)


async def test_refused_article_can_be_posted_once_fixed(
    client: httpx.AsyncClient, redis: Redis, prefix: str
) -> None:
    fields = article_fields()
    assert (await _post_json(client, {**fields, "published_at": "not a time"})).status_code == 422
    assert (await _post_json(client, fields)).status_code == 202
    assert await _xlen(redis, prefix) == 1


# ---------------------------------------------------------------------------------------------------------
# Batches


async def test_ndjson_batch_isolates_the_bad_item_and_reports_duplicates(
    client: httpx.AsyncClient, redis: Redis, prefix: str
) -> None:
    first, second, fourth = article_fields(), article_fields(), article_fields()
    lines = [
        orjson.dumps(first),
        orjson.dumps(second),
        orjson.dumps({"title": "no body here"}),
        orjson.dumps(fourth),
        orjson.dumps(first),  # the same article again inside one batch
    ]

    answer = await client.post(
        "/v1/articles/batch",
        content=b"\n".join(lines) + b"\n",
        headers={"Content-Type": "application/x-ndjson"},
    )

    assert answer.status_code == 200, answer.text
    result = answer.json()
    items = result["items"]
    assert [i["index"] for i in items] == [0, 1, 2, 3, 4]
    assert [i["status"] for i in items] == ["accepted", "accepted", "rejected", "accepted", "duplicate"]
    assert items[2]["id"] is None
    assert items[2]["error"][0]["loc"] == ["body", "body"]
    assert items[2]["error"][0]["msg"] == "body: Field required"
    assert items[4]["id"] == items[0]["id"]
    assert all(i["error"] is None for i in items if i["status"] != "rejected")
    assert (result["accepted"], result["duplicate"], result["rejected"]) == (3, 1, 1)
    published = [
        codec.decode(e, RawArticle).body.model_dump(mode="json") for _, e in await _entries(redis, prefix)
    ]
    assert await _xlen(redis, prefix) == result["accepted"]
    assert [p["id"] for p in published] == [items[0]["id"], items[1]["id"], items[3]["id"]]
    assert [p["title"] for p in published] == [first["title"], second["title"], fourth["title"]]


async def test_ndjson_batch_with_a_malformed_line_rejects_only_that_line(
    client: httpx.AsyncClient, redis: Redis, prefix: str
) -> None:
    raw = b"\n".join([orjson.dumps(article_fields()), b"{not json", orjson.dumps(article_fields())])

    answer = await client.post(
        "/v1/articles/batch", content=raw, headers={"Content-Type": "application/x-ndjson"}
    )

    assert answer.status_code == 200
    items = answer.json()["items"]
    assert [i["status"] for i in items] == ["accepted", "rejected", "accepted"]
    assert items[1]["error"].startswith("line 2: malformed JSON")
    assert await _xlen(redis, prefix) == 2


async def test_json_array_batch_reports_articles_published_earlier_as_duplicates(
    client: httpx.AsyncClient, redis: Redis, prefix: str
) -> None:
    earlier, fresh = article_fields(), article_fields()
    assert (await _post_json(client, earlier)).status_code == 202

    answer = await _post_json(client, [earlier, fresh, "not an object"], path="/v1/articles/batch")

    assert answer.status_code == 200
    result = answer.json()
    assert [i["status"] for i in result["items"]] == ["duplicate", "accepted", "rejected"]
    assert "expected a JSON object" in result["items"][2]["error"][0]["msg"]
    assert await _xlen(redis, prefix) == 2


async def test_batch_over_max_items_is_413_and_publishes_nothing(
    client: httpx.AsyncClient, redis: Redis, prefix: str
) -> None:
    raw = b"\n".join(orjson.dumps(article_fields()) for _ in range(MAX_ITEMS + 1))

    answer = await client.post(
        "/v1/articles/batch", content=raw, headers={"Content-Type": "application/x-ndjson"}
    )

    assert answer.status_code == 413
    assert f"exceeds the limit of {MAX_ITEMS}" in answer.json()["detail"]
    assert await _xlen(redis, prefix) == 0
    assert await _remembered(redis, prefix) == 0


async def test_batch_at_max_items_is_accepted(client: httpx.AsyncClient, redis: Redis, prefix: str) -> None:
    answer = await _post_json(client, [article_fields() for _ in range(MAX_ITEMS)], path="/v1/articles/batch")
    assert answer.status_code == 200
    assert answer.json()["accepted"] == MAX_ITEMS
    assert await _xlen(redis, prefix) == MAX_ITEMS


async def test_batch_that_is_a_json_object_is_422(
    client: httpx.AsyncClient, redis: Redis, prefix: str
) -> None:
    answer = await _post_json(client, article_fields(), path="/v1/articles/batch")
    assert answer.status_code == 422
    assert "array" in answer.json()["detail"]
    assert await _xlen(redis, prefix) == 0


# ---------------------------------------------------------------------------------------------------------
# Health


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    live = await client.get("/healthz")
    ready = await client.get("/readyz")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


async def test_readiness_is_503_when_redis_does_not_answer(prefix: str) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    async with running(IngestSettings(redis_url=dead, stream_prefix=prefix)) as c:
        live = await c.get("/healthz")
        ready = await c.get("/readyz")
        assert live.status_code == 200
        assert ready.status_code == 503
        assert ready.json()["status"] == "unavailable"
        assert "Connect" in ready.json()["error"]
