"""The live feed: the article filter alone, and the hub against a real Redis."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest
from redis.asyncio import Redis

from services.contracts import EnrichedArticle, Topic, enriched_stream
from services.errors import BadRequest, Unavailable
from services.runtime.codec import DATA_FIELD
from services.runtime.ids import ZERO
from services.runtime.ids import parse as parse_id
from services.store.app import create_app
from services.store.feed.filters import FeedEvent, decode_event, matches, topic_ancestors
from services.store.feed.hub import FELL_BEHIND, Closed, FeedClient, FeedHub
from services.store.feed.routes import feed_events
from services.store.filters import ArticleFilter
from services.store.settings import StoreSettings
from tests.factories import BASE_TIME, enriched_article, enriched_entry, entity
from tests.harness import eventually, in_process

T = TypeVar("T")
PARENTS = {"medtop:20000587": "medtop:11000000", "medtop:20000590": "medtop:20000587"}


def parents(code: str) -> Iterable[str]:
    """A two-level slice of the IPTC tree, nearest parent first."""
    while code in PARENTS:
        code = PARENTS[code]
        yield code


def topic(code: str) -> Topic:
    return Topic(code=code, label=code, score=0.5)


SAMPLE = enriched_article(
    minutes=30,
    title="Council votes on the harbour budget",
    body="Mayor Ada Lovelace said the vote on Monday was close.",
    summary="A close vote in the city council.",
    source="wire",
    language="en",
    tags=["Budget", "Harbour"],
    entities=[entity("Ada Lovelace"), entity("Geneva", "LOCATION")],
    topics=[topic("medtop:20000590")],
)
F = ArticleFilter


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (F(), True),
        (F(entities=("Ada Lovelace", "Geneva")), True),
        (F(entities=("Ada Lovelace", "Paris")), False),
        (F(entity_type="LOCATION"), True),
        (F(entity_type="ORG"), False),
        (F(entities=("Ada Lovelace",), entity_type="PERSON"), True),
        (F(entities=("Ada Lovelace", "Geneva"), entity_type="PERSON"), False),  # Geneva is a LOCATION
        (F(tags=("Budget", "Harbour")), True),
        (F(tags=("Budget", "Sport")), False),
        (F(topics=("medtop:20000590",)), True),
        (F(topics=("medtop:11000000",)), True),
        (F(topics=("medtop:20000587", "medtop:11000000")), True),
        (F(topics=("medtop:04000000",)), False),
        (F(language="en"), True),
        (F(language="de"), False),
        (F(source="wire"), True),
        (F(source="other"), False),
        (F(since=BASE_TIME + timedelta(minutes=30)), True),
        (F(since=BASE_TIME + timedelta(minutes=31)), False),
        (F(until=BASE_TIME + timedelta(minutes=31)), True),
        (F(until=BASE_TIME + timedelta(minutes=30)), False),
        (F(since=datetime(2024, 1, 15, 8, 37)), True),  # naive times are UTC
        (F(q="HARBOUR vote"), True),
        (F(q="harbour football"), False),
        (F(q="harb"), False),  # whole words, not fragments
        (F(q="council city"), True),  # the summary counts
        (F(q='"the vote on monday"'), True),
        (F(q='"monday the vote"'), False),
        (F(q='"budget mayor"'), False),  # a phrase does not run from the title into the body
        (F(q="harbour -football"), True),
        (F(q="harbour -mayor"), False),
        (F(q="football OR harbour"), True),
        (F(q="football OR cricket"), False),
        (F(source="wire", tags=("Budget",), entities=("Ada Lovelace",), q="mayor"), True),
        (F(source="wire", tags=("Budget",), entities=("Nobody",)), False),
    ],
)
def test_filter_holds_only_when_every_condition_does(flt: ArticleFilter, expected: bool) -> None:
    assert matches(SAMPLE, flt, parents) is expected


def test_topic_without_a_hierarchy_matches_the_exact_code_only() -> None:
    assert matches(SAMPLE, F(topics=("medtop:20000590",)))
    assert not matches(SAMPLE, F(topics=("medtop:11000000",)))


def test_topics_roll_up_through_the_shipped_iptc_taxonomy() -> None:
    article = enriched_article(topics=[topic("medtop:20000638")])  # international relations
    assert matches(article, F(topics=("medtop:11000000",)), topic_ancestors())  # politics
    assert not matches(article, F(topics=("medtop:04000000",)), topic_ancestors())


def test_time_bounds_fall_back_to_the_received_time() -> None:
    undated = enriched_article(minutes=None)  # received at BASE_TIME
    assert matches(undated, F(since=BASE_TIME, until=BASE_TIME + timedelta(seconds=1)))
    assert not matches(undated, F(since=BASE_TIME + timedelta(seconds=1)))
    assert not matches(undated, F(until=BASE_TIME))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"topics": ("politics",)}, "not an IPTC Media Topic code"),
        ({"entity_type": "PLANET"}, "entity_type must be one of"),
        ({"since": BASE_TIME, "until": BASE_TIME - timedelta(days=1)}, "until is before since"),
        ({"q": "-only -excluded"}, "no word to search for"),
    ],
)
def test_filters_the_article_list_refuses_are_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        F(**fields)


@pytest.mark.parametrize(
    "fields",
    [{b"other": b"x"}, {DATA_FIELD.encode(): b"{not json"}, {DATA_FIELD.encode(): b'{"title": "no id"}'}],
)
def test_unreadable_entries_decode_to_nothing_with_a_log_line(
    fields: dict[bytes, bytes], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert decode_event(b"7-1", fields) is None
    assert "7-1" in caplog.text


def test_an_entry_decodes_to_the_article_json() -> None:
    event = decode_event(b"9-3", enriched_entry(SAMPLE))
    assert event is not None
    assert (event.entry_id, event.key) == ("9-3", (9, 3))
    assert EnrichedArticle.model_validate_json(event.data) == SAMPLE


async def take(client: FeedClient, n: int, seconds: float = 10) -> list[FeedEvent]:
    """The next ``n`` events of a client; fail on a timeout or an early close."""
    out = []
    for _ in range(n):
        item = await asyncio.wait_for(client.queue.get(), seconds)
        assert isinstance(item, FeedEvent), item
        out.append(item)
    return out


async def add(redis: Redis, prefix: str, *articles: EnrichedArticle) -> list[str]:
    ids = []
    for article in articles:
        entry_id = await redis.xadd(enriched_stream(prefix), enriched_entry(article))  # type: ignore[arg-type]
        ids.append(entry_id.decode())
    return ids


@pytest.fixture
async def hub(redis: Redis, prefix: str) -> AsyncIterator[FeedHub]:
    """A running hub over the test's own enriched stream, with small limits."""
    feed = FeedHub(redis, enriched_stream(prefix), max_clients=3, queue_size=4, block_ms=50)
    await feed.start()
    yield feed
    await feed.stop()


