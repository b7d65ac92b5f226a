"""The store's read API under /v1: articles by id, and the filtered, searchable article list."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict

from services.contracts import EnrichedArticle, EntityType
from services.store import api_catalog, api_stats, repository
from services.store.params import PageSize, Time, check_page_size

router = APIRouter(prefix="/v1")

BAD_REQUEST: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "A parameter this store cannot answer: bad cursor, topic code, time range or q",
        "content": {
            "application/json": {
                "example": {"detail": "until is before since: give a time range that runs forward"}
            }
        },
    }
}


class ArticlePage(BaseModel):
    """One page of articles and the cursor of the next page (null on the last)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"items": [], "next_cursor": "WyIyMDI0LTAxLTE1VDA4OjA3OjAwKzAwOjAwIiwiYWJjIl0"}]
        }
    )

    items: list[EnrichedArticle]
    next_cursor: str | None


@router.get(
    "/articles/{article_id}",
    response_model=EnrichedArticle,
    tags=["articles"],
    responses={
        404: {
            "description": "Unknown id",
            "content": {"application/json": {"example": {"detail": "no article with id 'abc'"}}},
        }
    },
)
async def get_article(article_id: str, request: Request) -> Any:
    """Return one enriched article by id."""
    async with request.app.state.engine.connect() as conn:
        doc = await repository.get_article(conn, article_id=article_id)
    if doc is None:
        raise HTTPException(404, f"no article with id {article_id!r}")
    return doc


@router.get("/articles", response_model=ArticlePage, tags=["articles"], responses=BAD_REQUEST)
async def list_articles(
    request: Request,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=500,
            description="full-text search over title, summary and body, the same on every engine: words in "
            'any script (all must match; found inside Chinese, Japanese, Korean or Thai text), "a phrase", '
            "-excluded, OR between alternatives",
            examples=['"interest rates" -mortgage'],
        ),
    ] = None,
    entity: Annotated[
        list[str],
        Query(
            max_length=10,
            description="canonical entity name; repeat to require all",
            examples=["Gordon Brown"],
        ),
    ] = [],  # noqa: B006
    entity_type: Annotated[
        EntityType | None,
        Query(
            description="with entity: the type each named entity must have; alone: any entity of this type"
        ),
    ] = None,
    tag: Annotated[
        list[str], Query(max_length=10, description="tag; repeat to require all", examples=["Politics"])
    ] = [],  # noqa: B006
    topic: Annotated[
        list[str],
        Query(
            max_length=10,
            description="IPTC Media Topic code; matches it and every topic below it; repeat to require all",
            examples=["medtop:11000000"],
        ),
    ] = [],  # noqa: B006
    language: Annotated[
        str | None, Query(max_length=16, description="ISO 639-1 code", examples=["en"])
    ] = None,
    source: Annotated[
        str | None, Query(max_length=200, description="source as posted", examples=["bbc"])
    ] = None,
    since: Annotated[
        Time | None,
        Query(
            description="published (else received) at or after this time; naive times are UTC",
            examples=["2024-01-01T00:00:00Z"],
        ),
    ] = None,
    until: Annotated[
        Time | None,
        Query(description="published (else received) before this time", examples=["2024-02-01T00:00:00Z"]),
    ] = None,
    sort: Annotated[
        Literal["published", "relevance"],
        Query(
            description="published: newest first; relevance: best match first (needs q), newest first on ties"
        ),
    ] = "published",
    limit: PageSize = 20,
    cursor: Annotated[
        str | None, Query(max_length=500, description="next_cursor of the previous page")
    ] = None,
) -> Any:
    """List articles that match every filter given, a page at a time."""
    check_page_size(request, limit)
    query = repository.ArticleQuery(
        entities=tuple(entity),
        tags=tuple(tag),
        source=source,
        limit=limit,
        cursor=cursor,
        q=q,
        entity_type=entity_type,
        topics=tuple(topic),
        language=language,
        since=since,
        until=until,
        sort=sort,
    )
    try:
        async with request.app.state.engine.connect() as conn:
            items, next_cursor = await repository.list_articles(conn, query=query)
    except repository.QueryError as exc:
        raise HTTPException(400, str(exc)) from exc
    return {"items": items, "next_cursor": next_cursor}


router.include_router(api_catalog.router)
router.include_router(api_stats.router)
