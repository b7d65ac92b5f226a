"""Canonical URLs and deterministic article ids."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.ingest.identity import article_id, canonical_url

WHEN = datetime(2024, 1, 15, 8, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://WWW.Example.COM/News/Story", "https://example.com/News/Story"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com/a/#comments", "https://example.com/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/", "https://example.com/"),
        ("https://example.com/a/b///", "https://example.com/a/b"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
        (
            "https://example.com/a?utm_source=tw&UTM_Medium=x&fbclid=1&gclid=2&mc_cid=3&mc_eid=4&ref=home&id=7",
            "https://example.com/a?id=7",
        ),
        ("https://example.com/a?utm_campaign=x", "https://example.com/a"),
        ("  https://example.com/a  ", "https://example.com/a"),
        ("//example.com/a", "https://example.com/a"),
        ("https://user:secret@example.com/a", "https://example.com/a"),
        ("http://[2001:DB8::1]:80/a/", "https://[2001:db8::1]/a"),
        ("https://example.com./a", "https://example.com/a"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_canonical_url_keeps_case_of_path_and_query_values() -> None:
    assert canonical_url("https://example.com/A/b?Q=Xy") == "https://example.com/A/b?Q=Xy"


@pytest.mark.parametrize("url", ["mailto:desk@example.com", "not a url", "ftp://example.com/f"])
def test_canonical_url_leaves_non_web_urls_alone(url: str) -> None:
    assert canonical_url(url) == url


def test_id_is_16_lowercase_hex_and_stable() -> None:
    first = article_id(title="T", body="B", published_at=WHEN, url=None)
    assert re.fullmatch(r"[0-9a-f]{16}", first)
    assert article_id(title="T", body="B", published_at=WHEN, url=None) == first


def test_id_ignores_whitespace_case_and_compatibility_forms() -> None:
    a = article_id(
        title="Lavrov to host Choi", body="On January 16,\nMoscow hosts.", published_at=WHEN, url=None
    )
    b = article_id(
        title="  LAVROV  to\thost CHOI ", body="on january 16, moscow   hosts.  ", published_at=WHEN, url=None
    )
    c = article_id(
        title="Ｌａｖｒｏｖ to host Choi", body="On January 16, Moscow hosts.", published_at=WHEN, url=None
    )
    assert a == b == c


def test_id_compares_published_time_in_utc() -> None:
    est = WHEN.astimezone(timezone(timedelta(hours=-5)))
    naive = WHEN.replace(tzinfo=None)
    ids = {article_id(title="T", body="B", published_at=when, url=None) for when in (WHEN, est, naive)}
    assert len(ids) == 1
    assert article_id(title="T", body="B", published_at=None, url=None) not in ids
    assert article_id(title="T", body="B", published_at=WHEN + timedelta(minutes=1), url=None) not in ids


def test_url_takes_precedence_over_text() -> None:
    url = "https://example.com/news/1"
    a = article_id(title="One", body="First body", published_at=WHEN, url=url)
    b = article_id(title="Two", body="Other body", published_at=None, url=url)
    assert a == b
    assert a != article_id(title="One", body="First body", published_at=WHEN, url=None)


def test_equivalent_urls_give_the_same_id() -> None:
    a = article_id(title="A", body="B", published_at=None, url="https://example.com/news/1")
    b = article_id(
        title="C", body="D", published_at=None, url="http://www.EXAMPLE.com/news/1/?utm_source=x#top"
    )
    assert a == b


def test_blank_url_falls_back_to_text() -> None:
    text_id = article_id(title="T", body="B", published_at=None, url=None)
    assert article_id(title="T", body="B", published_at=None, url="  ") == text_id


def test_different_content_gives_different_ids() -> None:
    base = article_id(title="T", body="Body one", published_at=WHEN, url=None)
    assert article_id(title="T", body="Body two", published_at=WHEN, url=None) != base
    assert article_id(title="T2", body="Body one", published_at=WHEN, url=None) != base
    # The separator keeps title and body apart: moving a word between them changes the id.
    assert article_id(title="T Body", body="one", published_at=WHEN, url=None) != base
    assert article_id(title="T", body="B", published_at=None, url="https://example.com/1") != article_id(
        title="T", body="B", published_at=None, url="https://example.com/2"
    )
