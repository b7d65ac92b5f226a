"""The feed registry on a real Redis: one feed per canonical URL, its status, its keys under the prefix."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from redis.asyncio import Redis

from services.errors import Conflict, NotFound
from services.ingest.feeds.registry import (
    MAX_INTERVAL_S,
    MIN_INTERVAL_S,
    FeedIn,
    FeedRegistry,
    feed_id,
    import_feeds,
)

NOW = datetime(2024, 1, 15, 8, 0, 0, tzinfo=UTC)
URL = "https://example.com/news/rss.xml"


@pytest.fixture
def registry(redis: Redis, prefix: str) -> FeedRegistry:
    return FeedRegistry(redis, prefix)


async def test_a_feed_is_registered_due_at_once_and_read_back(registry: FeedRegistry, prefix: str) -> None:
    feed = FeedIn(url=URL, interval_s=60, source="Example", fetch_pages=True, tags=["world", "world", "UK"])

    added = await registry.add(feed, now=NOW)

    assert added.id == feed_id(URL)
    assert len(added.id) == 16
    assert (added.url, added.interval_s, added.source, added.fetch_pages) == (URL, 60, "Example", True)
    assert added.tags == ["world", "UK"]
    assert added.created_at == NOW
    assert added.status.next_poll_at == NOW  # due at once
    assert added.status.model_dump(exclude={"next_poll_at"}) == {
        "last_polled_at": None,
        "last_status": None,
        "items_seen": 0,
        "items_published": 0,
        "consecutive_failures": 0,
        "last_error": None,
        "disabled": False,
        "disabled_reason": None,
        "etag": None,
        "last_modified": None,
        "current_url": None,
    }
    assert await registry.get(added.id) == added
    assert await registry.list() == [added]
    keys = {k.decode() async for k in registry.redis.scan_iter(match=f"{prefix}:*")}
    assert keys == {f"{prefix}:feed:{added.id}", f"{prefix}:feeds", f"{prefix}:feeds:due"}


@pytest.mark.parametrize(
    "again",
    [
        URL + "?utm_source=newsletter&utm_medium=email",
        "http://www.example.com/news/rss.xml#top",
        "HTTPS://EXAMPLE.com:443/news//rss.xml/",
    ],
)
async def test_the_same_feed_spelt_otherwise_is_a_conflict_naming_its_id(
    registry: FeedRegistry, again: str
) -> None:
    first = await registry.add(FeedIn(url=URL))

    with pytest.raises(Conflict) as refused:
        await registry.add(FeedIn(url=again, interval_s=120))

    assert first.id in refused.value.detail
    assert refused.value.headers["Location"] == f"/v1/feeds/{first.id}"
    assert [f.interval_s for f in await registry.list()] == [900]  # the first registration is untouched


async def test_feeds_are_listed_in_registration_order(registry: FeedRegistry) -> None:
    urls = [f"https://example.com/{n}/feed" for n in (3, 1, 2)]
    for n, url in enumerate(urls):
        await registry.add(FeedIn(url=url), now=NOW.replace(minute=n))

    assert [f.url for f in await registry.list()] == urls


async def test_removing_a_feed_removes_every_key_of_it(registry: FeedRegistry, prefix: str) -> None:
    added = await registry.add(FeedIn(url=URL))
    await registry.redis.hset(f"{prefix}:feeds:leases", added.id, "token")  # as a poller holding it

    await registry.remove(added.id)

    assert [k async for k in registry.redis.scan_iter(match=f"{prefix}:*")] == []
    assert await registry.list() == []
    with pytest.raises(NotFound, match=added.id):
        await registry.get(added.id)
    with pytest.raises(NotFound, match=added.id):
        await registry.remove(added.id)
    assert (await registry.add(FeedIn(url=URL))).id == added.id  # it may be registered again


@pytest.mark.parametrize("unknown", ["0123456789abcdef", "nope", "}{news}:x", ""])
async def test_an_unknown_id_is_not_found_and_named(registry: FeedRegistry, unknown: str) -> None:
    with pytest.raises(NotFound, match=repr(unknown)):
        await registry.get(unknown)
    with pytest.raises(NotFound, match=repr(unknown)):
        await registry.remove(unknown)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"url": "ftp://example.com/feed"}, "url", "must be an http or https URL, not ftp:"),
        ({"url": "example.com/feed"}, "url", "not one without a scheme"),
        ({"url": "javascript:alert(1)"}, "url", "not javascript:"),
        ({"url": "https:///feed"}, "url", "must name a host"),
        ({"url": "https://example.com/a feed"}, "url", "spaces or control characters"),
        ({"url": "https://[::1/feed"}, "url", "Invalid IPv6 URL"),
        ({"url": ""}, "url", "at least 1 character"),
        ({"url": "https://example.com/" + "a" * 4000}, "url", "at most 4000 characters"),
        (
            {"url": URL, "interval_s": MIN_INTERVAL_S - 1},
            "interval_s",
            f"greater than or equal to {MIN_INTERVAL_S}",
        ),
        ({"url": URL, "interval_s": MAX_INTERVAL_S + 1}, "interval_s", "less than or equal to"),
        ({"url": URL, "interval_s": "900"}, "interval_s", "valid integer"),
        ({"url": URL, "tags": ["x" * 101]}, "tags.0", "at most 100 characters"),
        ({"url": URL, "source": "s" * 201}, "source", "at most 200 characters"),
        ({"url": URL, "interval": 60}, "interval", "Extra inputs are not permitted"),
        ({}, "url", "Field required"),
    ],
)
def test_a_bad_feed_is_refused_naming_the_field(fields: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        FeedIn.model_validate(fields)

    [problem] = refused.value.errors()
    assert ".".join(map(str, problem["loc"])) == field
    assert message in problem["msg"]


def test_interval_bounds_allow_what_tests_and_production_use() -> None:
    assert FeedIn(url=URL, interval_s=5).interval_s == 5
    assert FeedIn(url="http://example.com/feed").interval_s == 900


class Outline:
    def __init__(self, xml_url: str | None, title: str | None = None, tags: list[str] | None = None) -> None:
        self.xml_url, self.title, self.tags = xml_url, title, tags or []


async def test_import_reports_each_outline(registry: FeedRegistry) -> None:
    known = await registry.add(FeedIn(url=URL))
    outlines = [
        Outline("https://example.org/feed", "  Example Org  ", ["Tech"]),
        Outline(URL + "?utm_campaign=x", "Known"),
        Outline("file:///etc/passwd", "Local"),
        Outline(None, "No URL"),
        Outline("https://example.net/atom", None),
    ]

    results = await import_feeds(registry, outlines, interval_s=300, fetch_pages=True)

    assert [(r.index, r.status) for r in results] == [
        (0, "created"),
        (1, "exists"),
        (2, "rejected"),
        (3, "rejected"),
        (4, "created"),
    ]
    assert results[1].id == known.id
    assert results[2].error is not None and "url: " in results[2].error and "file:" in results[2].error
    created = await registry.get(results[0].id or "")
    assert (created.source, created.tags, created.interval_s, created.fetch_pages) == (
        "Example Org",
        ["Tech"],
        300,
        True,
    )
    assert (await registry.get(results[4].id or "")).source is None
    assert len(await registry.list()) == 3


def wirestream(redis_url: str, prefix: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the command line on the test's prefix."""
    env = {**os.environ, "REDIS_URL": redis_url, "STREAM_PREFIX": prefix, "COLUMNS": "250"}
    return subprocess.run(
        [sys.executable, "-m", "services.tools.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_cli_adds_lists_and_removes(redis_url: str, registry: FeedRegistry, prefix: str) -> None:
    def run(*args: str) -> Awaitable[subprocess.CompletedProcess[str]]:
        return asyncio.to_thread(wirestream, redis_url, prefix, *args)

    added = await run("feeds", "add", URL, "--interval", "60", "--tag", "a", "--tag", "b", "--fetch-pages")
    assert added.returncode == 0, added.stderr
    [feed] = await registry.list()
    assert (feed.interval_s, feed.tags, feed.fetch_pages, feed.source) == (60, ["a", "b"], True, None)
    assert feed.id in added.stdout

    again = await run("feeds", "add", URL + "?utm_source=x")
    assert again.returncode == 1 and f"already registered as {feed.id}" in again.stdout
    bad = await run("feeds", "add", URL, "--interval", "1")
    assert bad.returncode == 2 and "--interval" in bad.stderr and "greater than or equal to 5" in bad.stderr
    ftp = await run("feeds", "add", "ftp://example.com/feed")
    assert ftp.returncode == 2 and "must be an http or https URL, not ftp:" in ftp.stderr

    listing = await run("feeds", "list")
    assert listing.returncode == 0, listing.stderr
    assert feed.id in listing.stdout and URL in listing.stdout and "60 s" in listing.stdout

    missing = await run("feeds", "remove", "0123456789abcdef")
    assert missing.returncode == 1 and "no feed has the id '0123456789abcdef'" in missing.stdout
    removed = await run("feeds", "remove", feed.id)
    assert removed.returncode == 0, removed.stderr
    assert await registry.list() == []


async def test_cli_imports_opml(redis_url: str, registry: FeedRegistry, prefix: str, tmp_path: Path) -> None:
    await registry.add(FeedIn(url=URL))
    good = tmp_path / "good.opml"
    good.write_text(
        '<opml version="2.0"><body><outline text="Tech">'
        '<outline text="Example Org" xmlUrl="https://example.org/feed"/>'
        f'<outline text="Known" xmlUrl="{URL}?utm_source=opml"/>'
        "</outline></body></opml>"
    )
    mixed = tmp_path / "mixed.opml"
    mixed.write_text('<opml><body><outline text="Local" xmlUrl="file:///etc/passwd"/></body></opml>')
    not_opml = tmp_path / "feed.rss"
    not_opml.write_text("<rss/>")

    imported = await asyncio.to_thread(
        wirestream, redis_url, prefix, "feeds", "import", str(good), "--interval", "120"
    )

    assert imported.returncode == 0, imported.stderr
    assert "1 created, 1 exists, 0 rejected" in imported.stdout
    org = next(f for f in await registry.list() if f.url == "https://example.org/feed")
    assert (org.source, org.tags, org.interval_s) == ("Example Org", ["Tech"], 120)
    rejected = await asyncio.to_thread(wirestream, redis_url, prefix, "feeds", "import", str(mixed))
    assert rejected.returncode == 1 and "0 created, 0 exists, 1 rejected" in rejected.stdout
    refused = await asyncio.to_thread(wirestream, redis_url, prefix, "feeds", "import", str(not_opml))
    assert refused.returncode == 2 and "not an OPML document" in refused.stderr
    assert len(await registry.list()) == 2
