"""The /v1/feeds routes of the ingest app, lifespan included, against a real Redis."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from services.ingest.app import create_app
from services.ingest.feeds.registry import FeedStatus, feed_id
from services.ingest.feeds.schedule import Schedule
from services.ingest.settings import IngestSettings
from services.tools.local import free_port
from tests.harness import in_process

URL = "https://example.com/news/rss.xml"
KEY = "feeds-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}

OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Subscriptions</title></head>
  <body>
    <outline text="News">
      <outline text="Example News" type="rss" xmlUrl="https://example.com/news/rss.xml?utm_source=opml"/>
      <outline text="Example Org" type="rss" xmlUrl="https://example.org/feed" category="/World/Europe"/>
    </outline>
    <outline text="Local file" type="rss" xmlUrl="file:///etc/passwd"/>
    <outline text="Example Net" type="rss" xmlUrl="http://example.net/atom.xml"/>
  </body>
</opml>
"""


@pytest.fixture
async def client(redis_url: str, prefix: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = IngestSettings(redis_url=redis_url, stream_prefix=prefix, ingest_api_keys=KEY)
    async with in_process(create_app(settings), "http://ingest") as c:
        c.headers.update(AUTH)
        yield c


async def test_a_feed_is_registered_shown_listed_and_removed(
    client: httpx.AsyncClient, redis: Redis, prefix: str
) -> None:
    body = {"url": URL, "interval_s": 5, "source": "Example", "fetch_pages": True, "tags": ["World"]}

    created = await client.post("/v1/feeds", json=body)

    assert created.status_code == 201, created.text
    feed = created.json()
    assert feed["id"] == feed_id(URL)
    assert created.headers["Location"] == f"/v1/feeds/{feed['id']}"
    assert {k: feed[k] for k in body} == body
    assert feed["created_at"].endswith("Z")
    assert feed["status"]["next_poll_at"].endswith("Z")
    assert feed["status"]["consecutive_failures"] == 0 and feed["status"]["disabled"] is False
    # Due at once: a poller claims it now.
    [lease] = await Schedule(redis, prefix).claim(time.time(), limit=10, lease_s=30)
    assert lease.feed_id == feed["id"]

    shown = await client.get(f"/v1/feeds/{feed['id']}")
    assert shown.status_code == 200
    assert {k: v for k, v in shown.json().items() if k != "status"} == {
        k: v for k, v in feed.items() if k != "status"
    }
    listed = await client.get("/v1/feeds")
    assert [f["id"] for f in listed.json()["items"]] == [feed["id"]]

    removed = await client.delete(f"/v1/feeds/{feed['id']}")
    assert removed.status_code == 204 and removed.content == b""
    gone = await client.get(f"/v1/feeds/{feed['id']}")
    assert gone.status_code == 404 and feed["id"] in gone.json()["detail"]
    again = await client.delete(f"/v1/feeds/{feed['id']}")
    assert again.status_code == 404 and feed["id"] in again.json()["detail"]
    assert (await client.get("/v1/feeds")).json() == {"items": []}
    assert [k async for k in redis.scan_iter(match=f"{prefix}:*feed*")] == []


async def test_each_feed_is_listed_with_its_status(
    client: httpx.AsyncClient, redis: Redis, prefix: str
) -> None:
    first = (await client.post("/v1/feeds", json={"url": URL})).json()
    second = (await client.post("/v1/feeds", json={"url": "https://example.org/feed"})).json()
    schedule = Schedule(redis, prefix)
    leases = {lease.feed_id: lease for lease in await schedule.claim(time.time(), limit=10, lease_s=30)}
    status = FeedStatus(last_status=410, disabled=True, disabled_reason="410 Gone", consecutive_failures=1)
    assert await schedule.complete(leases[second["id"]], None, status)

    listed = (await client.get("/v1/feeds")).json()["items"]

    assert [f["id"] for f in listed] == [first["id"], second["id"]]
    assert listed[0]["status"]["disabled"] is False and listed[0]["status"]["next_poll_at"]
    gone = listed[1]["status"]
    assert (gone["disabled"], gone["disabled_reason"], gone["last_status"], gone["next_poll_at"]) == (
        True,
        "410 Gone",
        410,
        None,
    )


@pytest.mark.parametrize(
    "again", [URL + "?utm_source=twitter&utm_medium=social", "http://www.example.com/news/rss.xml/#latest"]
)
async def test_the_same_feed_again_is_409_naming_its_id(client: httpx.AsyncClient, again: str) -> None:
    first = await client.post("/v1/feeds", json={"url": URL})

    answer = await client.post("/v1/feeds", json={"url": again, "interval_s": 60})

    assert answer.status_code == 409
    assert first.json()["id"] in answer.json()["detail"]
    assert answer.headers["Location"] == f"/v1/feeds/{first.json()['id']}"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"url": "ftp://example.com/rss"}, "url", "must be an http or https URL, not ftp:"),
        ({"url": "example.com/rss"}, "url", "not one without a scheme"),
        ({"url": "https://"}, "url", "must name a host"),
        ({}, "url", "Field required"),
        ({"url": URL, "interval_s": 1}, "interval_s", "greater than or equal to 5"),
        ({"url": URL, "interval_s": 10**9}, "interval_s", "less than or equal to 604800"),
        ({"url": URL, "fetch_pages": "maybe"}, "fetch_pages", "valid boolean"),
        ({"url": URL, "tags": "World"}, "tags", "valid list"),
        ({"url": URL, "interval": 60}, "interval", "Extra inputs are not permitted"),
    ],
)
async def test_a_bad_feed_is_422_naming_the_problem(
    client: httpx.AsyncClient, redis: Redis, prefix: str, body: dict[str, Any], field: str, message: str
) -> None:
    answer = await client.post("/v1/feeds", json=body)

    assert answer.status_code == 422, answer.text
    [problem] = answer.json()["detail"]
    assert problem["loc"] == ["body", field]
    assert problem["msg"].startswith(f"{field}: ") and message in problem["msg"]
    assert [k async for k in redis.scan_iter(match=f"{prefix}:*")] == []


