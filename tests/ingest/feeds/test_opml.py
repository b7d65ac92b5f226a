"""OPML subscription lists as feed readers export them (tests/data/feeds/*.opml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.ingest.feeds.opml import OpmlFeed, parse_opml

DATA = Path(__file__).parents[2] / "data" / "feeds"


def test_opml_2_with_nested_folders() -> None:
    feeds = parse_opml((DATA / "subscriptions.opml").read_bytes())
    assert feeds == [
        OpmlFeed(
            xml_url="https://www.harbourgazette.example/feed/",
            title="The Harbour Gazette",
            html_url="https://www.harbourgazette.example/",
            tags=["News", "Local", "Science"],  # filed in two folders: one feed, both folders
        ),
        OpmlFeed(
            xml_url="https://valleyradio.example/news/rss.xml",  # written xmlurl
            title="Valley Radio",  # text, what the reader showed; title is the feed's own
            html_url="https://valleyradio.example/news",  # written htmlurl
            tags=["News", "Local"],
        ),
        OpmlFeed(
            xml_url="https://diariodolitoral.example/feed.json",
            title="Diário do Litoral",
            html_url="https://diariodolitoral.example/",  # relative: resolved against the feed's URL
            tags=["News", "World & Europe"],
        ),
        OpmlFeed(
            xml_url="http://notes.tidewatch.example/blog/feed.atom",  # feed://
            title="Tidewatch notes",
            tags=["Science"],
        ),
        OpmlFeed(
            xml_url="https://smallpress.example/feed.json",
            title="Small Press Weekly",
            tags=["Culture", "Print", "Weekly"],  # OPML 2.0's category attribute
        ),
        OpmlFeed(
            xml_url="javascript:void(0)", title="Broken export"
        ),  # kept as written, for the importer to refuse
    ]


def test_opml_1_in_latin_1() -> None:
    feeds = parse_opml((DATA / "subscriptions_opml1.opml").read_bytes())
    assert [(f.xml_url, f.title, f.tags) for f in feeds] == [
        ("http://cafeduport.example/rss", "Le Café du Port", []),
        ("https://kawabata-shimbun.example/rss", "Kawabata Shimbun", []),  # title alone
    ]


def test_an_opml_without_feeds_is_an_empty_list() -> None:
    assert parse_opml(b'<opml version="2.0"><head/><body><outline text="Empty folder"/></body></opml>') == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ((DATA / "rss2_content_encoded.xml").read_bytes(), "the root element is <rss>, not <opml>"),
        (b"<html><body><p>My feeds</p></body></html>", "the root element is <html>, not <opml>"),
        (b'<opml version="2.0"><head><title>x</title></head></opml>', "<opml> has no <body>"),
        (
            b"title,url\nGazette,https://www.harbourgazette.example/feed/\n",
            "not well-formed XML: syntax error",
        ),
        (b"", "not well-formed XML: no element found"),
        ((DATA / "entity_bomb.xml").read_bytes(), "the XML declares entities, which are refused"),
    ],
)
def test_what_is_not_opml_is_a_value_error_naming_the_problem(body: bytes, problem: str) -> None:
    with pytest.raises(ValueError, match="^" + problem):
        parse_opml(body)


def test_a_namespaced_opml_is_read() -> None:
    body = (
        b'<opml xmlns="http://opml.org/spec2" version="2.0"><body>'
        b'<outline text="Gazette" xmlUrl="https://www.harbourgazette.example/feed/"/></body></opml>'
    )
    assert [f.xml_url for f in parse_opml(body)] == ["https://www.harbourgazette.example/feed/"]
