"""The one codec of stream entries: the JSON envelope in __data__, encoded and decoded once."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from services.contracts import ENRICHED_EVENT, RAW_EVENT, SCHEMA_VERSION, EnrichedArticle, RawArticle
from services.errors import MalformedEntry, PoisonMessage
from services.runtime import codec
from services.runtime.codec import DATA_FIELD
from tests.factories import enriched_article, entity, raw_article

# ---------------------------------------------------------------------------------------------------------
# Envelope round trip


def test_encode_is_plain_json_with_headers_and_body() -> None:
    article = raw_article()

    data = codec.encode(article, event_type=RAW_EVENT, correlation_id=article.id)

    obj = orjson.loads(data)
    assert set(obj) == {"headers", "body"}
    assert obj["headers"] == {
        "event_type": RAW_EVENT,
        "schema_version": str(SCHEMA_VERSION),
        "correlation_id": article.id,
    }
    assert obj["body"] == article.model_dump(mode="json")


def test_encode_leaves_out_an_empty_correlation_id() -> None:
    obj = orjson.loads(codec.encode(raw_article(), event_type=RAW_EVENT))
    assert "correlation_id" not in obj["headers"]


def test_entry_is_one_field_holding_the_envelope() -> None:
    article = raw_article()
    fields = codec.entry(article, event_type=RAW_EVENT, correlation_id=article.id)
    assert list(fields) == [DATA_FIELD]
    assert fields[DATA_FIELD] == codec.encode(article, event_type=RAW_EVENT, correlation_id=article.id)


def test_raw_article_round_trips_through_the_envelope() -> None:
    article = raw_article(published_at=datetime(2024, 1, 15, 8, 7, tzinfo=UTC), tags=["A", "B"])
    fields = codec.entry(article, event_type=RAW_EVENT, correlation_id=article.id)

    decoded = codec.decode(fields, RawArticle)

    assert decoded.headers["event_type"] == RAW_EVENT
    assert decoded.headers["correlation_id"] == article.id
    assert decoded.body == article


def test_enriched_article_round_trips_through_the_field_map_as_redis_returns_it() -> None:
    article = enriched_article(entities=[entity("Ada Lovelace", count=2)], tags=["Science"])
    fields = {DATA_FIELD.encode(): codec.encode(article, event_type=ENRICHED_EVENT)}

    decoded = codec.decode(fields, EnrichedArticle)

    assert decoded.headers["event_type"] == ENRICHED_EVENT
    assert decoded.body == article
    assert decoded.body.entities[0].mentions[1].start == 10


def test_decode_accepts_str_keys_and_values() -> None:
    article = raw_article()
    data = codec.encode(article, event_type=RAW_EVENT).decode()

    assert codec.decode({"other": "x", DATA_FIELD: data}, RawArticle).body.id == article.id


def test_decode_stringifies_header_values() -> None:
    body = raw_article().model_dump(mode="json")
    data = orjson.dumps({"headers": {"schema_version": 1, "retry": True}, "body": body})
    assert codec.decode({DATA_FIELD: data}, RawArticle).headers == {"schema_version": "1", "retry": "True"}


def test_bare_article_json_decodes_without_headers() -> None:
    article = raw_article()
    bare = orjson.dumps(article.model_dump(mode="json"))

    decoded = codec.decode({DATA_FIELD.encode(): bare}, RawArticle)

    assert decoded.headers == {}
    assert decoded.body == article


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
def test_decode_rejects_what_is_not_a_json_object(data: bytes, problem: str) -> None:
    with pytest.raises(MalformedEntry, match=problem):
        codec.decode({DATA_FIELD: data}, RawArticle)


def test_entry_without_data_field_is_malformed_and_names_its_fields() -> None:
    with pytest.raises(MalformedEntry) as info:
        codec.decode({b"title": b"x", b"body": b"y"}, RawArticle)
    message = str(info.value)
    assert f"no {DATA_FIELD} field" in message
    assert "body, title" in message


def test_entry_with_no_fields_at_all_is_malformed() -> None:
    with pytest.raises(MalformedEntry, match="fields: none"):
        codec.decode({}, RawArticle)


def test_a_malformed_entry_is_poison() -> None:
    # The stage runner dead-letters poison at once: nothing in a malformed entry gets better by waiting.
    assert issubclass(MalformedEntry, PoisonMessage)


# ---------------------------------------------------------------------------------------------------------
# Validation against the contract


def test_validation_names_the_failing_field() -> None:
    body = raw_article().model_dump(mode="json")
    del body["received_at"]

    with pytest.raises(MalformedEntry) as info:
        codec.validate(RawArticle, body)

    message = str(info.value)
    assert message.startswith("does not match RawArticle:")
    assert "received_at: Field required" in message


def test_validation_names_nested_fields_with_their_path() -> None:
    body = enriched_article(entities=[entity("Acme")]).model_dump(mode="json")
    body["entities"][0]["type"] = "PLANET"

    with pytest.raises(MalformedEntry, match=r"entities\.0\.type: "):
        codec.validate(EnrichedArticle, body)


def test_validation_lists_every_problem() -> None:
    with pytest.raises(MalformedEntry) as info:
        codec.validate(RawArticle, {"title": "t"})
    message = str(info.value)
    for name in ("body", "id", "received_at"):
        assert f"{name}: Field required" in message


def test_text_reads_redis_replies_as_text() -> None:
    assert codec.text(b"1700000000000-0") == "1700000000000-0"
    assert codec.text("abc") == "abc"
    assert codec.text(b"\xff") == "\ufffd"
