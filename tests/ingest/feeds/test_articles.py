"""What a poll hands on: each item as the feed's article, or as its page to fetch."""

from __future__ import annotations

from datetime import UTC, datetime

from services.contracts import ArticleIn
from services.ingest.feeds.articles import feed_article, outgoing
from services.ingest.feeds.items import FeedItem, ParsedFeed
from services.ingest.feeds.registry import Feed
from services.ingest.parsing import to_raw

NOW = datetime(2025, 5, 4, 8, tzinfo=UTC)
LONG = "The harbour reopened on Monday after the storm. " * 12


def make_feed(**fields: object) -> Feed:
    return Feed.model_validate(
        {"url": "https://example.com/rss", "id": "0123456789abcdef", "created_at": NOW} | fields
    )


def make_item(n: int, *, body: str = LONG, needs_page: bool = False, **fields: object) -> FeedItem:
    link = f"https://www.example.com/news/{n}?utm_source=rss"
    article = ArticleIn.model_validate(
        {"title": f"Story {n}", "body": body, "url": f"https://example.com/news/{n}", "tags": ["World"]}
        | fields
    )
    return FeedItem(article=article, link=link, needs_page=needs_page)


def test_the_feeds_source_and_tags_and_the_items_language_else_the_feeds() -> None:
    parsed = ParsedFeed(title="Example World", language="pt")
    feed = make_feed(source="Example <b>News</b>", tags=["Feeds", "World"])

    article = feed_article(make_item(1), feed, parsed)
    own_language = feed_article(make_item(2, language="en"), feed, parsed)

    assert article.source == "Example News"  # cleaned as ingest cleans a posted source
    assert article.tags == ["World", "Feeds"]
    assert (article.language, own_language.language) == ("pt", "en")


def test_without_a_source_the_feeds_title_names_it() -> None:
    article = feed_article(make_item(1), make_feed(), ParsedFeed(title="Example World"))

    assert article.source == "Example World"


def test_items_needing_their_page_are_requested_under_their_own_id() -> None:
    items = [make_item(1), make_item(2, body="A teaser.", needs_page=True)]
    parsed = ParsedFeed(title="Example", items=items)

    out = outgoing(make_feed(), parsed, now=NOW)

    assert [a.title for a in out.articles] == ["Story 1"]
    [request] = out.pages
    assert request.url == items[1].link  # fetched as linked
    assert request.id == to_raw(items[1].article).id
    assert request.feed_id == "0123456789abcdef" and request.item is not None
    assert request.item.source == "Example" and request.requested_at == NOW
    assert len(out) == 2


def test_a_feed_registered_with_fetch_pages_fetches_every_items_page() -> None:
    parsed = ParsedFeed(items=[make_item(1), make_item(2)])

    out = outgoing(make_feed(fetch_pages=True), parsed, now=NOW)

    assert out.articles == [] and len(out.pages) == 2
