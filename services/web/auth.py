"""Optional bearer API keys, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.middleware.base import RequestResponseEndpoint

from services.errors import Unauthorized


def parse_keys(value: str) -> frozenset[str]:
    """Split a comma-separated key list, ignoring blanks."""
    return frozenset(k.strip() for k in value.split(",") if k.strip())


def bearer(request: Request) -> str | None:
    """Return the token of an ``Authorization: Bearer <token>`` header."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def key_matches(token: str, keys: frozenset[str]) -> bool:
    """Compare ``token`` against every key without stopping early, so timing reveals nothing."""
    digest = hashlib.sha256(token.encode()).digest()
    found = False
    for key in keys:
        found |= hmac.compare_digest(digest, hashlib.sha256(key.encode()).digest())
    return found


def client_id(request: Request) -> str:
    """Identify the caller for rate limiting: a hash of its key, else its address."""
    token = bearer(request)
    if token:
        return "key:" + hashlib.sha256(token.encode()).hexdigest()[:16]
    return "ip:" + (request.client.host if request.client else "unknown")


def require_key(keys: frozenset[str]) -> Callable[[Request], Awaitable[None]]:
    """Build a dependency that refuses requests without one of ``keys`` (no keys: everyone passes)."""

    async def check(request: Request) -> None:
        if not keys:
            return
        token = bearer(request)
        if token is None or not key_matches(token, keys):
            raise Unauthorized()

    return check


def protect_reads(app: FastAPI, keys: frozenset[str], prefix: str = "/v1/") -> None:
    """Require one of ``keys`` on every GET under ``prefix``; health, metrics and docs stay open."""
    if not keys:
        return

    @app.middleware("http")
    async def check_read_key(request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.method in ("GET", "HEAD") and request.url.path.startswith(prefix):
            token = bearer(request)
            if token is None or not key_matches(token, keys):
                refused = Unauthorized()  # middleware answers itself: no exception handler runs here
                return JSONResponse({"detail": refused.detail}, refused.status, headers=refused.headers)
        return await call_next(request)
