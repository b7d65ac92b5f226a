"""The shared message contract: envelope encoding, decoding, validation and stream names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from pydantic import ValidationError

from services.broker import JsonEnvelope
from services.contracts import (
    DATA_FIELD,
    ENRICHED_EVENT,
    RAW_EVENT,
    SCHEMA_VERSION,
    ArticleIn,
    EnrichedArticle,
    RawArticle,
    dead_stream,
    decode_envelope,
    decode_fields,
    encode_entry,
    enriched_stream,
    parse_model,
    raw_stream,
    seen_key,
)
from services.errors import MalformedEntry
from tests.factories import enriched_article, entity, raw_article

# ---------------------------------------------------------------------------------------------------------
# Envelope round trip


def test_encode_entry_is_plain_json_with_headers_and_body() -> None:
    article = raw_article()

    data = encode_entry(article, event_type=RAW_EVENT, correlation_id=article.id)

    obj = orjson.loads(data)
    assert set(obj) == {"headers", "body"}
    assert obj["headers"] == {
        "event_type": RAW_EVENT,
        "schema_version": str(SCHEMA_VERSION),
        "correlation_id": article.id,
    }
    assert obj["body"] == article.model_dump(mode="json")


def test_encode_entry_leaves_out_an_empty_correlation_id() -> None:
    obj = orjson.loads(encode_entry(raw_article(), event_type=RAW_EVENT))
    assert "correlation_id" not in obj["headers"]


def test_raw_article_round_trips_through_the_envelope() -> None:
    article = raw_article(published_at=datetime(2024, 1, 15, 8, 7, tzinfo=UTC), tags=["A", "B"])

    body, headers = decode_envelope(encode_entry(article, event_type=RAW_EVENT, correlation_id=article.id))

    assert headers["event_type"] == RAW_EVENT
    assert headers["correlation_id"] == article.id
    assert parse_model(RawArticle, body) == article


def test_enriched_article_round_trips_through_the_field_map() -> None:
    article = enriched_article(entities=[entity("Ada Lovelace", count=2)], tags=["Science"])
    fields = {DATA_FIELD.encode(): encode_entry(article, event_type=ENRICHED_EVENT)}

    body, headers = decode_fields(fields)

    assert headers["event_type"] == ENRICHED_EVENT
    decoded = parse_model(EnrichedArticle, body)
    assert decoded == article
    assert decoded.entities[0].mentions[1].start == 10


def test_decode_fields_accepts_str_keys_and_values() -> None:
    article = raw_article()
    data = encode_entry(article, event_type=RAW_EVENT).decode()

    body, _ = decode_fields({"other": "x", DATA_FIELD: data})

    assert body["id"] == article.id


def test_decode_envelope_stringifies_header_values() -> None:
    data = orjson.dumps({"headers": {"schema_version": 1, "retry": True}, "body": {"id": "a"}})
    assert decode_envelope(data) == ({"id": "a"}, {"schema_version": "1", "retry": "True"})


def test_bare_article_json_decodes_without_headers() -> None:
    article = raw_article()
    bare = orjson.dumps(article.model_dump(mode="json"))

    body, headers = decode_fields({DATA_FIELD.encode(): bare})

    assert headers == {}
    assert parse_model(RawArticle, body) == article


# ---------------------------------------------------------------------------------------------------------
# Malformed entries


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"this is not json", "not JSON"),
        (b'{"headers": {', "not JSON"),
        (b"\xff\xfe\x00", "not JSON"),
        (b"[1, 2, 3]", "expected a JSON object, got list"),
        (b'"a string"', "expected a JSON object, got str"),
        (b"42", "expected a JSON object, got int"),
        (b"null", "expected a JSON object, got NoneType"),
    ],
)
def test_decode_envelope_rejects_what_is_not_a_json_object(data: bytes, problem: str) -> None:
    with pytest.raises(MalformedEntry, match=problem):
        decode_envelope(data)


def test_entry_without_data_field_is_malformed_and_names_its_fields() -> None:
    with pytest.raises(MalformedEntry) as info:
        decode_fields({b"title": b"x", b"body": b"y"})
    message = str(info.value)
    assert f"no {DATA_FIELD} field" in message
    assert "body, title" in message


def test_entry_with_no_fields_at_all_is_malformed() -> None:
    with pytest.raises(MalformedEntry, match="fields: none"):
        decode_fields({})


def test_malformed_entry_is_a_value_error() -> None:
    # Callers that catch ValueError (e.g. the ingest parser) also catch contract failures.
    assert issubclass(MalformedEntry, ValueError)


# ---------------------------------------------------------------------------------------------------------
# parse_model


def test_parse_model_names_the_failing_field() -> None:
    body = raw_article().model_dump(mode="json")
    del body["received_at"]

    with pytest.raises(MalformedEntry) as info:
        parse_model(RawArticle, body)

    message = str(info.value)
    assert message.startswith("does not match RawArticle:")
    assert "received_at: Field required" in message


def test_parse_model_names_nested_fields_with_their_path() -> None:
    body = enriched_article(entities=[entity("Acme")]).model_dump(mode="json")
    body["entities"][0]["type"] = "PLANET"

    with pytest.raises(MalformedEntry, match=r"entities\.0\.type: "):
        parse_model(EnrichedArticle, body)


def test_parse_model_lists_every_problem() -> None:
    with pytest.raises(MalformedEntry) as info:
        parse_model(RawArticle, {"title": "t"})
    message = str(info.value)
    for name in ("body", "id", "received_at"):
        assert f"{name}: Field required" in message


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


def test_article_in_takes_naive_published_at_as_utc() -> None:
    article = ArticleIn.model_validate({"title": "t", "body": "b", "published_at": "2024-01-15T08:07:00"})
    assert article.published_at == datetime(2024, 1, 15, 8, 7, tzinfo=UTC)
    assert article.published_at.utcoffset() == timedelta(0)


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
    assert seen_key("east") == "east:seen"
    names = {f("a") for f in (raw_stream, enriched_stream, dead_stream, seen_key)}
    assert len(names) == 4
    assert names.isdisjoint({f("b") for f in (raw_stream, enriched_stream, dead_stream, seen_key)})


# ---------------------------------------------------------------------------------------------------------
# FastStream's message format


async def test_json_envelope_encodes_plain_json_with_headers_and_body() -> None:
    article = raw_article()

    data = await JsonEnvelope.encode(
        message=article.model_dump(mode="json"),
        reply_to=None,
        headers={"event_type": ENRICHED_EVENT},
        correlation_id="corr-1",
    )

    obj = orjson.loads(data)  # any JSON parser reads it: no binary framing
    assert set(obj) == {"headers", "body"}
    assert obj["body"] == article.model_dump(mode="json")
    assert obj["headers"]["event_type"] == ENRICHED_EVENT
    assert obj["headers"]["schema_version"] == str(SCHEMA_VERSION)
    assert obj["headers"]["correlation_id"] == "corr-1"
    assert "content-type" not in obj["headers"]
    # What FastStream writes is what the contract decodes.
    body, headers = decode_envelope(data)
    assert parse_model(RawArticle, body) == article
    assert headers["event_type"] == ENRICHED_EVENT


async def test_json_envelope_parse_returns_the_body() -> None:
    article = raw_article()
    data = encode_entry(article, event_type=RAW_EVENT, correlation_id=article.id)

    body, headers = JsonEnvelope.parse(data)

    assert orjson.loads(body) == article.model_dump(mode="json")
    assert headers["correlation_id"] == article.id
    assert headers["content-type"] == "application/json"


def test_json_envelope_parse_hands_on_what_it_cannot_read() -> None:
    assert JsonEnvelope.parse(b"garbage") == (b"garbage", {})
    body, headers = JsonEnvelope.parse({b"title": b"x"})
    assert orjson.loads(body) == {"title": "x"}
    assert headers == {}
