"""The store's read API under /v1."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel

from services.contracts import EnrichedArticle
from services.store import repository

router = APIRouter(prefix="/v1", tags=["articles"])


class ArticlePage(BaseModel):
    """One page of articles, newest first, and the cursor of the next page (null on the last)."""

    items: list[EnrichedArticle]
    next_cursor: str | None


@router.get(
    "/articles/{article_id}", response_model=EnrichedArticle, responses={404: {"description": "Unknown id"}}
)
async def get_article(article_id: str, request: Request) -> Any:
    """Return one enriched article by id."""
    async with request.app.state.engine.connect() as conn:
        doc = await repository.get_article(conn, article_id=article_id)
    if doc is None:
        raise HTTPException(404, f"no article with id {article_id!r}")
    return doc


@router.get("/articles", response_model=ArticlePage, responses={400: {"description": "Bad cursor"}})
async def list_articles(
    request: Request,
    entity: Annotated[list[str], Query(description="canonical entity name; repeat to require all")] = [],  # noqa: B006
    tag: Annotated[list[str], Query(description="tag; repeat to require all")] = [],  # noqa: B006
    source: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None, Query(max_length=500, description="next_cursor of the previous page")
    ] = None,
) -> Any:
    """List articles newest first, filtered by entity, tag and source, a page at a time."""
    query = repository.ArticleQuery(
        entities=tuple(entity), tags=tuple(tag), source=source, limit=limit, cursor=cursor
    )
    try:
        async with request.app.state.engine.connect() as conn:
            items, next_cursor = await repository.list_articles(conn, query=query)
    except repository.BadCursor as exc:
        raise HTTPException(400, str(exc)) from exc
    return {"items": items, "next_cursor": next_cursor}
