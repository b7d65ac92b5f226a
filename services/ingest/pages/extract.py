"""Turn a fetched article page into an article: its main text and metadata, by trafilatura and htmldate.

Pure: the HTML in, an ``ArticleIn`` out; nothing is fetched (both libraries get a parsed tree, never a
URL). trafilatura finds the main text, leaving navigation, footers, asides, comments and consent banners,
and the title, author, site name and tags; htmldate the date, from the markup (meta tags and JSON-LD,
which carry the time of day, then a date in the URL, then ``<time>`` and the like), else from the text.
The page's ``<link rel=canonical>`` is resolved against its URL and reduced to its canonical form
(services/ingest/canonical.py), which gives the article its id. The text is cleaned as ingest cleans a
posted article (services/ingest/normalize.py). A page without a main text raises NotAnArticle.
"""

from __future__ import annotations

import codecs
import re
from datetime import datetime
from typing import Any, ClassVar

import htmldate
import trafilatura
from lxml import etree
from lxml.html import HtmlElement
from pydantic import BaseModel, ValidationError
from trafilatura.htmlprocessing import convert_to_html
from trafilatura.settings import Document

from services.contracts import MAX_SECTION, ArticleIn
from services.errors import PoisonMessage, UnsupportedMediaType
from services.ingest.canonical import canonical_url
from services.ingest.normalize import clean_text
from services.ingest.pages.fields import language_tag, names, one_line, parse_time, tags, web_url
from services.ingest.parsing import charset, codec_for

MIN_TEXT = 100  # characters of main text below the headline: less is a gallery, an index or an error page
_TIME = "%Y-%m-%dT%H:%M:%S%z"
# The markup first (meta tags, JSON-LD: they carry the time of day), then a date in the URL.
_DATE_IN_MARKUP: dict[str, Any] = {
    "extensive_search": False,
    "original_date": True,
    "outputformat": _TIME,
    "deferred_url_extractor": True,
}
# Consent banners that sit inside the content area, where trafilatura would take them for text. Not the
# page's own containers: consent managers mark <html> or <body> with "cookies-accepted" and the like.
_CONSENT = (
    "//*[not(self::html or self::body or self::main or self::article)]"
    "[contains(translate(@id, 'COKIESN', 'cokiesn'), 'cookie')"
    " or contains(translate(@class, 'COKIESN', 'cokiesn'), 'cookie')"
    " or contains(translate(@id, 'CONSET', 'conset'), 'consent')"
    " or contains(translate(@class, 'CONSET', 'conset'), 'consent')]"
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


class NotAnArticle(PoisonMessage):
    """A page that holds no article; ``reason`` (one of ``reasons``) labels the dead letter or the metric,
    ``str()`` is ``"<reason>: <what> (<url>)"``."""

    reasons: ClassVar[tuple[str, ...]] = ("not_html", "no_text", "no_title", "invalid")

    def __init__(self, url: str, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail} ({url})")
        self.url = url
        self.reason = reason
        self.detail = detail


class PageArticle(BaseModel):
    """The article a page holds, with what the page said about itself besides."""

    article: ArticleIn
    canonical: str | None = None  # the page's canonical link, absolute, as written
    site_name: str | None = None


def extract_page(html: bytes | str, *, url: str, content_type: str | None) -> PageArticle:
    """The article of a page fetched from ``url``; raise NotAnArticle for a page without one."""
    tree = trafilatura.load_html(html if isinstance(html, str) else decode_page(html, content_type))
    if tree is None:
        raise NotAnArticle(url, "not_html", "not an HTML page")
    canonical = _canonical_link(tree, url)
    document = trafilatura.bare_extraction(
        tree,
        url=canonical or url,
        with_metadata=True,
        include_comments=False,
        include_images=False,
        output_format="html",  # the body stays a tree, rendered below as every posted article is
        prune_xpath=_CONSENT,
        date_extraction_params=_DATE_IN_MARKUP,
    )
    if not isinstance(document, Document):  # trafilatura found no text at all
        raise NotAnArticle(url, "no_text", "no main text")
    title = one_line(document.title)
    body = _main_text(document.body, title)
    if len(body) < MIN_TEXT:
        raise NotAnArticle(url, "no_text", f"no main text ({len(body)} characters found)")
    if not title:
        raise NotAnArticle(url, "no_title", "the page has a text but no title")
    fields = {
        "title": title,
        "body": body,
        "url": canonical_url(canonical or url),
        "published_at": parse_time(document.date) or _date_in_text(tree, url),
        "author": names((document.author or "").split(";")),
        "section": _meta(tree, "article:section", MAX_SECTION),
        "tags": tags([*(document.tags or []), *(document.categories or [])]),
        "language": _language(tree),
    }
    try:
        article = ArticleIn.model_validate(fields)
    except ValidationError as exc:
        raise NotAnArticle(url, "invalid", str(exc).replace("\n", "; ")) from None
    return PageArticle(article=article, canonical=canonical, site_name=one_line(document.sitename))


def decode_page(raw: bytes, content_type: str | None) -> str:
    """The page as text: by its byte order mark, else the HTTP charset, else UTF-8 if it is, else its
    ``<meta charset>``, else windows-1252 (what browsers assume of an undeclared legacy page)."""
    declared = next((enc for bom, enc in _BOMS if raw.startswith(bom)), None) or charset(content_type)
    if declared is None:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            found = _META_CHARSET.search(raw[:4096])
            declared = found.group(1).decode("ascii").lower() if found else "windows-1252"
    try:
        return raw.decode(codec_for(declared), "replace")
    except UnsupportedMediaType:  # a label nobody defines
        return raw.decode("utf-8", "replace")


def _main_text(body: HtmlElement, title: str | None) -> str:
    text = clean_text(_as_html(body), multiline=True)
    first, _, rest = text.partition("\n\n")
    return rest if title and first == title else text  # the headline is the title, not the body's start


def _as_html(body: HtmlElement) -> str:
    """trafilatura's body tree (``<head>``, ``<list>``, ``<hi>`` ...) as the HTML elements it stands for."""
    return str(etree.tostring(convert_to_html(body), encoding="unicode", method="html"))


def _canonical_link(tree: HtmlElement, url: str) -> str | None:
    base = web_url(next(iter(tree.xpath("//head/base/@href")), None), base=url) or url
    for link in tree.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split():
            return web_url(link.get("href"), base=base)
    return None


def _date_in_text(tree: HtmlElement, url: str) -> datetime | None:
    # htmldate's text search falls back to a month ("05/2025") or a year ("© 2025") and returns the first
    # of it: a day it never read. Such a date is dropped; the store uses the time of arrival instead.
    found = htmldate.find_date(
        tree,
        extensive_search=True,
        original_date=True,
        outputformat=_TIME,
        deferred_url_extractor=True,
        url=url,
    )
    when = parse_time(found)
    return None if when is None or (when.day == 1 and when.hour == when.minute == when.second == 0) else when


def _meta(tree: HtmlElement, name: str, limit: int) -> str | None:
    values = tree.xpath("//meta[@property=$name or @name=$name]/@content", name=name)
    value = one_line(values[0]) if values else None
    return value if value and len(value) <= limit else None


def _language(tree: HtmlElement) -> str | None:
    declared = [
        tree.getroottree().getroot().get("lang"),
        tree.getroottree().getroot().get("xml:lang"),
        *tree.xpath("//meta[translate(@http-equiv, 'CONTELAGU', 'contelagu')='content-language']/@content"),
        *tree.xpath("//meta[@property='og:locale']/@content"),
    ]
    return next((tag for value in declared if (tag := language_tag(value))), None)
