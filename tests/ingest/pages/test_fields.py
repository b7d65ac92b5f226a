"""Metadata as feeds and pages write it, made into article fields."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.contracts import MAX_AUTHOR, MAX_TAG, MAX_TAGS
from services.ingest.pages.fields import language_tag, names, parse_time, tags, web_url


def tz(hours: float) -> timezone:
    return timezone(timedelta(hours=hours))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tue, 06 May 2025 08:00:00 +0100", datetime(2025, 5, 6, 8, tzinfo=tz(1))),
        ("2025-05-06T08:00:00Z", datetime(2025, 5, 6, 8, tzinfo=UTC)),
        ("06 May 2025 08:00 EST", datetime(2025, 5, 6, 8, tzinfo=tz(-5))),
        ("Tue, 06 May 2025 08:00:00 PDT", datetime(2025, 5, 6, 8, tzinfo=tz(-7))),
        ("Tue, 06 May 2025 08:00:00 GMT", datetime(2025, 5, 6, 8, tzinfo=UTC)),
        ("Tue, 06 May 2025 08:00:00 -0000", datetime(2025, 5, 6, 8, tzinfo=UTC)),  # "zone unknown": UTC
        ("Tue, 06 May 2025 08:00:00 CEST", datetime(2025, 5, 6, 8, tzinfo=UTC)),  # a zone RFC 822 lacks
        ("2025-05-06T17:00:00+09:00", datetime(2025, 5, 6, 17, tzinfo=tz(9))),
        ("2025-05-06T08:00:00.123+05:30", datetime(2025, 5, 6, 8, 0, 0, 123000, tzinfo=tz(5.5))),
        ("2025-05-06 08:00:00", datetime(2025, 5, 6, 8, tzinfo=UTC)),  # naive: UTC
        ("2025-05-06", datetime(2025, 5, 6, tzinfo=UTC)),
        ("  Tue, 06 May 2025 08:00:00 +0100\n", datetime(2025, 5, 6, 8, tzinfo=tz(1))),
        ("0001-01-01T00:00:00+05:00", None),  # before year 1 in UTC
        ("sometime last week", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_time(text: str | None, expected: datetime | None) -> None:
    when = parse_time(text)
    assert when == expected
    if when is not None and expected is not None:
        assert when.utcoffset() == expected.utcoffset()  # the offset as written, not only the instant


def test_parse_time_falls_back_to_feedparsers_reading() -> None:
    parsed = time.strptime("2025-05-06 07:00:00", "%Y-%m-%d %H:%M:%S")
    assert parse_time("Di, 06 Mai 2025 09:00:00 +0200", parsed) == datetime(2025, 5, 6, 7, tzinfo=UTC)
    assert parse_time("2025-05-06T08:00:00Z", parsed) == datetime(2025, 5, 6, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("en", "en"),
        ("EN", "en"),
        ("en-us", "en-US"),
        ("en_GB", "en-GB"),
        ("pt-BR", "pt-BR"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("ja_JP", "ja-JP"),
        (" fr ", "fr"),
        ("english", None),
        ("en-", None),
        ("", None),
        (None, None),
        (42, None),
        ("en-" + "x" * 20, None),
    ],
)
def test_language_tag(value: object, expected: str | None) -> None:
    assert language_tag(value) == expected


@pytest.mark.parametrize(
    ("value", "base", "expected"),
    [
        ("/news/1", "https://site.example/feed/", "https://site.example/news/1"),
        ("../about", "https://site.example/blog/feed", "https://site.example/about"),
        ("//cdn.site.example/x", "https://site.example/", "https://cdn.site.example/x"),
        (" https://site.example/a?b=1&amp;c=2 ", "", "https://site.example/a?b=1&c=2"),
        ("https://site.example/a\u200b/b", "", "https://site.example/a/b"),
        ("mailto:desk@site.example", "https://site.example/", None),
        ("javascript:void(0)", "https://site.example/", None),
        ("/relative/only", "", None),
        ("http://[::1", "", None),
        ("", "https://site.example/", None),
        (None, "https://site.example/", None),
    ],
)
def test_web_url(value: object, base: str, expected: str | None) -> None:
    assert web_url(value, base=base) == expected


def test_names_are_cleaned_joined_and_kept_within_the_limit() -> None:
    assert names(["<b>Ana Souza</b>", "Ana Souza", None, " ", "Marcos\u00a0Lima"]) == "Ana Souza, Marcos Lima"
    assert names([]) is None
    many = names(f"Reporter Number {n}" for n in range(100))
    assert many is not None and len(many) <= MAX_AUTHOR
    assert many.startswith("Reporter Number 0, Reporter Number 1,")


def test_tags_are_cleaned_deduplicated_and_within_the_contract() -> None:
    assert tags(["Local", "local", "Local", "<i>Sport</i>", "", None, "x" * (MAX_TAG + 1)]) == [
        "Local",
        "local",
        "Sport",
    ]
    assert len(tags(str(n) for n in range(MAX_TAGS + 50))) == MAX_TAGS
