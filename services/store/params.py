"""Query parameters shared by the store's list endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BeforeValidator


def _iso_8601(value: Any) -> Any:
    # pydantic would read "0.0" or "1700000000" as Unix seconds; the API documents ISO 8601 alone.
    if isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("expected an ISO 8601 time such as 2024-01-01T00:00:00Z")
    return value


Time = Annotated[datetime, BeforeValidator(_iso_8601)]

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
