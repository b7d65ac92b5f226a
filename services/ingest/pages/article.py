"""The article a queued page becomes: the page's fields, the feed item's where the page has none.

Pure. The article carries the id it was announced with (the page request's), and the URL that id was
made from: the one posted, or the feed item's link, in canonical form. The page's own canonical link
changes neither, so what was answered to the client and what the store holds agree.
"""

from __future__ import annotations

from datetime import UTC, datetime

from services.contracts import MAX_SOURCE, MAX_TAGS, ArticleIn, PageRequest, RawArticle
from services.ingest.canonical import canonical_url
from services.ingest.pages.extract import PageArticle
from services.ingest.parsing import to_raw


def merged(request: PageRequest, page: PageArticle) -> ArticleIn:
    """The page's article, its gaps filled from the feed item's; the feed's source and tags kept."""
    found, item = page.article, request.item
    if item is None:
        source = page.site_name[:MAX_SOURCE] if page.site_name else None
        return ArticleIn.model_validate(
            found.model_dump() | {"url": canonical_url(request.url), "source": source}
        )
    return ArticleIn.model_validate(
        {
            "title": found.title or item.title,
            "body": found.body,
            "url": item.url or canonical_url(request.url),
            "published_at": found.published_at or item.published_at,
            "author": found.author or item.author,
            "section": found.section or item.section,
            "source": item.source or (page.site_name[:MAX_SOURCE] if page.site_name else None),
            "tags": list(dict.fromkeys([*item.tags, *found.tags]))[:MAX_TAGS],
            "language": found.language or item.language,
        }
    )


def page_article(
    request: PageRequest, page: PageArticle | None, *, now: datetime | None = None
) -> RawArticle:
    """The raw article of a fetched page, or of its feed item alone when ``page`` is None (the page
    could not be had); under the request's id."""
    if page is None:
        if request.item is None:
            raise ValueError(f"page {request.url} has neither a page nor a feed item to publish")
        article = request.item
    else:
        article = merged(request, page)
    return to_raw(article, now or datetime.now(UTC)).model_copy(update={"id": request.id})
