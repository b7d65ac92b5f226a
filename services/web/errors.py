"""One answer for every refused request: the RequestError's status, headers and ``{"detail": ...}``.

Redis errors that reach a route are mapped here, at the boundary, to 503 Unavailable.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from services.errors import RequestError, Unavailable


def add_error_handler(
    app: FastAPI, *, count: Callable[[RequestError], None] | None = None, unavailable: str = "try again later"
) -> None:
    """Answer RequestErrors (and Redis being down) raised by a route; ``count`` sees each refusal first.

    ``unavailable`` ends the message of a 503 for Redis being down, e.g. "nothing was published".
    """

    @app.exception_handler(RequestError)
    async def refused(_: Request, exc: RequestError) -> JSONResponse:
        if count is not None:
            count(exc)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RedisError)
    async def redis_down(request: Request, exc: RedisError) -> JSONResponse:
        return await refused(
            request, Unavailable(f"Redis is unavailable ({type(exc).__name__}); {unavailable}")
        )
