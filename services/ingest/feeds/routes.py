"""Ingest's /v1/feeds routes: register, list, show and remove the feeds to poll; import OPML.

Writes need the API keys articles need (INGEST_API_KEYS) and count against the client's rate; reads are
open, as every read of ingest is. Feeds live in the Redis the app connects to on first use.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from services.errors import Unprocessable, UnsupportedMediaType
from services.ingest.feeds.opml import parse_opml
from services.ingest.feeds.registry import (
    DEFAULT_INTERVAL_S,
    MAX_INTERVAL_S,
    MIN_INTERVAL_S,
    FeedIn,
    FeedRegistry,
    FeedView,
    Imported,
    import_feeds,
)
from services.ingest.parsing import JSON_TYPES, load_json, media_type, validation_detail
from services.ingest.routes import Deps, Ingest, admit, read_body
from services.ingest.settings import IngestSettings
from services.web.auth import parse_keys, require_key


class FeedList(BaseModel):
    """Every registered feed with its status."""

    items: list[FeedView]


class ImportResult(BaseModel):
    """Per-outline outcomes and totals of an OPML import."""

    items: list[Imported]
    created: int
    exists: int
    rejected: int


_FEED_BODY = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": FeedIn.model_json_schema()}}}
}
_OPML_BODY = {
    "requestBody": {
        "required": True,
        "content": {kind: {"schema": {"type": "string"}} for kind in ("text/x-opml", "application/xml")},
    }
}
_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid API key"},
    429: {"description": "Rate limit exceeded; see Retry-After"},
    503: {"description": "Redis unreachable; see Retry-After"},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No feed has this id"}}


def _registry(ingest: Ingest) -> FeedRegistry:
    return FeedRegistry(ingest.redis, ingest.settings.stream_prefix)


def feeds_router(settings: IngestSettings) -> APIRouter:
    """The feed routes; writes behind the API keys of ``settings`` and the client's rate limit."""
    writes = [Depends(require_key(parse_keys(settings.ingest_api_keys))), Depends(admit)]
    router = APIRouter(prefix="/v1/feeds", tags=["feeds"])
    router.add_api_route(
        "",
        add_feed,
        methods=["POST"],
        status_code=201,
        response_model=FeedView,
        dependencies=writes,
        openapi_extra=_FEED_BODY,
        responses={
            400: {"description": "Malformed JSON"},
            409: {"description": "The URL (once canonical) is registered; the answer names its id"},
            413: {"description": "Body too large"},
            415: {"description": "Not JSON"},
            422: {"description": "Not an http(s) URL, or a field out of bounds"},
            **_WRITE_ERRORS,
        },
    )
    router.add_api_route("", list_feeds, methods=["GET"], response_model=FeedList)
    router.add_api_route(
        "/opml",
        import_opml,
        methods=["POST"],
        response_model=ImportResult,
        dependencies=writes,
        openapi_extra=_OPML_BODY,
        responses={413: {"description": "Body too large"}, 422: {"description": "Not OPML"}, **_WRITE_ERRORS},
    )
    router.add_api_route(
        "/{feed_id}", get_feed, methods=["GET"], response_model=FeedView, responses=_NOT_FOUND
    )
    router.add_api_route(
        "/{feed_id}",
        remove_feed,
        methods=["DELETE"],
        status_code=204,
        response_class=Response,
        dependencies=writes,
        responses={**_NOT_FOUND, **_WRITE_ERRORS},
    )
    return router


async def add_feed(request: Request, ingest: Deps) -> JSONResponse:
    """Register a feed (JSON), due for its first poll at once."""
    kind = media_type(request.headers.get("content-type"))
    if kind not in JSON_TYPES and not kind.endswith("+json"):
        raise UnsupportedMediaType(f"unsupported Content-Type {kind or '(none)'!r}: send application/json")
    fields = load_json(await read_body(request, ingest.settings.max_body_bytes))
    if not isinstance(fields, dict):
        raise Unprocessable(
            [{"loc": ["body"], "msg": "expected a JSON object with url", "type": "model_type"}]
        )
    try:
        feed = FeedIn.model_validate(fields)
    except ValidationError as exc:
        raise Unprocessable(validation_detail(exc)) from exc
    added = await _registry(ingest).add(feed)
    return JSONResponse(
        added.model_dump(mode="json"), status_code=201, headers={"Location": f"/v1/feeds/{added.id}"}
    )


async def list_feeds(ingest: Deps) -> FeedList:
    """Every feed with its status, in the order they were registered."""
    return FeedList(items=await _registry(ingest).list())


async def get_feed(feed_id: str, ingest: Deps) -> FeedView:
    """One feed with its status."""
    return await _registry(ingest).get(feed_id)


async def remove_feed(feed_id: str, ingest: Deps) -> Response:
    """Stop polling a feed and forget it; articles it brought stay."""
    await _registry(ingest).remove(feed_id)
    return Response(status_code=204)


async def import_opml(
    request: Request,
    ingest: Deps,
    interval_s: int = Query(DEFAULT_INTERVAL_S, ge=MIN_INTERVAL_S, le=MAX_INTERVAL_S),
    fetch_pages: bool = Query(False),
) -> ImportResult:
    """Register every feed an OPML document names; one bad or known outline never stops the others."""
    body = await read_body(request, ingest.settings.max_batch_bytes)
    try:
        outlines = parse_opml(body)
    except ValueError as exc:
        raise Unprocessable(f"not an OPML document: {exc}") from exc
    items = await import_feeds(_registry(ingest), outlines, interval_s=interval_s, fetch_pages=fetch_pages)
    counts = {s: sum(1 for i in items if i.status == s) for s in ("created", "exists", "rejected")}
    return ImportResult(items=items, **counts)
