"""Ingest's HTTP app: accept articles, give each its id, publish each once to the raw stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services import metrics
from services.auth import client_id, parse_keys, require_key
from services.contracts import ArticleIn
from services.health import add_health_routes
from services.ingest.guards import Backpressure, RateLimiter
from services.ingest.parsing import BadInput, article_from_body, article_from_fields, batch_items, to_raw
from services.ingest.publisher import Publisher
from services.ingest.settings import IngestSettings


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


# A title line and some body after it: the least a plain-text article needs.
PLAIN_TEXT_PATTERN = r"\S[^\n]*\n\s*\S"
_ARTICLE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": ArticleIn.model_json_schema()},
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
        raise BadInput(413, f"request body of {declared} bytes exceeds the limit of {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadInput(413, f"request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    """Build the ingest app; Redis is connected in the lifespan."""
    cfg = settings or IngestSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis = Redis.from_url(cfg.redis_url)
        app.state.redis = redis
        app.state.publisher = Publisher(redis, cfg.stream_prefix, cfg.stream_maxlen)
        app.state.limiter = RateLimiter(redis, cfg.stream_prefix, cfg.rate_limit_per_s, cfg.rate_limit_burst)
        app.state.backpressure = Backpressure(redis, cfg.stream_prefix, cfg.max_raw_lag)
        try:
            yield
        finally:
            await redis.aclose()

    app = FastAPI(
        title="Wirestream ingest",
        version="1",
        description="Post news articles; each is published once to the raw stream for enrichment.",
        lifespan=lifespan,
        default_response_class=JSONResponse,
    )

    async def admit(request: Request) -> None:
        """Refuse a write when its client is over its rate or the pipeline is over its lag."""
        wait = await app.state.limiter.retry_after(client_id(request))
        if wait:
            metrics.THROTTLED.labels(reason="rate_limit").inc()
            raise HTTPException(
                429,
                f"rate limit of {cfg.rate_limit_per_s:g} requests/s exceeded",
                headers={"Retry-After": str(wait)},
            )
        if await app.state.backpressure.overloaded():
            metrics.THROTTLED.labels(reason="backpressure").inc()
            raise HTTPException(
                503,
                f"enrichment is {await app.state.backpressure.lag()} articles behind; retry later",
                headers={"Retry-After": "5"},
            )

    writes = [Depends(require_key(parse_keys(cfg.ingest_api_keys))), Depends(admit)]
    write_errors: dict[int | str, dict[str, Any]] = {
        401: {"description": "Missing or invalid API key"},
        429: {"description": "Rate limit exceeded; see Retry-After"},
        503: {"description": "Pipeline overloaded or Redis unreachable; see Retry-After"},
    }

    @app.exception_handler(RedisError)
    async def redis_down(_: Request, exc: RedisError) -> JSONResponse:
        metrics.INGESTED.labels(status="unavailable").inc()
        return JSONResponse(
            {"detail": f"Redis is unavailable ({type(exc).__name__}); nothing was published"},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(BadInput)
    async def bad_input(_: Request, exc: BadInput) -> JSONResponse:
        metrics.INGESTED.labels(status=f"rejected_{exc.status}").inc()
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    @app.post(
        "/v1/articles",
        status_code=202,
        response_model=Accepted,
        openapi_extra=_ARTICLE_BODY,
        dependencies=writes,
        responses={
            200: {"model": Accepted, "description": "Already published: nothing was published again"},
            400: {"description": "Malformed body"},
            413: {"description": "Body too large"},
            415: {"description": "Unsupported Content-Type or charset"},
            422: {"description": "Invalid article"},
            **write_errors,
        },
    )
    async def post_article(request: Request) -> Any:
        """Accept one article as JSON or as plain text in the seed layout."""
        raw = await read_body(request, cfg.max_body_bytes)
        article = to_raw(article_from_body(raw, request.headers.get("content-type")))
        [outcome] = await app.state.publisher.publish([article])
        metrics.INGESTED.labels(status=outcome).inc()
        return JSONResponse(
            {"id": article.id, "status": outcome}, status_code=202 if outcome == "accepted" else 200
        )

    @app.post(
        "/v1/articles/batch",
        response_model=BatchResult,
        openapi_extra=_BATCH_BODY,
        dependencies=writes,
        responses={
            400: {"description": "Malformed body"},
            413: {"description": "Body or batch too large"},
            415: {"description": "Unsupported Content-Type or charset"},
            422: {"description": "A JSON body that is not an array of articles"},
            **write_errors,
        },
    )
    async def post_batch(request: Request) -> BatchResult:
        """Accept many articles (NDJSON or a JSON array); one bad item never rejects the others."""
        raw = await read_body(request, cfg.max_batch_bytes)
        items: list[BatchItem] = []
        valid = []
        for index, fields in enumerate(
            batch_items(raw, request.headers.get("content-type"), cfg.max_batch_items)
        ):
            try:
                if isinstance(fields, BadInput):
                    raise fields
                article = to_raw(article_from_fields(fields))
            except BadInput as exc:
                items.append(BatchItem(index=index, status="rejected", error=exc.detail))
                continue
            items.append(BatchItem(index=index, id=article.id, status="accepted"))
            valid.append((len(items) - 1, article))
        outcomes = await app.state.publisher.publish([a for _, a in valid])
        for (pos, _), outcome in zip(valid, outcomes, strict=True):
            items[pos].status = outcome
        counts = {s: sum(1 for i in items if i.status == s) for s in ("accepted", "duplicate", "rejected")}
        for status, n in counts.items():
            metrics.INGESTED.labels(status=status).inc(n)
        return BatchResult(items=items, **counts)

    add_health_routes(app, ready=lambda: app.state.redis.ping())
    return app
