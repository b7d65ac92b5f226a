"""Ingest's routes: accept articles, give each its id, publish each once to the raw stream."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from redis.asyncio import Redis

from services import metrics
from services.contracts import MAX_URL, ArticleIn, PageRequest, RawArticle, raw_stream
from services.errors import PayloadTooLarge, RequestError, TooManyRequests
from services.ingest.guards import Backpressure, RateLimiter
from services.ingest.pages.queue import page_queue, page_request
from services.ingest.parsing import article_from_fields, batch_items, post_from_body, to_raw
from services.ingest.publisher import Publisher
from services.ingest.settings import IngestSettings
from services.runtime.connection import Once, on_keyspace, open_redis
from services.runtime.groups import Protected
from services.runtime.retention import Retention
from services.web.auth import client_id, parse_keys, require_key


@dataclass(frozen=True)
class Ingest:
    """What the routes use, built once in the app's lifespan."""

    settings: IngestSettings
    redis: Redis
    publisher: Publisher
    pages: Publisher
    limiter: RateLimiter
    backpressure: Backpressure
    retention: Retention

    @classmethod
    async def connect(cls, settings: IngestSettings) -> Ingest:
        """Connect to Redis, learn whether it is a cluster, and build the publisher and the guards.

        Raises redis' ConnectionError when Redis does not answer.
        """
        redis = await open_redis(settings.redis_url)
        settings = on_keyspace(settings, redis)
        prefix = settings.stream_prefix
        return cls(
            settings=settings,
            redis=redis,
            publisher=Publisher(
                redis,
                prefix,
                window=settings.dedup_window,
                buckets=settings.dedup_buckets,
                durability=settings.durability,
            ),
            pages=page_queue(redis, settings),
            limiter=RateLimiter(redis, prefix, settings.rate_limit_per_s, settings.rate_limit_burst),
            backpressure=Backpressure(redis, settings),
            retention=Retention(
                redis,
                raw_stream(prefix),
                Protected.of(prefix, raw_stream(prefix), settings.protected),
                settings.stream_retention,
                settings.stream_maxlen,
            ),
        )


async def _ingest(request: Request) -> Ingest:
    connection: Once[Ingest] = request.app.state.ingest
    return await connection.get()


Deps = Annotated[Ingest, Depends(_ingest)]


class Accepted(BaseModel):
    """The answer to one posted article."""

    id: str
    status: Literal["accepted", "duplicate"]


class BatchItem(BaseModel):
    """The outcome of one batch item, by its position in the request."""

    index: int
    id: str | None = None
    status: Literal["accepted", "duplicate", "rejected"]
    error: Any = None


class BatchResult(BaseModel):
    """Per-item outcomes and totals of a batch."""

    items: list[BatchItem]
    accepted: int
    duplicate: int
    rejected: int


# A page to fetch: its URL alone.
_PAGE = {
    "title": "Page",
    "description": "A page to fetch: its main text becomes the article (answered at once, fetched later)",
    "type": "object",
    "properties": {"url": {"type": "string", "minLength": 1, "maxLength": MAX_URL, "pattern": "^https?://"}},
    "required": ["url"],
    "additionalProperties": False,
}
# A title line and some body after it: the least a plain-text article needs.
PLAIN_TEXT_PATTERN = r"\S[^\n]*\n\s*\S"
_ARTICLE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"anyOf": [ArticleIn.model_json_schema(), _PAGE]}},
            "text/plain": {
                "schema": {"type": "string", "pattern": PLAIN_TEXT_PATTERN},
                "example": "Harbour reopens after storm\nThe harbour reopened on Monday.",
            },
        },
    }
}
_BATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-ndjson": {
                "schema": {"type": "string"},
                "example": '{"title": "A", "body": "B"}\n',
            },
            "application/json": {"schema": {"type": "array", "items": ArticleIn.model_json_schema()}},
        },
    }
}


