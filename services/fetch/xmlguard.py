"""Refuse XML that declares entities before any parser sees it: billion laughs, external entities.

``refuse_unsafe_xml`` reads the prolog with defusedxml's expat reader (entity declarations and external
references forbidden) and stops at the first element, so it costs the size of the prolog, not of the
document. A DOCTYPE without declarations (RSS 0.91's ``<!DOCTYPE rss PUBLIC ... "...dtd">``) passes; its
external DTD is never read. A prolog expat cannot read (junk before ``<?xml``, HTML) may still reach a
lenient parser (feedparser falls back to one), so it is refused if ``<!ENTITY`` appears anywhere in it,
as ASCII or as UTF-16.
"""

from __future__ import annotations

import re
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler
from xml.sax.xmlreader import AttributesImpl

from defusedxml import DefusedXmlException
from defusedxml.expatreader import DefusedExpatParser

from services.fetch.errors import UnsafeXML

_CHUNK = 64 * 1024
_ENTITY = re.compile(
    b"|".join(re.escape("<!ENTITY".encode(codec)) for codec in ("ascii", "utf-16-le", "utf-16-be")),
    re.IGNORECASE,
)


class _Root(Exception):
    """The first element began: the prolog, where entities are declared, is over."""


class _StopAtRoot(ContentHandler):  # namespace handling is off: startElementNS is never called
    def startElement(self, name: str, attrs: AttributesImpl) -> None:  # noqa: N802 (SAX's name)
        raise _Root


def refuse_unsafe_xml(data: bytes, *, url: str = "") -> bytes:
    """Return ``data`` unchanged, or raise UnsafeXML if its DOCTYPE declares an entity or refers to
    an external one."""
    parser = DefusedExpatParser(forbid_dtd=False, forbid_entities=True, forbid_external=False)
    parser.setContentHandler(_StopAtRoot())
    try:
        for start in range(0, len(data), _CHUNK):
            parser.feed(data[start : start + _CHUNK])
        parser.close()
    except _Root:
        return data
    except DefusedXmlException as exc:
        raise UnsafeXML(url, f"XML {type(exc).__name__}: {exc}") from None
    except SAXParseException:
        if _ENTITY.search(data):
            raise UnsafeXML(url, "not well-formed XML that declares an entity") from None
    return data