async def test_a_body_that_is_no_feed_is_refused(client: httpx.AsyncClient) -> None:
    not_json = await client.post("/v1/feeds", content=b"{", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400 and "malformed JSON" in not_json.json()["detail"]
    a_list = await client.post("/v1/feeds", json=[URL])
    assert a_list.status_code == 422 and "expected a JSON object with url" in a_list.text
    form = await client.post("/v1/feeds", data={"url": URL})
    assert form.status_code == 415 and "send application/json" in form.json()["detail"]


async def test_an_unknown_id_is_404_naming_it(client: httpx.AsyncClient) -> None:
    for unknown in ("0123456789abcdef", "not-an-id"):
        answer = await client.get(f"/v1/feeds/{unknown}")
        assert answer.status_code == 404 and unknown in answer.json()["detail"]


async def test_opml_import_answers_per_outline(client: httpx.AsyncClient) -> None:
    known = (await client.post("/v1/feeds", json={"url": URL})).json()

    answer = await client.post(
        "/v1/feeds/opml?interval_s=600&fetch_pages=true",
        content=OPML,
        headers={"Content-Type": "text/x-opml"},
    )

    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["created"], result["exists"], result["rejected"]) == (2, 1, 1)
    items = result["items"]
    assert [(i["index"], i["status"]) for i in items] == [
        (0, "exists"),
        (1, "created"),
        (2, "rejected"),
        (3, "created"),
    ]
    assert items[0]["id"] == known["id"]
    assert "url: " in items[2]["error"] and "file:" in items[2]["error"]
    org = (await client.get(f"/v1/feeds/{items[1]['id']}")).json()
    assert (org["source"], org["interval_s"], org["fetch_pages"]) == ("Example Org", 600, True)
    assert set(org["tags"]) >= {"News", "World", "Europe"}
    assert len((await client.get("/v1/feeds")).json()["items"]) == 3


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<rss/>", "not <opml>"),
        (b"not xml", "not well-formed XML"),
        (b'<!DOCTYPE opml [<!ENTITY a "aaaa">]><opml><body/></opml>', "entities"),
    ],
)
async def test_a_body_that_is_no_opml_is_422(client: httpx.AsyncClient, body: bytes, message: str) -> None:
    answer = await client.post("/v1/feeds/opml", content=body)

    assert answer.status_code == 422
    assert "not an OPML document" in answer.json()["detail"] and message in answer.json()["detail"]


async def test_writes_need_an_api_key_and_reads_do_not(client: httpx.AsyncClient) -> None:
    feed = (await client.post("/v1/feeds", json={"url": URL})).json()
    writes = [
        ("POST", "/v1/feeds", {"json": {"url": "https://example.org/feed"}}),
        ("POST", "/v1/feeds/opml", {"content": OPML}),
        ("DELETE", f"/v1/feeds/{feed['id']}", {}),
    ]
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer wrong"}):
        for method, path, kwargs in writes:
            answer = await client.request(method, path, headers=headers, **kwargs)
            assert answer.status_code == 401, (method, path, headers)
            assert answer.headers["WWW-Authenticate"] == "Bearer"

    for path in ("/v1/feeds", f"/v1/feeds/{feed['id']}"):
        assert (await client.get(path, headers={"Authorization": ""})).status_code == 200
    assert [f["id"] for f in (await client.get("/v1/feeds")).json()["items"]] == [feed["id"]]


async def test_redis_down_is_503(prefix: str) -> None:
    settings = IngestSettings(redis_url=f"redis://127.0.0.1:{free_port()}/0", stream_prefix=prefix)
    async with in_process(create_app(settings), "http://ingest") as down:
        for answer in (await down.get("/v1/feeds"), await down.post("/v1/feeds", json={"url": URL})):
            assert answer.status_code == 503 and "Redis is unavailable" in answer.json()["detail"]
