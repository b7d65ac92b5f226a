"""The AsyncAPI document of this deployment's streams, served as JSON, YAML and a page."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse, JSONResponse

from services.store.api.deps import State
from services.tools.asyncapi import asyncapi_document, asyncapi_html, render_asyncapi_yaml

router = APIRouter(tags=["streams"])


@router.get("/asyncapi.json", summary="AsyncAPI document of the streams (JSON)")
async def as_json(store: State) -> Response:
    """Describe this deployment's streams and their messages as AsyncAPI 3.0 JSON."""
    return JSONResponse(asyncapi_document(store.settings.stream_prefix, store.settings.redis_url))


@router.get(
    "/asyncapi.yaml",
    summary="AsyncAPI document of the streams (YAML)",
    responses={200: {"content": {"application/yaml": {}}}},
)
async def as_yaml(store: State) -> Response:
    """Describe this deployment's streams and their messages as AsyncAPI 3.0 YAML."""
    text = render_asyncapi_yaml(store.settings.stream_prefix, store.settings.redis_url)
    return Response(text, media_type="application/yaml")


@router.get("/asyncapi", response_class=HTMLResponse, summary="AsyncAPI document of the streams (HTML)")
async def as_page(store: State) -> Response:
    """Render the AsyncAPI document in a browser (the viewer script loads from a CDN)."""
    return HTMLResponse(asyncapi_html(store.settings.stream_prefix, store.settings.redis_url))
