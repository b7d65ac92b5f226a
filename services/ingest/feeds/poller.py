"""The feed poller: claim what is due, poll each feed, publish its new items, reschedule it.

Any number of processes poll together: each claims due feeds through the schedule's leases
(services/ingest/feeds/schedule.py), so one feed is polled by one process at a time, at most
FEEDS_CONCURRENCY at once per process. A poll:

1. fetches the feed (``status.current_url`` once a permanent redirect was seen, else its URL) with the
   ETag and Last-Modified of the last answer, so an unchanged feed costs a 304;
2. reads it (a malformed feed as far as it goes, the parser's complaint kept in ``last_error``);
3. publishes each item through ingest's publisher, once per article id within the de-duplication
   window, or queues its page on ``<prefix>:fetch`` (services/ingest/feeds/articles.py);
4. reschedules it by ``after_poll``: its interval, a backoff with jitter after a failure, disabled
   after a 410.

While ingest's backpressure refuses articles, nothing is published and the feed is put back, due again
in a few seconds, its validator and failure count untouched. A lease lasts FETCH_TIMEOUT_S plus
``LEASE_MARGIN_S``; a poll that outlives it is cut short, so no other process polls the feed meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from redis.asyncio import Redis

from services import metrics
from services.errors import NotFound, Unavailable
from services.fetch import Fetcher, FetchError, Validator
from services.ingest.feeds.articles import outgoing
from services.ingest.feeds.items import parse_feed
from services.ingest.feeds.registry import FeedRegistry, FeedView
from services.ingest.feeds.schedule import Lease, Poll, Schedule, after_poll
from services.ingest.guards import Backpressure
from services.ingest.parsing import to_raw
from services.ingest.publisher import Publisher

log = logging.getLogger(__name__)
FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/feed+json",
    "application/xml",
    "text/xml",
    "application/json",
    "text/plain",
    "application/octet-stream",
)
LEASE_MARGIN_S = 30.0  # reading and publishing after the fetch; the poll is cut short before the lease ends
TICK_S = 1.0  # how often the due set is looked at while nothing finishes


@dataclass
class Poller:
    """Poll the feeds of one deployment from this process."""

    redis: Redis
    prefix: str  # as keys are named on ``redis``
    fetcher: Fetcher
    publisher: Publisher  # to <prefix>:raw
    pages: Publisher  # to <prefix>:fetch
    backpressure: Backpressure
    concurrency: int
    fetch_timeout_s: float
    clock: Callable[[], float] = time.time
    rand: Callable[[], float] = random.random
    _tasks: dict[asyncio.Task[None], Lease] = field(default_factory=dict)

    @property
    def lease_s(self) -> float:
        """How long a claim holds a feed."""
        return self.fetch_timeout_s + LEASE_MARGIN_S

    async def run(self, stopping: asyncio.Event) -> None:
        """Claim and poll due feeds until ``stopping`` is set."""
        schedule = Schedule(self.redis, self.prefix)
        while not stopping.is_set():
            free = self.concurrency - len(self._tasks)
            leases: list[Lease] = []
            if free > 0:
                try:
                    leases = await schedule.claim(self.clock(), free, self.lease_s)
                except Exception as exc:  # Redis away: claim again on the next tick
                    log.warning("claiming due feeds failed: %s: %s", type(exc).__name__, exc)
            for lease in leases:
                task = asyncio.create_task(self.poll(lease), name=f"poll-{lease.feed_id}")
                self._tasks[task] = lease
                task.add_done_callback(self._finished)
            if leases and len(leases) == free:
                continue  # more may be due
            woken = asyncio.create_task(stopping.wait())
            await asyncio.wait([woken, *self._tasks], timeout=TICK_S, return_when=asyncio.FIRST_COMPLETED)
            woken.cancel()

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("a poll failed: %s: %s", type(exc).__name__, exc)

    async def stop(self, grace_s: float) -> None:
        """Give polls in flight ``grace_s`` to finish; put the others' feeds back, due at once."""
        if not self._tasks:
            return
        _, late = await asyncio.wait(set(self._tasks), timeout=grace_s)
        leases = [self._tasks[task] for task in late if task in self._tasks]
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        schedule = Schedule(self.redis, self.prefix)
        for lease in leases:
            with contextlib.suppress(Exception):
                await schedule.complete(lease, self.clock())

    async def poll(self, lease: Lease) -> None:
        """Poll the leased feed once and reschedule it (unless it was removed meanwhile)."""
        schedule = Schedule(self.redis, self.prefix)
        try:
            feed = await FeedRegistry(self.redis, self.prefix).get(lease.feed_id)
        except NotFound:  # removed after it was claimed: its lease went with it
            return
        budget = self.lease_s - LEASE_MARGIN_S / 2
        try:
            async with asyncio.timeout(budget):
                poll = await self._poll(feed)
        except Unavailable as exc:
            metrics.FEED_POLLS.labels(outcome="deferred").inc()
            log.info("feed %s put back for %d s: %s", feed.id, exc.retry_after, exc.detail)
            await schedule.complete(lease, self.clock() + exc.retry_after)
            return
        except FetchError as exc:
            poll = Poll(
                getattr(exc, "status", None), error=str(exc), retry_after=getattr(exc, "retry_after", None)
            )
        except TimeoutError:
            poll = Poll(None, error=f"the poll took more than {budget:g} s")
        plan = after_poll(feed.status, poll, interval_s=feed.interval_s, now=self.clock(), rand=self.rand())
        outcome = "disabled" if plan.next_at is None else "ok" if poll.succeeded else "failed"
        outcome = "not_modified" if poll.status == 304 else outcome
        metrics.FEED_POLLS.labels(outcome=outcome).inc()
        log.info(
            "feed %s polled: %s (HTTP %s), %d items, %d new%s",
            feed.id,
            outcome,
            poll.status,
            poll.items_seen,
            poll.items_published,
            f"; {poll.error}" if poll.error else "",
        )
        await schedule.complete(lease, plan.next_at, plan.status)  # False: the lease was lost, nothing done

    async def _poll(self, feed: FeedView) -> Poll:
        """Fetch, read and publish; raise FetchError, or Unavailable while the pipeline is behind."""
        status = feed.status
        url = status.current_url or feed.url
        known = Validator(status.etag, status.last_modified) if status.etag or status.last_modified else None
        result = await self.fetcher.fetch(url, validator=known, accept=FEED_TYPES)
        if result.not_modified:
            return Poll(304, validator=result.validator, permanent_url=result.permanent_url)
        kind = result.content_type + (f"; charset={result.charset}" if result.charset else "")
        parsed = await asyncio.to_thread(parse_feed, result.content, url=result.url, content_type=kind)
        out = outgoing(feed, parsed, now=datetime.now(UTC))
        if len(out):
            await self.backpressure.check(len(out))
        if out.pages:
            await self.backpressure.check_pages(len(out.pages))
        published = await self.publisher.publish([to_raw(a) for a in out.articles])
        queued = await self.pages.publish(out.pages)
        return Poll(
            result.status,
            error=parsed.error,
            items_seen=len(parsed.items) + parsed.skipped,
            items_published=[*published, *queued].count("accepted"),
            validator=result.validator,
            permanent_url=result.permanent_url,
        )