async def test_each_client_gets_the_new_entries_it_asked_for_in_order(
    hub: FeedHub, redis: Redis, prefix: str
) -> None:
    everything = hub.subscribe(ArticleFilter())
    wire_only = hub.subscribe(ArticleFilter(source="wire"))
    articles = [enriched_article(source=s) for s in ("wire", "other", "wire")]
    ids = await add(redis, prefix, *articles)

    got = await take(everything, 3)
    assert [e.entry_id for e in got] == ids
    assert [e.article for e in got] == articles
    assert [e.entry_id for e in await take(wire_only, 2)] == [ids[0], ids[2]]
    assert wire_only.queue.empty()


async def test_a_client_starts_at_the_tail(hub: FeedHub, redis: Redis, prefix: str) -> None:
    [before] = await add(redis, prefix, enriched_article())
    await eventually(lambda: _at(hub, before), what="the hub to read the first entry")
    client = hub.subscribe(ArticleFilter())
    [after] = await add(redis, prefix, enriched_article())
    assert [e.entry_id for e in await take(client, 1)] == [after]


async def _at(hub: FeedHub, entry_id: str) -> bool:
    return hub.last == parse_id(entry_id)


async def test_unreadable_entries_are_skipped_and_the_feed_goes_on(
    hub: FeedHub, redis: Redis, prefix: str
) -> None:
    client = hub.subscribe(ArticleFilter())
    [first] = await add(redis, prefix, enriched_article())
    await redis.xadd(enriched_stream(prefix), {"junk": "1"})
    await redis.xadd(enriched_stream(prefix), {DATA_FIELD: "[1, 2]"})
    [last] = await add(redis, prefix, enriched_article())
    assert [e.entry_id for e in await take(client, 2)] == [first, last]


