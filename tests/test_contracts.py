"""The shared message contract: article validation, times in UTC, stream names and the stages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from services.contracts import (
    ArticleIn,
    RawArticle,
    dead_stream,
    dedup_key,
    enriched_stream,
    raw_stream,
)

# ---------------------------------------------------------------------------------------------------------
# ArticleIn validation


@pytest.mark.parametrize("field", ["title", "body"])
@pytest.mark.parametrize("value", ["", "   ", "\n\t "])
def test_article_in_rejects_blank_required_field_naming_it(field: str, value: str) -> None:
    fields = {"title": "A title", "body": "A body", field: value}

    with pytest.raises(ValidationError) as info:
        ArticleIn.model_validate(fields)

    errors = info.value.errors()
    assert [e["loc"] for e in errors] == [(field,)]
    assert "must not be empty" in errors[0]["msg"]


@pytest.mark.parametrize("field", ["title", "body"])
def test_article_in_requires_title_and_body(field: str) -> None:
    fields = {"title": "A title", "body": "A body"}
    del fields[field]
    with pytest.raises(ValidationError) as info:
        ArticleIn.model_validate(fields)
    assert [e["loc"] for e in info.value.errors()] == [(field,)]


def test_article_in_strips_whitespace() -> None:
    article = ArticleIn.model_validate(
        {"title": "  Spaced title \n", "body": "\n Body text  ", "author": "  Jo Bloggs ", "source": " wire "}
    )
    assert (article.title, article.body, article.author, article.source) == (
        "Spaced title",
        "Body text",
        "Jo Bloggs",
        "wire",
    )


def test_a_naive_published_at_is_accepted_as_utc_without_an_offset() -> None:
    posted = ArticleIn.model_validate({"title": "t", "body": "b", "published_at": "2024-01-15T08:07:00"})
    article = RawArticle(**posted.model_dump(), id="x", received_at=datetime.now(UTC))
    assert article.published_at == datetime(2024, 1, 15, 8, 7, tzinfo=UTC)
    assert article.published_at.utcoffset() == timedelta(0)
    assert article.published_offset is None


def test_a_producers_offset_is_recorded_and_the_time_converted() -> None:
    posted = "2024-01-15T13:52:00+05:45"
    article = RawArticle(title="t", body="b", id="x", received_at=datetime.now(UTC), published_at=posted)
    assert article.published_offset == "+05:45"
    assert article.published_at == datetime(2024, 1, 15, 8, 7, tzinfo=UTC)
    # Read back from a stream or the store, the time is UTC and the offset stays what was recorded.
    again = RawArticle.model_validate(article.model_dump(mode="json"))
    assert (again.published_at, again.published_offset) == (article.published_at, "+05:45")


def test_article_in_keeps_an_explicit_offset() -> None:
    article = ArticleIn.model_validate(
        {"title": "t", "body": "b", "published_at": "2024-01-15T03:07:00-05:00"}
    )
    assert article.published_at is not None
    assert article.published_at.utcoffset() == timedelta(hours=-5)
    assert article.published_at == datetime(2024, 1, 15, 8, 7, tzinfo=UTC)
    assert article.published_at.tzinfo == timezone(timedelta(hours=-5))


def test_article_in_dedupes_and_strips_tags_keeping_first_order() -> None:
    article = ArticleIn.model_validate(
        {"title": "t", "body": "b", "tags": ["Russia", " North Korea ", "Russia", "", "  ", "North Korea"]}
    )
    assert article.tags == ["Russia", "North Korea"]


def test_article_in_ignores_unknown_fields() -> None:
    article = ArticleIn.model_validate({"title": "t", "body": "b", "nonsense": 1})
    assert "nonsense" not in article.model_dump()


def test_article_in_rejects_an_over_long_title_naming_it() -> None:
    with pytest.raises(ValidationError) as info:
        ArticleIn.model_validate({"title": "x" * 1001, "body": "b"})
    assert [e["loc"] for e in info.value.errors()] == [("title",)]


# ---------------------------------------------------------------------------------------------------------
# Stream names


def test_stream_names_use_the_prefix() -> None:
    assert raw_stream("east") == "east:raw"
    assert enriched_stream("east") == "east:enriched"
    assert dead_stream("east") == "east:dead"
    assert dedup_key("east", 10245, 17) == "east:dedup:10245:17"
    names = {f("a") for f in (raw_stream, enriched_stream, dead_stream)} | {dedup_key("a", 1, 0)}
    assert len(names) == 4
    assert names.isdisjoint({f("b") for f in (raw_stream, enriched_stream, dead_stream)})
    assert len({dedup_key("a", p, b) for p in (1, 2) for b in (0, 1)}) == 4
