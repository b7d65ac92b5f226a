"""XML that declares entities is refused before a parser could expand them; ordinary feeds pass."""

from __future__ import annotations

import pytest

from services.fetch import UnsafeXML, refuse_unsafe_xml

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<rss><channel><title>&lol9;</title></channel></rss>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss><channel><title>&xxe;</title></channel></rss>"""
PARAMETER = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY % remote SYSTEM "http://169.254.169.254/dtd"> %remote;]>
<rss/>"""
RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>News &amp; views</title>
<item><title>A story</title><description><![CDATA[<p>Text with <!ENTITY> in it</p>]]></description></item>
</channel></rss>"""
RSS_091 = b"""<?xml version="1.0"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
 "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel><title>Old</title></channel></rss>"""


@pytest.mark.parametrize(
    "document", [BILLION_LAUGHS, EXTERNAL, PARAMETER], ids=["laughs", "external", "param"]
)
def test_a_doctype_declaring_entities_is_refused(document: bytes) -> None:
    with pytest.raises(UnsafeXML, match=r"unsafe_xml: XML \w+Forbidden") as raised:
        refuse_unsafe_xml(document, url="https://example.com/feed")
    assert raised.value.url == "https://example.com/feed"


def test_the_refusal_holds_in_utf16_and_after_junk_that_expat_rejects() -> None:
    with pytest.raises(UnsafeXML):
        refuse_unsafe_xml(
            BILLION_LAUGHS.decode().replace('1.0"?>', '1.0" encoding="utf-16"?>').encode("utf-16")
        )
    for junk in (b"\n\n  " + BILLION_LAUGHS, b"Warning: PHP notice\n" + BILLION_LAUGHS.lower()):
        with pytest.raises(UnsafeXML, match="not well-formed XML that declares an entity"):
            refuse_unsafe_xml(junk)


def test_ordinary_feeds_pass_unchanged() -> None:
    utf16 = RSS.decode().replace("utf-8", "utf-16").encode("utf-16")
    for document in (RSS, RSS_091, b"\xef\xbb\xbf" + RSS, utf16, b"<feed/>"):
        assert refuse_unsafe_xml(document) is document
    assert refuse_unsafe_xml(b"not xml at all") == b"not xml at all"  # the parser will say so


def test_only_the_prolog_is_read() -> None:
    # A 20 MB document is judged by its first element; the rest (here not even XML) is never parsed.
    document = RSS_091 + b"<" * 20_000_000
    assert refuse_unsafe_xml(document) is document
