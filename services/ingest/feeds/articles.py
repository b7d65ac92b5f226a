"""What a poll publishes: each item of a feed as an article of that feed, or as its page to fetch.

Pure: the registered feed and what was parsed in, articles and page requests out. An item's article
takes the feed's ``source`` (else the feed's title), gets the feed's tags after its own, and keeps its
language, else the feed's. An item that holds only a summary (``needs_page``), or every item of a feed
registered with ``fetch_pages``, becomes a request for its page, carrying the article to fall back on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.contracts import MAX_SOURCE, MAX_TAGS, ArticleIn, PageRequest
from services.ingest.feeds.items import FeedItem, ParsedFeed
from services.ingest.feeds.registry import Feed
from services.ingest.normalize import clean_text
from services.ingest.pages.queue import page_request


@dataclass
class Outgoing:
    """What one poll of a feed hands on: articles to publish now, pages to fetch first."""

    articles: list[ArticleIn] = field(default_factory=list)
    pages: list[PageRequest] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.articles) + len(self.pages)


def feed_article(item: FeedItem, feed: Feed, parsed: ParsedFeed) -> ArticleIn:
    """The item's article as this feed publishes it: its source, its tags, its language."""
    article = item.article
    source = clean_text(feed.source or "", multiline=False) or parsed.title or article.source
    tags = list(dict.fromkeys([*article.tags, *feed.tags]))[:MAX_TAGS]
    return ArticleIn.model_validate(
        article.model_dump()
        | {
            "source": source[:MAX_SOURCE].strip() if source else None,
            "tags": tags,
            "language": article.language or parsed.language,
        }
    )


def outgoing(feed: Feed, parsed: ParsedFeed, *, now: datetime) -> Outgoing:
    """The articles and page requests of one poll's items, in feed order."""
    out = Outgoing()
    for item in parsed.items:
        article = feed_article(item, feed, parsed)
        if item.link and (item.needs_page or feed.fetch_pages):
            out.pages.append(page_request(item.link, feed_id=feed.id, item=article, now=now))
        else:
            out.articles.append(article)
    return out