async def test_replay_gives_exactly_the_matching_entries_after_an_id(
    hub: FeedHub, redis: Redis, prefix: str
) -> None:
    ids = await add(redis, prefix, *(enriched_article(source="wire" if i % 2 else "x") for i in range(7)))
    upto = parse_id(ids[5])
    replayed = [e.entry_id async for e in hub.replay(parse_id(ids[1]), upto, ArticleFilter())]
    assert replayed == ids[2:6]
    wire = [e.entry_id async for e in hub.replay(parse_id(ids[0]), upto, ArticleFilter(source="wire"))]
    assert wire == [ids[1], ids[3], ids[5]]
    assert [e async for e in hub.replay(upto, upto, ArticleFilter())] == []


async def test_a_long_replay_pages_through_the_stream(hub: FeedHub, redis: Redis, prefix: str) -> None:
    ids = await add(redis, prefix, *(enriched_article() for _ in range(450)))
    replayed = [e.entry_id async for e in hub.replay(ZERO, parse_id(ids[-1]), ArticleFilter())]
    assert replayed == ids


async def _read_stream(redis: Redis, prefix: str) -> list[tuple[Any, Any]]:
    return list(await redis.xrange(enriched_stream(prefix)))


async def _drain(gen: AsyncIterator[Any], n: int) -> list[Any]:
    return [await asyncio.wait_for(anext(gen), 5) for _ in range(n)]


async def test_resume_joins_replay_and_live_tail_without_gap_or_duplicate(redis: Redis, prefix: str) -> None:
    # The reader task is not started: dispatch() is driven by hand to pin down the interleaving.
    hub = FeedHub(redis, enriched_stream(prefix))
    ids = await add(redis, prefix, *(enriched_article() for _ in range(6)))
    entries = await _read_stream(redis, prefix)
    hub.dispatch(entries[:3])
    client = hub.subscribe(ArticleFilter())  # the live tail starts after ids[2]
    hub.dispatch(entries[2:])  # a re-read of ids[2] must not reach the client twice
    events = feed_events(hub, client, parse_id(ids[0]))
    sent = await _drain(events, 6)
    assert sent[0].comment == "connected"
    assert [e.id for e in sent[1:]] == ids[1:]
    assert {e.event for e in sent[1:]} == {"article"}
    hub.dispatch(entries[-1:])
    [extra] = await add(redis, prefix, enriched_article())
    hub.dispatch((await _read_stream(redis, prefix))[-1:])
    assert (await _drain(events, 1))[0].id == extra
    await events.aclose()
    assert client not in hub.clients


async def test_resume_from_beyond_what_the_hub_read_skips_what_was_seen(redis: Redis, prefix: str) -> None:
    hub = FeedHub(redis, enriched_stream(prefix))
    ids = await add(redis, prefix, *(enriched_article() for _ in range(5)))
    entries = await _read_stream(redis, prefix)
    client = hub.subscribe(ArticleFilter())
    hub.dispatch(entries)
    events = feed_events(hub, client, parse_id(ids[3]))
    sent = await _drain(events, 2)
    assert [e.id for e in sent[1:]] == [ids[4]]
    await events.aclose()


