"""The live feed served by real processes: SSE over HTTP, resume with Last-Event-ID, caps, shutdown."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis import Redis

from services.contracts import EnrichedArticle, enriched_stream
from tests.factories import article_fields, enriched_article, enriched_entry
from tests.harness import Pipeline, Service, running, wait_for


@dataclass
class Event:
    """One server-sent event as a client parses it."""

    id: str | None = None
    event: str | None = None
    data: list[str] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads("\n".join(self.data))


def read_events(
    lines: Iterator[str], n: int, *, timeout: float = 30, comments: list[str] | None = None
) -> list[Event]:
    """Parse the next ``n`` events from SSE lines; comment lines are collected, never counted."""
    deadline, events, current = time.monotonic() + timeout, [], Event()
    while len(events) < n:
        assert time.monotonic() < deadline, f"only {len(events)} of {n} events within {timeout}s"
        line = next(lines).rstrip("\r\n")
        if not line:
            if current.data or current.event:
                events.append(current)
            current = Event()
        elif line.startswith(":"):
            (comments if comments is not None else []).append(line[1:].strip())
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                current.data.append(value)
            elif name in ("id", "event"):
                setattr(current, name, value)
    return events


@dataclass
class Store:
    url: str
    prefix: str
    redis: Redis
    service: Service

    def add(self, *articles: EnrichedArticle) -> list[str]:
        return [
            self.redis.xadd(enriched_stream(self.prefix), enriched_entry(a)).decode()  # type: ignore[arg-type,union-attr]
            for a in articles
        ]

    @contextmanager
    def feed(self, headers: dict[str, str] | None = None, **params: Any) -> Iterator[Iterator[str]]:
        """Open /v1/stream and hand out its lines once the answer's headers have arrived."""
        with httpx.stream(
            "GET", f"{self.url}/v1/stream", params=params, headers=headers, timeout=httpx.Timeout(10, read=5)
        ) as answer:
            assert answer.status_code == 200, answer.read()
            assert answer.headers["content-type"].startswith("text/event-stream")
            yield answer.iter_lines()


def _store(tmp: Path, redis_url: str, **extra: str) -> Pipeline:
    """A pipeline of which the store runs (started by the caller), with a quick heartbeat."""
    return Pipeline(redis_url, tmp, settings={"FEED_HEARTBEAT_S": "0.3", **extra})


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Store]:
    """The store as a process with its own prefix, a quick heartbeat and room for 4 feeds."""
    pipeline = _store(tmp_path_factory.mktemp("feed"), redis_url, FEED_MAX_CLIENTS="4")
    with running(pipeline, "store"), Redis.from_url(redis_url) as redis:
        yield Store(pipeline.store, pipeline.prefix, redis, pipeline.services[0])


def test_live_events_then_a_resume_gets_exactly_what_was_missed(store: Store) -> None:
    ours = [enriched_article(source="feedtest") for _ in range(3)]
    with store.feed(source="feedtest") as lines:
        first_ids = store.add(ours[0], enriched_article(source="elsewhere"), ours[1], ours[2])
        [first] = read_events(lines, 1)
    assert (first.id, first.event) == (first_ids[0], "article")
    assert first.json() == ours[0].model_dump(mode="json")
    stored = wait_for(lambda: _stored(store, ours[0].id), timeout=20, what="the article in the store")
    assert first.json() == stored, "the feed and GET /v1/articles/{id} disagree"

    later = [enriched_article(source="feedtest") for _ in range(3)]
    later_ids = store.add(*later)
    with store.feed({"Last-Event-ID": first.id or ""}, source="feedtest") as lines:
        missed = read_events(lines, 5)
        assert [e.id for e in missed] == [first_ids[2], first_ids[3], *later_ids]
        assert [e.json()["id"] for e in missed] == [a.id for a in (*ours[1:], *later)]
        # Nothing else is waiting: the very next event is one added now.
        [sentinel_id] = store.add(enriched_article(source="feedtest"))
        assert [e.id for e in read_events(lines, 1)] == [sentinel_id]


def _stored(store: Store, article_id: str) -> dict[str, Any] | None:
    answer = httpx.get(f"{store.url}/v1/articles/{article_id}", timeout=5)
    return dict(answer.json()) if answer.status_code == 200 else None


def test_the_query_parameter_resumes_like_the_header(store: Store) -> None:
    ids = store.add(*(enriched_article(source="qparam") for _ in range(3)))
    with store.feed(source="qparam", last_event_id=ids[0]) as lines:
        assert [e.id for e in read_events(lines, 2)] == ids[1:]


def test_filters_apply_on_the_server(store: Store) -> None:
    with store.feed(source="filtered", q="harbour", language="en") as lines:
        ids = store.add(
            enriched_article(source="filtered", title="Storm closes the harbour"),
            enriched_article(source="filtered", title="Budget passes"),
            enriched_article(source="other", title="Harbour reopens"),
            enriched_article(source="filtered", title="Harbour reopens", language="de"),
            enriched_article(source="filtered", title="HARBOUR fees rise"),
        )
        assert [e.id for e in read_events(lines, 2)] == [ids[0], ids[4]]


