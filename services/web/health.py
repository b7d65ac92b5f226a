"""Liveness, readiness and metrics routes that every HTTP service exposes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest


def add_health_routes(app: FastAPI, ready: Callable[[], Awaitable[Any]]) -> None:
    """Add /healthz (process alive), /readyz (dependencies reachable) and /metrics."""

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """Answer while the process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], responses={503: {"description": "A dependency is unreachable"}})
    async def readyz() -> Response:
        """Answer 200 when Redis (and the database, where used) answer."""
        try:
            await ready()
        except Exception as exc:
            return JSONResponse({"status": "unavailable", "error": f"{type(exc).__name__}: {exc}"}, 503)
        return JSONResponse({"status": "ready"})

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    async def metrics() -> Response:
        """Expose Prometheus counters."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
