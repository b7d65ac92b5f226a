"""Pages to fetch, queued on ``<prefix>:fetch``: a URL posted alone, or the page of a feed item.

A page is queued once per article id within the de-duplication window: queueing it claims the id of
the article it becomes (the same script that publishes an article, on the fetch stream), so a re-post
of its URL, or the same item in the next poll of its feed, is a duplicate while it waits, is fetched
and after it was published. The fetch stage publishes the article without checking the window again
(``Publisher.publish(..., claimed=True)``). A page that will never become an article (refused, gone,
no main text, and no feed item to stand in for it) is dead-lettered and its id given back
(``Publisher.forget``): a later post of its URL is accepted and fetched again, not a duplicate until
the window ends.
"""

from __future__ import annotations

from datetime import UTC, datetime

from redis.asyncio import Redis

from services.contracts import PAGE_EVENT, ArticleIn, PageRequest, fetch_stream
from services.ingest.identity import article_id
from services.ingest.publisher import Publisher
from services.ingest.settings import PublishSettings


def page_request(
    url: str, *, feed_id: str | None = None, item: ArticleIn | None = None, now: datetime | None = None
) -> PageRequest:
    """The request to fetch ``url``; the article's id is the one ingest gives an article with that URL
    (a feed item's, when ``item`` has a URL: its link made canonical)."""
    identified_by = item.url if item is not None and item.url else url
    return PageRequest(
        id=article_id(title="", body="", published_at=None, url=identified_by),
        url=url,
        requested_at=now or datetime.now(UTC),
        feed_id=feed_id,
        item=item,
    )


def page_queue(redis: Redis, settings: PublishSettings) -> Publisher:
    """The queue of pages to fetch, sharing the articles' de-duplication window; ``settings`` name the
    prefix as keys are named on ``redis``."""
    return Publisher(
        redis,
        settings.stream_prefix,
        window=settings.dedup_window,
        buckets=settings.dedup_buckets,
        durability=settings.durability,
        stream=fetch_stream,
        event_type=PAGE_EVENT,
    )
