"""The live feed hub: one plain XREAD reader per process fanning enriched articles out to its clients.

Each client has its own queue. The hub never waits on a client: a client whose queue is full is
dropped, told so, and catches up by reconnecting with its last event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis

from services.errors import Unavailable
from services.runtime import ids
from services.store.feed.filters import Ancestors, FeedEvent, decode_event, matches, no_ancestors
from services.store.filters import ArticleFilter

log = logging.getLogger(__name__)
Rows = list[tuple[bytes, dict[bytes, bytes]]]

REPLAY_PAGE = 200
FELL_BEHIND = "this client fell behind the live feed: reconnect with Last-Event-ID to catch up"


@dataclass(frozen=True)
class Closed:
    """The end of a client's feed; ``reason`` is set when the client was dropped."""

    reason: str | None = None


class FeedClient:
    """One open feed: its filter, where the live tail starts for it, and its queue."""

    def __init__(self, flt: ArticleFilter, start: ids.EntryId) -> None:
        self.filter = flt
        self.start = start
        # Unbounded so a sentinel always fits; the hub enforces the bound itself.
        self.queue: asyncio.Queue[FeedEvent | Closed] = asyncio.Queue()

    def close(self, reason: str | None = None) -> None:
        """End the feed: drop what is queued and wake the reader with the reason."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(Closed(reason))


class FeedHub:
    """Read ``stream`` with XREAD from its tail and fan each article out to the matching clients."""

    def __init__(
        self,
        redis: Redis,
        stream: str,
        *,
        max_clients: int = 100,
        queue_size: int = 1000,
        block_ms: int = 1000,
        batch: int = 100,
        ancestors: Ancestors = no_ancestors,
    ) -> None:
        self.redis = redis
        self.stream = stream
        self.max_clients = max_clients
        self.queue_size = queue_size
        self.block_ms = block_ms
        self.batch = batch
        self.ancestors = ancestors
        self.last: ids.EntryId = ids.ZERO
        self.clients: set[FeedClient] = set()
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        """Start reading at the stream's current tail."""
        self.last = await self.tail()
        self._task = asyncio.create_task(self._run(), name=f"feed-{self.stream}")

    async def stop(self) -> None:
        """End every open feed, then let the reader finish its current XREAD and stop."""
        self._stopping.set()
        for client in list(self.clients):
            client.close()
        self.clients.clear()
        if self._task is not None:
            # Cancelling a redis-py command mid-flight can leave it waiting on its socket: let it return.
            done, _ = await asyncio.wait({self._task}, timeout=self.block_ms / 1000 + 5)
            if not done:
                self._task.cancel()
            self._task = None

    async def tail(self) -> ids.EntryId:
        """The id of the stream's last entry, ids.ZERO when it is empty: ``$`` taken as a value."""
        last = cast(Rows, await self.redis.xrevrange(self.stream, count=1))
        return ids.parse(last[0][0]) if last else ids.ZERO

    def subscribe(self, flt: ArticleFilter) -> FeedClient:
        """Open a feed whose live part is every entry after what the hub has handed out so far."""
        if len(self.clients) >= self.max_clients:
            raise Unavailable(f"all {self.max_clients} live feeds of this server are open; retry later")
        client = FeedClient(flt, self.last)
        self.clients.add(client)
        return client

    def unsubscribe(self, client: FeedClient) -> None:
        """Forget a client; safe to call more than once."""
        self.clients.discard(client)

    async def replay(
        self, after: ids.EntryId, upto: ids.EntryId, flt: ArticleFilter
    ) -> AsyncIterator[FeedEvent]:
        """Yield the matching entries after ``after`` (exclusive) up to ``upto`` (inclusive)."""
        low = after
        while low < upto:
            page = cast(
                Rows, await self.redis.xrange(self.stream, min=f"({low}", max=str(upto), count=REPLAY_PAGE)
            )
            if not page:
                return
            for entry_id, fields in page:
                event = decode_event(entry_id, fields)
                low = ids.parse(entry_id)
                if event is not None and matches(event.article, flt, self.ancestors):
                    yield event
            if len(page) < REPLAY_PAGE:
                return

    def dispatch(self, entries: Sequence[tuple[Any, Any]]) -> None:
        """Hand entries to every matching client; no await, so ``last`` and the queues move together."""
        for entry_id, fields in entries:
            event = decode_event(entry_id, fields)
            self.last = ids.parse(entry_id)
            if event is not None:
                self._fan_out(event, list(self.clients))

    def _fan_out(self, event: FeedEvent, clients: Iterable[FeedClient]) -> None:
        for client in clients:
            if not matches(event.article, client.filter, self.ancestors):
                continue
            if client.queue.qsize() >= self.queue_size:
                log.warning("feed client dropped at entry %s: its queue is full", event.entry_id)
                self.unsubscribe(client)
                client.close(FELL_BEHIND)
                continue
            client.queue.put_nowait(event)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                answer: Any = await self.redis.xread(
                    {self.stream: str(self.last)}, count=self.batch, block=self.block_ms
                )
            except Exception as exc:
                # Redis away or restarting: keep the open feeds and try again shortly.
                log.warning("feed cannot read %s: %s", self.stream, exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), 1)
                continue
            for _stream, entries in answer or []:
                self.dispatch(entries)
