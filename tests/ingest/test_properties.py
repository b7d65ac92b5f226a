"""Properties of the text parser and article identity on generated input."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.contracts import ArticleIn
from services.ingest.identity import article_id, canonical_url
from services.ingest.seedformat import parse_plain_text

BOUNDED = settings(max_examples=200, deadline=None)

# Lines that look like parts of the seed layout, so generated texts exercise its branches.
layout_line = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            " date 2024-01-15 en English",
            "date 2024-13-45 xx",
            "International Relations",
            "By: BNN Correspondents",
            "By:",
            "Published: January 15, 2024 at 3:07 am EST",
            "Published: February 30, 0001 at 99:99 pm ZZZ",
            "Published: January 1, 0001 at 1:00 am AEDT",
            "International Relations North Korea Russia",
            "BNN Correspondents",
            "Founded by someone, BNN Newsroom is a newsroom.",
            "A body sentence.",
            "",
            "\ufeff",
            "\r",
        ]
    ),
)
texts = st.one_of(st.text(), st.lists(layout_line, max_size=14).map("\n".join))


def _parse_or_message(text: str) -> dict[str, Any] | str:
    try:
        return parse_plain_text(text)
    except ValueError as exc:
        return str(exc)


@BOUNDED
@given(texts)
def test_parse_plain_text_only_raises_value_error(text: str) -> None:
    result = _parse_or_message(text)
    if isinstance(result, str):
        assert "empty" in result
        return
    assert result["title"].strip()
    assert result["body"].strip()
    # The source's offset is kept (the contract records it and converts to UTC): it must be convertible.
    assert result["published_at"] is None or result["published_at"].astimezone(UTC).tzinfo is UTC
    # Whatever the parser accepts is a valid article.
    ArticleIn.model_validate(result)


zones = st.sampled_from([None, UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))])
moments = st.none() | st.datetimes(timezones=zones) | st.sampled_from([datetime.min, datetime.max])


@BOUNDED
@given(title=st.text(), body=st.text(), url=st.none() | st.text(), published=moments)
def test_article_id_is_stable(title: str, body: str, url: str | None, published: datetime | None) -> None:
    first = article_id(title=title, body=body, published_at=published, url=url)
    assert re.fullmatch(r"[0-9a-f]{16}", first)
    assert article_id(title=title, body=body, published_at=published, url=url) == first


@BOUNDED
@given(title=st.text(), body=st.text())
def test_article_id_ignores_case_and_spacing(title: str, body: str) -> None:
    spaced = article_id(title=f"  {title.upper()} ", body=f"\n{body}\t", published_at=None, url=None)
    assert spaced == article_id(title=title.upper(), body=body, published_at=None, url=None)


word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%", max_size=8)
label = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,8}[A-Za-z0-9])?", fullmatch=True)
host = st.lists(label, min_size=1, max_size=3)
key = st.sampled_from(["utm_source", "fbclid", "ref", "id", "q", "Page", "a b"]) | word
urls = st.builds(
    lambda scheme, www, labels, port, path, query, fragment: (
        f"{scheme}://{www}{'.'.join(labels)}{port}/{'/'.join(path)}"
        + ("?" + "&".join(f"{k}={v}" for k, v in query) if query else "")
        + fragment
    ),
    st.sampled_from(["http", "https", "HTTP", "HtTpS"]),
    st.sampled_from(["", "www.", "WWW.", "www.www."]),
    host,
    st.sampled_from(["", ":80", ":443", ":8080"]),
    st.lists(word, max_size=4),
    st.lists(st.tuples(key, st.text(max_size=6))),
    st.sampled_from(["", "#", "#top"]),
)


@BOUNDED
@given(urls)
def test_canonical_url_is_idempotent(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once
    assert once.startswith("https://")
    assert "#" not in once
    assert not re.search(r"[?&](utm_source|fbclid|ref)=", once)


@BOUNDED
@given(st.text())
def test_canonical_url_is_idempotent_on_any_text(text: str) -> None:
    once = canonical_url(text)
    assert canonical_url(once) == once
