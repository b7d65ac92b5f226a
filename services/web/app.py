"""The FastAPI app every service builds the same way: its name, its lifespan, JSON answers."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def service_app(title: str, description: str, lifespan: Lifespan) -> FastAPI:
    """Build a service's app; routes, error answers and health routes are added by the service."""
    return FastAPI(
        title=title,
        version="1",
        description=description,
        lifespan=lifespan,
        default_response_class=JSONResponse,
    )
