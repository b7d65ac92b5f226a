"""Turning request bodies into articles: content types, parser messages, field-named errors, batches."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from services.contracts import ArticleIn
from services.errors import RequestError
from services.ingest.identity import article_id
from services.ingest.parsing import article_from_body, article_from_fields, batch_items, to_raw
from tests.factories import article_fields

SEED = Path(__file__).resolve().parents[2] / "seeds" / "000_dccf1c9c5e5a1b50.txt"


def _json(value: Any) -> bytes:
    return orjson.dumps(value)


def _locs(exc: RequestError) -> list[list[str]]:
    return [err["loc"] for err in exc.detail]


# ---------------------------------------------------------------------------------------------------------
# article_from_body


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.wirestream.article+json",
        "application/ld+json; charset=utf-8",
    ],
)
def test_json_body_becomes_an_article(content_type: str) -> None:
    fields = article_fields(published_at="2024-01-15T08:07:00", tags=["A", "A", "B"], author="Jo")

    article = article_from_body(_json(fields), content_type)

    assert article.title == fields["title"]
    assert article.body == fields["body"]
    assert article.author == "Jo"
    assert article.tags == ["A", "B"]
    accepted = to_raw(article)  # a naive time is UTC, and no offset was given
    assert (accepted.published_at, accepted.published_offset) == (
        datetime(2024, 1, 15, 8, 7, tzinfo=UTC),
        None,
    )


def test_plain_text_seed_layout_becomes_an_article() -> None:
    article = article_from_body(SEED.read_bytes(), "text/plain; charset=utf-8")

    assert article.title == "Russia-North Korea Relations Deepen Amid Alleged Missile Usage in Ukraine"
    assert article.author == "BNN Correspondents"
    assert article.section == "International Relations"
    assert article.language == "en"
    assert article.published_at == datetime(2024, 1, 15, 8, 7, tzinfo=UTC)
    assert {"International Relations", "North Korea", "Russia"} <= set(article.tags)
    assert article.body.startswith("On January 16, Moscow is set to host")


def test_other_plain_text_takes_first_line_as_title() -> None:
    text = "Storm closes the harbour\n\nThe harbour closed at noon.\nFerries were cancelled.\n"

    article = article_from_body(text.encode(), "text/plain")

    assert article.title == "Storm closes the harbour"
    assert article.body == "The harbour closed at noon.\nFerries were cancelled."
    assert article.published_at is None
    assert article.tags == []


def test_plain_text_with_a_byte_order_mark_is_read() -> None:
    article = article_from_body("\ufeffHeadline\nBody line".encode(), "text/plain")
    assert (article.title, article.body) == ("Headline", "Body line")


def test_plain_text_without_a_body_is_422_naming_body() -> None:
    with pytest.raises(RequestError) as info:
        article_from_body(b"Only a headline\n", "text/plain")
    assert info.value.status == 422
    assert _locs(info.value) == [["body"]]
    assert info.value.detail[0]["msg"].startswith("body:")
    assert "empty" in info.value.detail[0]["msg"]


def test_plain_text_that_is_not_utf8_is_400() -> None:
    with pytest.raises(RequestError) as info:
        article_from_body(b"Headline\n\xff\xfe body", "text/plain")
    assert info.value.status == 400
    assert "not UTF-8" in info.value.detail


@pytest.mark.parametrize(
    ("content_type", "named"),
    [
        ("application/xml", "'application/xml'"),
        ("text/xml; charset=utf-8", "'text/xml'"),
        ("text/html", "'text/html'"),
        (None, "(none)"),
        ("", "(none)"),
    ],
)
def test_unsupported_content_type_is_415_naming_it(content_type: str | None, named: str) -> None:
    with pytest.raises(RequestError) as info:
        article_from_body(b"<article><title>t</title><body>b</body></article>", content_type)
    assert info.value.status == 415
    assert "unsupported Content-Type" in info.value.detail
    assert named in info.value.detail


@pytest.mark.parametrize("raw", [b'{"title": "t", "body": ', b"{'title': 't'}", b"", b"\xff"])
def test_malformed_json_is_400_with_the_parser_message(raw: bytes) -> None:
    with pytest.raises(RequestError) as info:
        article_from_body(raw, "application/json")

    assert info.value.status == 400
    detail = info.value.detail
    assert detail.startswith("malformed JSON: ")
    with pytest.raises(orjson.JSONDecodeError) as parser:
        orjson.loads(raw)
    assert str(parser.value) in detail  # the parser's own words, with its position


@pytest.mark.parametrize("field", ["title", "body"])
def test_missing_required_field_is_422_naming_it(field: str) -> None:
    fields = article_fields()
    del fields[field]

    with pytest.raises(RequestError) as info:
        article_from_body(_json(fields), "application/json")

    assert info.value.status == 422
    assert _locs(info.value) == [["body", field]]
    assert info.value.detail[0]["msg"] == f"{field}: Field required"
    assert info.value.detail[0]["type"] == "missing"


@pytest.mark.parametrize("field", ["title", "body"])
def test_blank_required_field_is_422_naming_it(field: str) -> None:
    with pytest.raises(RequestError) as info:
        article_from_body(_json(article_fields(**{field: "  \n "})), "application/json")

    assert info.value.status == 422
    assert _locs(info.value) == [["body", field]]
    assert info.value.detail[0]["msg"].startswith(f"{field}: ")
    assert "must not be empty" in info.value.detail[0]["msg"]


def test_every_invalid_field_is_reported() -> None:
    with pytest.raises(RequestError) as info:
        article_from_body(_json({"title": "", "published_at": "yesterday-ish"}), "application/json")
    assert sorted(map(tuple, _locs(info.value))) == [
        ("body", "body"),
        ("body", "published_at"),
        ("body", "title"),
    ]


@pytest.mark.parametrize("value", [[{"title": "t", "body": "b"}], "text", 3, None])
def test_json_that_is_not_an_object_is_422(value: Any) -> None:
    with pytest.raises(RequestError) as info:
        article_from_body(_json(value), "application/json")
    assert info.value.status == 422
    assert "expected a JSON object" in info.value.detail[0]["msg"]


# ---------------------------------------------------------------------------------------------------------
# batch_items


def test_json_array_batch_gives_each_item() -> None:
    items = [article_fields(), article_fields(), {"title": "no body"}]

    decoded = batch_items(_json(items), "application/json", limit=10)

    assert decoded == items  # items are validated one by one later, not here


@pytest.mark.parametrize("content_type", ["application/x-ndjson", "application/ndjson", "application/jsonl"])
def test_ndjson_with_a_malformed_line_yields_bad_input_at_its_position(content_type: str) -> None:
    good = [article_fields() for _ in range(3)]
    raw = b"\n".join([_json(good[0]), _json(good[1]), b'{"title": "broken', _json(good[2])]) + b"\n"

    decoded = batch_items(raw, content_type, limit=10)

    assert len(decoded) == 4
    assert decoded[0] == good[0]
    assert decoded[1] == good[1]
    assert decoded[3] == good[2]
    bad = decoded[2]
    assert isinstance(bad, RequestError)
    assert bad.status == 400
    assert bad.detail.startswith("line 3: malformed JSON: ")


def test_ndjson_skips_blank_lines_and_counts_lines_for_messages() -> None:
    raw = b"\n" + _json(article_fields()) + b"\n\n   \nnot json\r\n" + _json(article_fields()) + b"\n"

    decoded = batch_items(raw, "application/x-ndjson", limit=10)

    assert [type(d).__name__ for d in decoded] == ["dict", "BadRequest", "dict"]
    assert decoded[1].detail.startswith("line 5: malformed JSON")


def test_batch_over_the_item_limit_is_413() -> None:
    items = [article_fields() for _ in range(4)]
    for raw, kind in (
        (_json(items), "application/json"),
        (b"\n".join(map(_json, items)), "application/x-ndjson"),
    ):
        with pytest.raises(RequestError) as info:
            batch_items(raw, kind, limit=3)
        assert info.value.status == 413
        assert "batch of 4 articles exceeds the limit of 3" in info.value.detail


def test_batch_at_the_item_limit_is_accepted() -> None:
    items = [article_fields() for _ in range(3)]
    assert len(batch_items(_json(items), "application/json", limit=3)) == 3


def test_json_object_instead_of_array_is_422() -> None:
    with pytest.raises(RequestError) as info:
        batch_items(_json(article_fields()), "application/json", limit=10)
    assert info.value.status == 422
    assert "must be an array" in info.value.detail


def test_malformed_json_batch_is_400() -> None:
    with pytest.raises(RequestError) as info:
        batch_items(b"[{", "application/json", limit=10)
    assert info.value.status == 400
    assert info.value.detail.startswith("malformed JSON: ")


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", None])
def test_batch_with_unsupported_content_type_is_415(content_type: str | None) -> None:
    with pytest.raises(RequestError) as info:
        batch_items(b"[]", content_type, limit=10)
    assert info.value.status == 415
    assert "unsupported Content-Type" in info.value.detail


# ---------------------------------------------------------------------------------------------------------
# to_raw


def test_to_raw_gives_a_deterministic_id() -> None:
    article = article_from_fields(article_fields(published_at="2024-01-15T08:07:00Z"))

    first = to_raw(article, received_at=datetime(2024, 1, 15, tzinfo=UTC))
    second = to_raw(article.model_copy(), received_at=datetime(2024, 2, 1, tzinfo=UTC))

    assert re.fullmatch(r"[0-9a-f]{16}", first.id)
    assert first.id == second.id
    assert first.id == article_id(
        title=article.title, body=article.body, published_at=article.published_at, url=None
    )


def test_to_raw_id_follows_the_canonical_url() -> None:
    one = article_from_fields(article_fields(url="https://www.example.com/news/1?utm_source=x#top"))
    two = article_from_fields(article_fields(url="http://example.com/news/1/"))  # other title and body
    other = article_from_fields(article_fields(url="https://example.com/news/2"))

    assert to_raw(one).id == to_raw(two).id
    assert to_raw(one).id != to_raw(other).id


def test_to_raw_id_changes_with_the_text() -> None:
    fields = article_fields()
    base = to_raw(article_from_fields(fields))
    assert to_raw(article_from_fields({**fields, "body": fields["body"] + " More."})).id != base.id
    assert to_raw(article_from_fields({**fields, "published_at": "2024-01-15T08:07:00Z"})).id != base.id


def test_to_raw_keeps_the_fields_and_stamps_received_at() -> None:
    article = ArticleIn.model_validate(article_fields(author="Jo", language="en"))
    before = datetime.now(UTC)

    raw = to_raw(article)

    assert raw.model_dump(exclude={"id", "received_at", "published_offset"}) == article.model_dump()
    assert raw.published_offset is None
    assert before <= raw.received_at <= datetime.now(UTC) + timedelta(seconds=1)
    assert raw.received_at.tzinfo is not None


@pytest.mark.parametrize(
    ("posted", "offset"),
    [
        ("2024-01-15T08:07:00Z", "+00:00"),
        ("2024-01-15T08:07:00-00:00", "+00:00"),
        ("2024-01-15T13:52:00+05:45", "+05:45"),
        ("2024-01-15T08:07:00", None),
    ],
)
def test_accepting_an_article_keeps_the_offset_as_posted_even_when_it_is_zero(
    posted: str, offset: str | None
) -> None:
    article = to_raw(article_from_fields(article_fields(published_at=posted)))
    assert article.published_offset == offset
    assert article.published_at == datetime(2024, 1, 15, 8, 7, tzinfo=UTC)
