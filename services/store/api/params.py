"""Query parameters of the store's routes, each declared once: the article filters, times, page sizes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BeforeValidator

from services.contracts import EntityType, iso_8601
from services.store.api.deps import State
from services.store.filters import ArticleFilter

Time = Annotated[datetime, BeforeValidator(iso_8601)]


def _repeated(description: str, example: str) -> Any:
    return Query(max_length=10, description=f"{description}; repeat to require all", examples=[example])


def article_filter(
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
    entity: Annotated[list[str], _repeated("canonical entity name", "Gordon Brown")] = [],  # noqa: B006
    entity_type: Annotated[
        EntityType | None,
        Query(
            description="with entity: the type each named entity must have; alone: any entity of this type"
        ),
    ] = None,
    tag: Annotated[list[str], _repeated("tag", "Politics")] = [],  # noqa: B006
    topic: Annotated[
        list[str], _repeated("IPTC Media Topic code; matches it and every topic below it", "medtop:11000000")
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
) -> ArticleFilter:
    """Read the filters of /v1/articles and /v1/stream; a 400 names any that cannot hold."""
    return ArticleFilter(
        entities=tuple(entity),
        entity_type=entity_type,
        tags=tuple(tag),
        topics=tuple(topic),
        language=language,
        source=source,
        since=since,
        until=until,
        q=q,
    )


Filters = Annotated[ArticleFilter, Depends(article_filter)]


def _page_size(
    store: State,
    limit: Annotated[
        int, Query(ge=1, le=1000, description="items per page; at most MAX_PAGE_SIZE (default 100)")
    ] = 20,
) -> int:
    """Refuse a ``limit`` above the configured page size, as a validation error of that parameter."""
    most = store.settings.max_page_size
    if limit > most:
        raise RequestValidationError(
            [
                {
                    "type": "less_than_equal",
                    "loc": ("query", "limit"),
                    "msg": f"Input should be less than or equal to {most}",
                    "input": limit,
                    "ctx": {"le": most},
                }
            ]
        )
    return limit


PageSize = Annotated[int, Depends(_page_size)]
