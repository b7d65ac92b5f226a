"""The live feed over HTTP: GET /v1/stream sends the hub's articles to each client as Server-Sent Events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
import orjson
from fastapi import APIRouter, Header, Query, Response
from redis.asyncio import Redis
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.background import BackgroundTask

from services.contracts import enriched_stream
from services.errors import BadRequest, Unavailable
from services.runtime import ids
from services.store.api.deps import State
from services.store.api.params import Filters
from services.store.feed.filters import FeedEvent, topic_ancestors
from services.store.feed.hub import Closed, FeedClient, FeedHub
from services.store.settings import StoreSettings


def feed_hub(settings: StoreSettings, redis: Redis) -> FeedHub:
    """Build the store's hub over ``<prefix>:enriched`` from its settings."""
    return FeedHub(
        redis,
        enriched_stream(settings.stream_prefix),
        max_clients=settings.feed_max_clients,
        queue_size=settings.feed_queue_size,
        block_ms=settings.poll_ms,
        ancestors=topic_ancestors(),
    )


router = APIRouter(prefix="/v1", tags=["feed"])
_EVENTS = {
    "content": {
        "text/event-stream": {"example": 'id: 1718000000000-0\nevent: article\ndata: {"id": ...}\n\n'}
    }
}


def _sse(**fields: Any) -> ServerSentEvent:
    return ServerSentEvent(sep="\n", **fields)  # plain LF line ends, which every SSE parser reads


def _article(event: FeedEvent) -> ServerSentEvent:
    return _sse(data=event.data, event="article", id=event.entry_id)


async def _close_on(shutdown: anyio.Event, client: FeedClient) -> None:
    await shutdown.wait()
    client.close()


async def feed_events(
    hub: FeedHub, client: FeedClient, after: ids.EntryId, shutdown: anyio.Event | None = None
) -> AsyncIterator[ServerSentEvent]:
    """Yield what came after ``after``, then the live tail, then an error event if the client was dropped."""
    last = after
    # On server shutdown the feed ends itself, so the response closes cleanly instead of being cut.
    watcher = asyncio.create_task(_close_on(shutdown, client)) if shutdown is not None else None
    try:
        yield _sse(comment="connected")  # lets clients and proxies see the stream open
        async for event in hub.replay(after, client.start, client.filter):
            last = event.key
            yield _article(event)
        while True:
            item = await client.queue.get()
            if isinstance(item, Closed):
                if item.reason:
                    yield _sse(event="error", data=orjson.dumps({"detail": item.reason}).decode())
                return
            if item.key > last:  # never send an entry twice across the replay and the live tail
                last = item.key
                yield _article(item)
    finally:
        if watcher is not None:
            watcher.cancel()
        hub.unsubscribe(client)


@router.get(
    "/stream",
    responses={
        200: _EVENTS,
        400: {"description": "Bad filter or Last-Event-ID"},
        503: {"description": "Every feed slot is taken, or the stream cannot be read; see Retry-After"},
    },
)
async def stream(
    store: State,
    filters: Filters,
    last_event_id: Annotated[str | None, Query(description="as the Last-Event-ID header")] = None,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Response:
    """Follow newly enriched articles as Server-Sent Events, with the filters of /v1/articles."""
    resume = last_event_id_header or last_event_id
    try:
        after = ids.parse(resume) if resume else None
    except BadRequest as exc:
        raise BadRequest(f"Last-Event-ID: {exc.detail}") from None
    hub = store.feed_hub
    client = hub.subscribe(filters)
    if after is None:
        try:
            after = await hub.tail()  # without a resume point the feed starts at the tail as it is now
        except Exception as exc:
            hub.unsubscribe(client)
            raise Unavailable(f"the stream cannot be read now ({type(exc).__name__}); retry later") from exc
    heartbeat, shutdown = store.settings.feed_heartbeat_s, anyio.Event()
    return EventSourceResponse(
        feed_events(hub, client, after, shutdown),
        shutdown_event=shutdown,
        shutdown_grace_period=5,
        ping=heartbeat,
        ping_message_factory=lambda: _sse(comment="heartbeat"),
        sep="\n",
        send_timeout=max(30.0, 2 * heartbeat),  # a socket that accepts nothing for this long is cut
        background=BackgroundTask(hub.unsubscribe, client),  # also frees the slot if streaming never began
    )
