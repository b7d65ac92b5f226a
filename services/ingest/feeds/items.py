"""Turn a feed into articles: RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed 1.0/1.1 here.

Pure: bytes in, models out. Every item becomes an ``ArticleIn`` cleaned as ingest cleans a posted
article (services/ingest/normalize.py): its link resolved against the feed's URL (and ``xml:base``) and
reduced to its canonical URL (no tracking parameters), its fullest text (``content:encoded``, Atom
content, JSON ``content_html``; else the summary) rendered as plain text, its published (else updated)
time aware, its authors joined, its categories as tags, its language or else the feed's. An item without
a title or without text is skipped and counted by reason. feedparser follows the HTTP charset, then the
XML declaration (RFC 3023); it is handed a stream, so it never reads the network or a file.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.sax import SAXParseException

import feedparser  # type: ignore[import-untyped]
import orjson
from pydantic import BaseModel, Field, ValidationError

from services.contracts import ArticleIn
from services.fetch.xmlguard import refuse_unsafe_xml
from services.ingest.canonical import canonical_url
from services.ingest.normalize import clean_text
from services.ingest.pages.fields import as_list, language_tag, names, one_line, parse_time, tags, web_url
from services.ingest.parsing import charset, codec_for

SHORT_TEXT = 400  # characters: a text shorter than this is a teaser; the linked page holds the article
# feedparser's notes that did not stop it reading the feed as XML: a charset or media type it overrode.
_BENIGN = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
_JSON_VERSIONS = {"1": "json10", "1.1": "json11"}
_BOM = b"\xef\xbb\xbf"


class FeedItem(BaseModel):
    """One item of a feed: the article it makes, and what the poller needs besides."""

    article: ArticleIn
    guid: str | None = None
    link: str | None = None  # absolute, as published: the page to fetch (article.url is its canonical form)
    needs_page: bool = False  # only a short summary: the linked page holds the article


class ParsedFeed(BaseModel):
    """What a feed holds: its title, language and home page, its items, and what went wrong."""

    title: str | None = None
    language: str | None = None
    link: str | None = None
    version: str = ""  # feedparser's name of the format ("rss20", "atom10", "rss10"), or "json10", "json11"
    items: list[FeedItem] = Field(default_factory=list)
    skips: dict[str, int] = Field(default_factory=dict)  # reason ("no title", "no text", ...) -> items
    error: str | None = None  # malformed, or not a feed: what the parser said; items are what it read

    @property
    def skipped(self) -> int:
        """How many items were skipped, for any reason."""
        return sum(self.skips.values())


@dataclass
class _Entry:
    """An item as a reader found it, before cleaning."""

    title: object = None
    texts: list[tuple[str, object]] = field(default_factory=list)  # (HTML or text, its language)
    link: object = None
    guid: object = None
    published: datetime | None = None
    authors: list[object] = field(default_factory=list)
    tags: list[object] = field(default_factory=list)
    language: object = None


def parse_feed(body: bytes, *, url: str, content_type: str | None) -> ParsedFeed:
    """Read an RSS, Atom or JSON feed fetched from ``url``; a malformed feed gives what it could.

    Raises services.fetch.UnsafeXML for XML that declares entities (billion laughs, external entities).
    """
    if body.removeprefix(_BOM).lstrip().startswith(b"{"):
        return _json_feed(body, url=url, content_type=content_type)
    refuse_unsafe_xml(body, url=url)
    headers = {"content-location": url} | ({"content-type": content_type} if content_type else {})
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers, resolve_relative_uris=False)
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    error = None if problem is None or isinstance(problem, _BENIGN) else _describe(problem)
    if not parsed.get("version") and not parsed.entries:
        error = error or "not an RSS, Atom or JSON feed"
    meta = parsed.feed
    return _assemble(
        (_feedparser_entry(entry) for entry in parsed.entries),
        url=url,
        meta=(meta.get("title"), meta.get("language"), meta.get("link")),
        version=parsed.get("version") or "",
        error=error,
    )


def _describe(problem: Exception) -> str:
    if isinstance(problem, SAXParseException):
        where = f"line {problem.getLineNumber()}, column {problem.getColumnNumber()}"
        return f"not well-formed XML at {where}: {problem.getMessage()}"
    return f"{type(problem).__name__}: {problem}"


def _feedparser_entry(entry: Any) -> _Entry:
    summary = entry.get("summary_detail") or {}
    texts = [(c.get("value") or "", c.get("language")) for c in entry.get("content", [])]
    if entry.get("summary"):
        texts.append((entry.summary, summary.get("language")))
    # dict.get: feedparser's own get answers "updated" with "published", and warns.
    times = (
        (dict.get(entry, n), dict.get(entry, f"{n}_parsed")) for n in ("published", "updated", "created")
    )
    return _Entry(
        title=entry.get("title"),
        texts=texts,
        link=entry.get("link"),
        guid=entry.get("id"),
        published=next((when for text, parsed in times if (when := parse_time(text, parsed))), None),
        authors=[a.get("name") or a.get("email") for a in entry.get("authors", [])],
        tags=[t.get("label") or t.get("term") for t in entry.get("tags", [])],
        language=(
            entry.get("language")
            or summary.get("language")
            or (entry.get("title_detail") or {}).get("language")
        ),
    )


def _json_feed(body: bytes, *, url: str, content_type: str | None) -> ParsedFeed:
    # JSON Feed (https://jsonfeed.org/version/1.1) is UTF-8; 1.0's "author" is 1.1's "authors".
    try:
        declared = charset(content_type)
        doc = orjson.loads(
            body.decode(codec_for(declared), "replace") if declared else body.removeprefix(_BOM)
        )
    except (orjson.JSONDecodeError, LookupError, ValueError) as exc:
        return ParsedFeed(error=f"malformed JSON: {exc}")
    if not isinstance(doc, dict):
        return ParsedFeed(error="not a JSON Feed: the document is not an object")
    version = doc["version"] if isinstance(doc.get("version"), str) else ""
    known = version.startswith("https://jsonfeed.org/version/")
    feed_authors = _json_authors(doc)
    return _assemble(
        (_json_entry(item, feed_authors) for item in as_list(doc.get("items")) if isinstance(item, dict)),
        url=url,
        meta=(doc.get("title"), doc.get("language"), doc.get("home_page_url")),
        version=_JSON_VERSIONS.get(version.rsplit("/", 1)[-1], "json"),
        error=None if known else "not a JSON Feed: no https://jsonfeed.org/version/ in version",
    )


def _json_authors(doc: dict[str, Any]) -> list[object]:
    people = as_list(doc.get("authors")) or [doc.get("author")]
    return [person.get("name") for person in people if isinstance(person, dict)]


def _json_entry(item: dict[str, Any], feed_authors: list[object]) -> _Entry:
    texts = [(item.get(name), item.get("language")) for name in ("content_html", "content_text", "summary")]
    guid = item.get("id")
    return _Entry(
        title=item.get("title"),
        texts=[(text, language) for text, language in texts if isinstance(text, str)],
        link=item.get("url") or item.get("external_url"),
        guid=str(guid) if isinstance(guid, int | float | str) else None,
        published=parse_time(item.get("date_published")) or parse_time(item.get("date_modified")),
        authors=_json_authors(item) or feed_authors,  # an item without authors has the feed's (1.1)
        tags=as_list(item.get("tags")),
        language=item.get("language"),
    )


def _assemble(
    entries: Iterable[_Entry],
    *,
    url: str,
    meta: tuple[object, object, object],
    version: str,
    error: str | None,
) -> ParsedFeed:
    title, language, link = meta
    feed_language = language_tag(language)
    items: list[FeedItem] = []
    skips: Counter[str] = Counter()
    for entry in entries:
        item = _item(entry, base=url, feed_language=feed_language)
        if isinstance(item, str):
            skips[item] += 1
        else:
            items.append(item)
    return ParsedFeed(
        title=one_line(title),
        language=feed_language,
        link=web_url(link, base=url),
        version=version,
        items=items,
        skips=dict(skips),
        error=error,
    )


def _item(entry: _Entry, *, base: str, feed_language: str | None) -> FeedItem | str:
    """The item's article, or the reason it was skipped."""
    title = one_line(entry.title)
    if not title:
        return "no title"
    texts = [(clean_text(raw, multiline=True), language) for raw, language in entry.texts]
    text, text_language = max(texts, key=lambda pair: len(pair[0]), default=("", None))
    if not text:
        return "no text"
    link = web_url(entry.link, base=base)
    fields = {
        "title": title,
        "body": text,
        "url": canonical_url(link) if link else None,
        "published_at": entry.published,
        "author": names(entry.authors),
        "tags": tags(entry.tags),
        "language": language_tag(text_language) or language_tag(entry.language) or feed_language,
    }
    try:
        article = ArticleIn.model_validate(fields)
    except ValidationError as exc:
        return "invalid " + ", ".join(sorted({str(e["loc"][0]) for e in exc.errors()}))
    guid = one_line(entry.guid)
    return FeedItem(article=article, guid=guid, link=link, needs_page=bool(link) and len(text) < SHORT_TEXT)
