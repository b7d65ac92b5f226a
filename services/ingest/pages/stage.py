"""The fetch stage: read ``<prefix>:fetch``, fetch each page, publish its article to ``<prefix>:raw``.

A batch's pages are fetched at once (the fetcher keeps each host's turns); each ends one way:

- published: the page's article (page.py's ``merged``), under the id it was announced with;
- fallback: a feed item whose page cannot be had (refused, gone, not HTML, no main text) is published
  as the feed gave it;
- dead: a page posted alone that cannot be had is dead-lettered with the reason (the fetch error's,
  ``http_status: HTTP 404 (...)``, or the extractor's, ``no_text: ...``), and its id is given back to
  the de-duplication window, so a later post of its URL is fetched again;
- retried: a timeout, a network error or a busy server (429, 5xx) leaves the page pending, reclaimed
  after CLAIM_IDLE_MS; at its MAX_DELIVERIES-th delivery it ends as a page that cannot be had.

Articles are published only while ingest's backpressure would accept them (the worker's gate), and
acknowledged once published; Redis unreachable leaves the whole batch pending.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from services import metrics
from services.contracts import PageRequest, RawArticle
from services.errors import PartialFailure, PoisonMessage, TransientError, WirestreamError
from services.fetch import Fetcher, FetchError, FetchTimeout
from services.ingest.pages.article import page_article
from services.ingest.pages.extract import NotAnArticle, extract_page
from services.ingest.publisher import Publisher
from services.runtime.runner import Item

log = logging.getLogger(__name__)
PAGE_TYPES = ("text/html", "application/xhtml+xml")


class PageUnavailable(PoisonMessage):
    """A page posted alone that cannot be fetched: ``str()`` is the fetch error's, reason first."""

    def __init__(self, error: FetchError) -> None:
        super().__init__(str(error))
        self.reason = error.reason


class PageRetry(WirestreamError):
    """A page whose site did not answer this time (timeout, network, 429, 5xx): retried on a later
    delivery, each counting towards MAX_DELIVERIES (the site, not the pipeline, is failing)."""


@dataclass
class PageStage:
    """Process one batch of page requests; ``budget_s`` bounds each page, fetch and extraction, well
    within the time after which a peer would reclaim it."""

    fetcher: Fetcher
    publisher: Publisher  # to <prefix>:raw
    queue: Publisher  # <prefix>:fetch, whose window gives ids back
    budget_s: float
    max_deliveries: int

    async def __call__(self, items: Sequence[Item[PageRequest]]) -> None:
        outcomes = await asyncio.gather(*(self._page(item) for item in items), return_exceptions=True)
        done: list[RawArticle] = []
        errors: dict[str, BaseException] = {}
        for item, outcome in zip(items, outcomes, strict=True):
            if isinstance(outcome, RawArticle):
                done.append(outcome)
            elif isinstance(outcome, Exception):
                errors[item.entry_id] = outcome
            else:  # cancelled, or worse: let the runtime decide about the whole batch
                raise outcome
        await self.publisher.publish(done, claimed=True)
        lost = [i.value.id for i in items if isinstance(errors.get(i.entry_id), PoisonMessage)]
        if lost:
            await self.queue.forget(lost)
        for error in errors.values():
            outcome_name = "dead" if isinstance(error, PoisonMessage) else "retried"
            metrics.PAGES.labels(outcome=outcome_name).inc()
        if errors:
            raise PartialFailure(errors)

    async def _page(self, item: Item[PageRequest]) -> RawArticle:
        request = item.value
        try:
            try:
                async with asyncio.timeout(self.budget_s):
                    result = await self.fetcher.fetch(request.url, accept=PAGE_TYPES)
                    kind = result.content_type + (f"; charset={result.charset}" if result.charset else "")
                    page = await asyncio.to_thread(
                        extract_page, result.content, url=result.url, content_type=kind
                    )
            except TimeoutError:
                raise FetchTimeout(request.url, f"the page took more than {self.budget_s:g} s") from None
            article = page_article(request, page)
        except (FetchError, NotAnArticle, ValidationError) as exc:
            if isinstance(exc, TransientError) and item.deliveries < self.max_deliveries:
                raise PageRetry(str(exc)) from exc
            if request.item is not None:
                log.info(
                    "page %s not had (%s); its feed item is published as the feed gave it", request.url, exc
                )
                metrics.PAGES.labels(outcome="fallback").inc()
                return page_article(request, None)
            if isinstance(exc, FetchError):
                raise PageUnavailable(exc) from exc
            if isinstance(exc, ValidationError):
                raise NotAnArticle(request.url, "invalid", str(exc).replace("\n", "; ")) from exc
            raise
        metrics.PAGES.labels(outcome="published").inc()
        return article
