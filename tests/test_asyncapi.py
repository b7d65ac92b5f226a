"""The AsyncAPI document: generated from the contract, committed up to date, served by the store."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from services.contracts import ENRICHED_EVENT, PAGE_EVENT, RAW_EVENT, EnrichedArticle, RawArticle
from services.store.app import create_app
from services.store.settings import StoreSettings
from services.tools.asyncapi import asyncapi_document, render_asyncapi_yaml
from tests.harness import ROOT, in_process

REGENERATE = ".venv/bin/wirestream asyncapi --output docs/asyncapi.yaml"


def test_the_committed_document_is_current() -> None:
    committed = (ROOT / "docs" / "asyncapi.yaml").read_text()
    assert committed == render_asyncapi_yaml(), (
        f"docs/asyncapi.yaml is stale; regenerate it with:\n{REGENERATE}"
    )


def test_the_regenerate_command_is_documented() -> None:
    assert REGENERATE in (ROOT / "docs" / "SUBSCRIBING.md").read_text()


def _operations(doc: dict[str, Any]) -> set[tuple[str, str, str | None, str]]:
    """(action, stream, consumer group, payload schema) of every operation."""
    out = set()
    for op in doc["operations"].values():
        channel = doc["channels"][op["channel"]["$ref"].rpartition("/")[2]]
        [ref] = channel["messages"].values()
        message = doc["components"]["messages"][ref["$ref"].rpartition("/")[2]]
        schema = message["payload"]["$ref"].rpartition("/")[2]
        group = channel["bindings"]["redis"].get("groupName")
        out.add((op["action"], channel["address"], group, schema))
    return out


def test_every_stream_its_producers_and_groups_are_described() -> None:
    doc = asyncapi_document("news")
    assert doc["asyncapi"].startswith("3.")
    assert _operations(doc) == {
        ("send", "news:raw", None, "RawArticle"),
        ("receive", "news:raw", "enrich", "RawArticle"),
        ("send", "news:enriched", None, "EnrichedArticle"),
        ("receive", "news:enriched", "store", "EnrichedArticle"),
        ("send", "news:fetch", None, "PageRequest"),
        ("receive", "news:fetch", "fetch", "PageRequest"),
        ("send", "news:dead", None, "DeadLetter"),
    }
    assert all(channel.get("description") for channel in doc["channels"].values())
    assert "__data__" in doc["info"]["description"]


@pytest.mark.parametrize("model", [RawArticle, EnrichedArticle])
def test_message_schemas_are_the_contract_models(model: type[RawArticle]) -> None:
    schema = asyncapi_document()["components"]["schemas"][model.__name__]
    contract = model.model_json_schema()
    assert set(schema["properties"]) == set(contract["properties"])
    assert set(schema["required"]) == set(contract["required"])


def test_article_messages_carry_the_envelope_headers() -> None:
    messages = asyncapi_document()["components"]["messages"].values()
    events = {
        m["payload"]["$ref"].rpartition("/")[2]: m["headers"]["properties"]["event_type"]["const"]
        for m in messages
        if "headers" in m
    }
    assert events == {"RawArticle": RAW_EVENT, "EnrichedArticle": ENRICHED_EVENT, "PageRequest": PAGE_EVENT}


def test_the_prefix_names_the_streams_and_credentials_stay_out() -> None:
    text = render_asyncapi_yaml("acme", "redis://reader:s3cret@redis.internal:6380/2?password=hunter2")
    doc = yaml.safe_load(text)
    assert {c["address"] for c in doc["channels"].values()} == {
        "acme:raw",
        "acme:enriched",
        "acme:fetch",
        "acme:dead",
    }
    assert "news:" not in text
    assert "s3cret" not in text and "hunter2" not in text
    assert doc["servers"]["development"]["host"] == "redis.internal:6380"


async def test_the_store_serves_its_own_document(redis_url: str, sqlite_url: str) -> None:
    settings = StoreSettings(redis_url=redis_url, stream_prefix="served", database_url=sqlite_url)
    async with in_process(create_app(settings), "http://store") as client:
        as_yaml, as_json, page = [
            await client.get(p) for p in ("/asyncapi.yaml", "/asyncapi.json", "/asyncapi")
        ]
    assert as_yaml.status_code == as_json.status_code == page.status_code == 200
    assert as_yaml.headers["content-type"].startswith("application/yaml")
    assert as_yaml.text == render_asyncapi_yaml("served", redis_url)
    assert as_json.json() == yaml.safe_load(as_yaml.text)
    assert page.headers["content-type"].startswith("text/html")
    assert "served:enriched" in page.text