async def test_a_slow_client_is_dropped_and_the_others_keep_up(
    hub: FeedHub, redis: Redis, prefix: str
) -> None:
    slow = hub.subscribe(ArticleFilter())
    fast = hub.subscribe(ArticleFilter())
    received: list[str] = []

    async def keep_up() -> None:
        while len(received) < 12:
            received.extend(e.entry_id for e in await take(fast, 1))

    reader = asyncio.create_task(keep_up())
    ids = [(await add(redis, prefix, enriched_article()))[0] for _ in range(12)]
    await asyncio.wait_for(reader, 10)

    assert received == ids
    assert slow not in hub.clients
    assert fast in hub.clients
    events = feed_events(hub, slow, slow.start)
    closing = await _drain(events, 2)
    assert closing[1].event == "error"
    assert "fell behind" in closing[1].data
    with pytest.raises(StopAsyncIteration):
        await anext(events)


async def test_a_dropped_client_loses_its_queue_for_the_closing_notice(redis: Redis, prefix: str) -> None:
    hub = FeedHub(redis, enriched_stream(prefix), queue_size=2)
    client = hub.subscribe(ArticleFilter())
    await add(redis, prefix, *(enriched_article() for _ in range(3)))
    hub.dispatch(await _read_stream(redis, prefix))
    assert client.queue.qsize() == 1
    assert client.queue.get_nowait() == Closed(FELL_BEHIND)


async def test_feeds_are_capped_and_a_freed_slot_is_reusable(hub: FeedHub) -> None:
    clients = [hub.subscribe(ArticleFilter()) for _ in range(3)]
    with pytest.raises(Unavailable):
        hub.subscribe(ArticleFilter())
    hub.unsubscribe(clients[0])
    hub.unsubscribe(clients[0])  # twice is harmless
    assert hub.subscribe(ArticleFilter()) in hub.clients


async def _next_or_end(events: AsyncIterator[Any]) -> Any:
    try:
        return await anext(events)
    except StopAsyncIteration:
        return "ended"


async def test_stopping_the_hub_ends_every_open_feed(redis: Redis, prefix: str) -> None:
    hub = FeedHub(redis, enriched_stream(prefix), block_ms=50)
    await hub.start()
    try:
        client = hub.subscribe(ArticleFilter())
        events = feed_events(hub, client, hub.last)
        assert (await _drain(events, 1))[0].comment == "connected"
        waiting = asyncio.create_task(_next_or_end(events))
    finally:
        await hub.stop()
    assert await asyncio.wait_for(waiting, 5) == "ended"
    assert hub.clients == set()


@pytest.fixture
async def store(redis_url: str, prefix: str, sqlite_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    settings = StoreSettings(
        redis_url=redis_url, stream_prefix=prefix, database_url=sqlite_url, feed_max_clients=2
    )
    app = create_app(settings)
    async with in_process(app, "http://store") as client:
        yield client, app


async def test_past_the_cap_the_feed_answers_503_with_retry_after(
    store: tuple[httpx.AsyncClient, Any],
) -> None:
    client, app = store
    for _ in range(2):
        app.state.store.feed_hub.subscribe(ArticleFilter())
    answer = await client.get("/v1/stream")
    assert answer.status_code == 503
    assert int(answer.headers["retry-after"]) > 0
    assert "2 live feeds" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("headers", "params", "fragment"),
    [
        ({"Last-Event-ID": "yesterday"}, {}, "Last-Event-ID"),
        ({}, {"last_event_id": "12-x"}, "Last-Event-ID"),
        ({}, {"topic": "politics"}, "IPTC Media Topic"),
        ({}, {"since": "2024-02-01T00:00:00Z", "until": "2024-01-01T00:00:00Z"}, "until is before since"),
    ],
)
async def test_a_bad_resume_point_or_filter_is_400_and_takes_no_slot(
    store: tuple[httpx.AsyncClient, Any], headers: dict[str, str], params: dict[str, str], fragment: str
) -> None:
    client, app = store
    answer = await client.get("/v1/stream", headers=headers, params=params)
    assert answer.status_code == 400
    assert fragment in answer.json()["detail"]
    assert app.state.store.feed_hub.clients == set()