async def read_body(request: Request, limit: int) -> bytes:
    """Read the request body, refusing more than ``limit`` bytes before buffering them."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body of {declared} bytes exceeds the limit of {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def admit(request: Request, ingest: Deps) -> None:
    """Refuse a write when its client is over its rate."""
    wait = await ingest.limiter.retry_after(client_id(request))
    if wait:
        metrics.THROTTLED.labels(reason="rate_limit").inc()
        rate = ingest.settings.rate_limit_per_s
        raise TooManyRequests(f"rate limit of {rate:g} requests/s exceeded", retry_after=wait)


_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid API key"},
    429: {"description": "Rate limit exceeded; see Retry-After"},
    503: {
        "description": "Pipeline overloaded, Redis unreachable, or (INGEST_WAIT_AOF) the write not fsynced "
        "in time; see Retry-After"
    },
}


def ingest_router(settings: IngestSettings) -> APIRouter:
    """The write routes, behind the API keys of ``settings`` and the pipeline's guards."""
    router = APIRouter(
        dependencies=[Depends(require_key(parse_keys(settings.ingest_api_keys))), Depends(admit)]
    )
    router.add_api_route(
        "/v1/articles",
        post_article,
        methods=["POST"],
        status_code=202,
        response_model=Accepted,
        openapi_extra=_ARTICLE_BODY,
        responses={
            200: {"model": Accepted, "description": "Already published: nothing was published again"},
            400: {"description": "Malformed body"},
            413: {"description": "Body too large"},
            415: {"description": "Unsupported Content-Type or charset"},
            422: {"description": "Invalid article"},
            **_WRITE_ERRORS,
        },
    )
    router.add_api_route(
        "/v1/articles/batch",
        post_batch,
        methods=["POST"],
        response_model=BatchResult,
        openapi_extra=_BATCH_BODY,
        responses={
            400: {"description": "Malformed body"},
            413: {"description": "Body or batch too large"},
            415: {"description": "Unsupported Content-Type or charset"},
            422: {"description": "A JSON body that is not an array of articles"},
            **_WRITE_ERRORS,
        },
    )
    return router


async def post_article(request: Request, ingest: Deps) -> Any:
    """Accept one article as JSON or as plain text in the seed layout, or a page to fetch (JSON with
    ``url`` alone), answered with the id its article will carry."""
    raw = await read_body(request, ingest.settings.max_body_bytes)
    posted = post_from_body(raw, request.headers.get("content-type"))
    await ingest.backpressure.check(1)
    if isinstance(posted, str):
        await ingest.backpressure.check_pages(1)
        entry: RawArticle | PageRequest = page_request(posted)
        [outcome] = await ingest.pages.publish([entry])
    else:
        entry = to_raw(posted)
        [outcome] = await ingest.publisher.publish([entry])
    metrics.INGESTED.labels(status=outcome).inc()
    return JSONResponse(
        {"id": entry.id, "status": outcome}, status_code=202 if outcome == "accepted" else 200
    )


async def post_batch(request: Request, ingest: Deps) -> BatchResult:
    """Accept many articles (NDJSON or a JSON array); one bad item never rejects the others."""
    cfg = ingest.settings
    raw = await read_body(request, cfg.max_batch_bytes)
    items: list[BatchItem] = []
    valid = []
    for index, fields in enumerate(
        batch_items(raw, request.headers.get("content-type"), cfg.max_batch_items)
    ):
        try:
            if isinstance(fields, RequestError):
                raise fields
            article = to_raw(article_from_fields(fields))
        except RequestError as exc:
            items.append(BatchItem(index=index, status="rejected", error=exc.detail))
            continue
        items.append(BatchItem(index=index, id=article.id, status="accepted"))
        valid.append((len(items) - 1, article))
    await ingest.backpressure.check(len(valid))
    outcomes = await ingest.publisher.publish([a for _, a in valid])
    for (pos, _), outcome in zip(valid, outcomes, strict=True):
        items[pos].status = outcome
    counts = {s: sum(1 for i in items if i.status == s) for s in ("accepted", "duplicate", "rejected")}
    for status, n in counts.items():
        metrics.INGESTED.labels(status=status).inc(n)
    return BatchResult(items=items, **counts)
