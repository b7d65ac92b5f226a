"""The store's read API under /v1: articles by id, and the filtered, searchable article list."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from services.contracts import EnrichedArticle
from services.errors import NotFound
from services.store.api import catalog, stats
from services.store.api.deps import Connection
from services.store.api.params import Filters, PageSize
from services.store.db import repository
from services.store.db.queries import ArticleQuery

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
async def get_article(article_id: str, conn: Connection) -> EnrichedArticle:
    """Return one enriched article by id."""
    article = await repository.get_article(conn, article_id=article_id)
    if article is None:
        raise NotFound(f"no article with id {article_id!r}")
    return article


@router.get("/articles", response_model=ArticlePage, tags=["articles"], responses=BAD_REQUEST)
async def list_articles(
    conn: Connection,
    filters: Filters,
    limit: PageSize,
    sort: Annotated[
        Literal["published", "relevance"],
        Query(
            description="published: newest first; relevance: best match first (needs q), newest first on ties"
        ),
    ] = "published",
    cursor: Annotated[
        str | None, Query(max_length=500, description="next_cursor of the previous page")
    ] = None,
) -> ArticlePage:
    """List articles that match every filter given, a page at a time."""
    query = ArticleQuery.of(filters, limit=limit, cursor=cursor, sort=sort)
    items, next_cursor = await repository.list_articles(conn, query=query)
    return ArticlePage(items=items, next_cursor=next_cursor)


router.include_router(catalog.router)
router.include_router(stats.router)