def test_heartbeats_keep_an_idle_feed_open(store: Store) -> None:
    comments: list[str] = []
    with store.feed(source="nothing-ever") as lines:
        wait_for(lambda: _heartbeat(lines, comments) >= 3, timeout=10, interval=0, what="three heartbeats")
    assert comments[0] == "connected"


def _heartbeat(lines: Iterator[str], comments: list[str]) -> int:
    line = next(lines)
    if line.startswith(":"):
        comments.append(line[1:].strip())
    return comments.count("heartbeat")


def test_feeds_past_the_cap_get_503_until_one_closes(store: Store) -> None:
    with _open_feeds(store, 4) as feeds:
        refused = httpx.get(f"{store.url}/v1/stream", timeout=5)
        assert refused.status_code == 503
        assert int(refused.headers["retry-after"]) > 0
        assert "4 live feeds" in refused.json()["detail"]
        feeds.pop().close()
        wait_for(lambda: _opens(store), timeout=10, what="the freed slot to be usable")


@contextmanager
def _open_feeds(store: Store, n: int) -> Iterator[list[httpx.Response]]:
    client = httpx.Client(timeout=httpx.Timeout(10, read=5))
    feeds: list[httpx.Response] = []
    try:
        for _ in range(n):  # earlier tests' feeds may still be closing: wait for each slot
            feeds.append(wait_for(lambda: _open(client, store), timeout=10, what="a free feed slot"))
        yield feeds
    finally:
        for feed in feeds:
            feed.close()
        client.close()


def _open(client: httpx.Client, store: Store) -> httpx.Response | None:
    answer = client.send(client.build_request("GET", f"{store.url}/v1/stream"), stream=True)
    if answer.status_code == 200:
        return answer
    answer.close()
    return None


def _opens(store: Store) -> bool:
    with httpx.Client(timeout=5) as client:
        answer = _open(client, store)
        if answer is not None:
            answer.close()
        return answer is not None


def test_shutdown_ends_open_feeds_and_exits_cleanly(tmp_path: Path, redis_url: str) -> None:
    with running(_store(tmp_path, redis_url), "store") as pipeline:
        [service] = pipeline.services
        with httpx.stream("GET", f"{pipeline.store}/v1/stream", timeout=httpx.Timeout(10, read=15)) as answer:
            lines = answer.iter_lines()
            assert next(lines) == ": connected"
            assert service.stop() == 0
            rest = list(lines)  # ends (the server closed the stream) instead of blocking
        assert all(not line or line.startswith(":") for line in rest)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[tuple[str, str]]:
    """Store, enrich and ingest as processes; yields (ingest URL, store URL)."""
    pipe = Pipeline(redis_url, tmp_path_factory.mktemp("feedpipe"), settings={"FEED_HEARTBEAT_S": "0.5"})
    with running(pipe):
        yield pipe.ingest, pipe.store


@contextmanager
def _urllib_feed(url: str, headers: dict[str, str] | None = None) -> Iterator[Iterator[str]]:
    """Open the feed with urllib, as a browser-less client would, and hand out its lines."""
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as answer:
        assert answer.status == 200
        yield (raw.decode() for raw in iter(answer.readline, b""))


def test_posted_articles_reach_a_urllib_client_and_a_resume_misses_nothing(pipeline: tuple[str, str]) -> None:
    ingest, store = pipeline
    tag = f"feed-{time.monotonic_ns()}"
    feed_url = f"{store}/v1/stream?source={tag}"

    def post(n: int) -> list[str]:
        answers = [
            httpx.post(f"{ingest}/v1/articles", json=article_fields(source=tag), timeout=10) for _ in range(n)
        ]
        assert {a.status_code for a in answers} == {202}
        return [a.json()["id"] for a in answers]

    with _urllib_feed(feed_url) as lines:
        first_posts = post(3)
        live = read_events(lines, 3, timeout=90)
    assert sorted(e.json()["id"] for e in live) == sorted(first_posts)
    assert {e.json()["source"] for e in live} == {tag}

    later_posts = post(3)
    with _urllib_feed(feed_url, {"Last-Event-ID": live[0].id or ""}) as lines:
        resumed = read_events(lines, 5, timeout=90)
        [last_post] = post(1)
        [last] = read_events(lines, 1, timeout=90)
    assert [e.id for e in resumed][:2] == [e.id for e in live[1:]]
    ids = [e.json()["id"] for e in resumed]
    assert sorted(ids) == sorted([e.json()["id"] for e in live[1:]] + later_posts)
    assert last.json()["id"] == last_post, "an event came twice or out of turn"
