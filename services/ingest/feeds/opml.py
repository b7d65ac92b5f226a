"""Read the feeds an OPML file names (OPML 1.0 and 2.0, as feed readers export their subscriptions).

A feed is an ``<outline>`` with an ``xmlUrl``; the outlines around it (folders) are its tags, and so are
the slash-delimited paths of an OPML 2.0 ``category`` attribute. Feed readers differ in small ways, all
read here: attributes spelled ``xmlurl`` or ``xmlURL``, a title in ``text`` or in ``title``, the
``feed:`` scheme, folders nested to any depth, the same feed in two folders (one feed, both folders' tags).
Parsed with defusedxml: a file that declares entities is refused, never expanded.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from pydantic import BaseModel, Field

from services.ingest.pages.fields import one_line, tags, web_url

_FEED_URL = ("xmlUrl", "xmlurl", "xmlURL", "XMLURL")
_SITE_URL = ("htmlUrl", "htmlurl", "htmlURL", "HTMLURL")


class OpmlFeed(BaseModel):
    """A feed an OPML file names: its URL (as written when it is not an http(s) URL), its title, its
    site, and the folders it was filed in as tags."""

    xml_url: str
    title: str | None = None
    html_url: str | None = None
    tags: list[str] = Field(default_factory=list)


def parse_opml(body: bytes) -> list[OpmlFeed]:
    """The feeds of an OPML document, in document order, each once; raise ValueError naming what makes
    ``body`` no OPML (not XML, entities declared, another root element, no ``<body>``)."""
    try:
        root = fromstring(body, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ValueError(f"the XML declares entities, which are refused ({type(exc).__name__})") from None
    except ParseError as exc:
        raise ValueError(f"not well-formed XML: {exc}") from None
    if _local(root.tag) != "opml":
        raise ValueError(f"the root element is <{_local(root.tag)}>, not <opml>")
    body_element = next((child for child in root if _local(child.tag) == "body"), None)
    if body_element is None:
        raise ValueError("<opml> has no <body>")
    feeds: dict[str, OpmlFeed] = {}
    _walk(body_element, [], feeds)
    return list(feeds.values())


def _walk(parent: Element, folders: list[str], feeds: dict[str, OpmlFeed]) -> None:
    for outline in parent:
        if _local(outline.tag) != "outline":
            continue
        name = one_line(outline.get("text")) or one_line(outline.get("title"))
        given = _attribute(outline, _FEED_URL)
        if given is None:
            _walk(outline, [*folders, name] if name else folders, feeds)
            continue
        url = _feed_url(given) or given  # not a web URL: kept as written, for the importer to refuse
        categories = (p for c in (outline.get("category") or "").split(",") for p in c.split("/"))
        found = tags([*folders, *categories])
        if url in feeds:
            feeds[url].tags = tags([*feeds[url].tags, *found])
        else:
            html_url = web_url(_attribute(outline, _SITE_URL), base=url)
            feeds[url] = OpmlFeed(xml_url=url, title=name, html_url=html_url, tags=found)


def _feed_url(value: str) -> str | None:
    # feed://host/path and feed:https://host/path name a feed for readers registered for the scheme.
    if value.lower().startswith("feed:"):
        value = value[5:] if value[5:].lower().startswith(("http:", "https:")) else "http:" + value[5:]
    return web_url(value, base="")


def _attribute(outline: Element, spellings: tuple[str, ...]) -> str | None:
    return next((v.strip() for name in spellings if (v := outline.get(name)) and v.strip()), None)


def _local(tag: object) -> str:
    # A namespaced tag reads "{uri}name"; comments and processing instructions have no string tag.
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""
