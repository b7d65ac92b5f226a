"""Query parameters shared by the store's list endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.exceptions import RequestValidationError

PageSize = Annotated[
    int, Query(ge=1, le=1000, description="items per page; at most MAX_PAGE_SIZE (default 100)")
]


def check_page_size(request: Request, limit: int) -> None:
    """Refuse a ``limit`` above the configured page size, as a validation error of that parameter."""
    most = request.app.state.settings.max_page_size
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
