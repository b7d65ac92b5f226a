"""Feeds and pages end to end: real processes (two feed pollers among them) and a publisher on loopback
serving an RSS feed with an ETag, an Atom feed and article pages."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import httpx
import pytest
from redis import Redis

from services.contracts import raw_stream
from services.ingest.identity import article_id
from tests.e2e.publisher import Publisher, Reply, Seen, fixed, serving
from tests.harness import Pipeline, running, wait_for

INTERVAL_S = 5  # the shortest a feed may ask for
ETAG = '"world-1"'
FULL = (
    "<p>Firefighters in <b>Porto</b> and Braga spent the night fighting a forest fire that forced hundreds "
    "of families to leave their homes, the civil protection agency said on Sunday.</p><p>Prime Minister "
    "Luís Montenegro visited the area and promised help for farmers who lost their crops. Officials in "
    "Lisbon said the wind would ease by the weekend, and that roads closed overnight would reopen.</p>"
    "<p>The fire started near a motorway and spread quickly through eucalyptus plantations.</p>"
)
PAGE = """<!doctype html><html lang="en"><head><title>{title}</title>
<link rel="canonical" href="{canonical}"><meta name="author" content="Ines Duarte">
<meta property="article:published_time" content="2025-05-04T09:00:00Z"></head>
<body><nav>Home | World | Sport | Subscribe</nav><article><h1>{title}</h1>
<p>Rescue teams in Coimbra worked through the night after the river burst its banks, the mayor said on
Sunday, and dozens of people were taken to shelters in schools and sports halls across the city.</p>
<p>The national weather service said more rain was expected in the centre of Portugal until Tuesday, and
warned farmers near the river to move their animals to higher ground before the water rose again.</p>
</article><footer>Copyright Example News. All rights reserved. Cookie settings.</footer></body></html>"""


def rss(base: str) -> str:
    items = [
        ("fire-north", "Forest fire forces evacuations in the north", FULL),
        ("flood-centre", "Floods in the centre", "<p>Short summary of the floods.</p>"),
        ("missing-page", "Storm warning for the coast", "<p>Storm warning: the coast braces for wind.</p>"),
    ]
    entries = "".join(
        f"<item><title>{title}</title><link>{base}/news/{slug}?utm_source=rss</link>"
        f"<guid isPermaLink='false'>ex-{slug}</guid><pubDate>Sun, 04 May 2025 08:00:00 +0100</pubDate>"
        f"<category>World</category><description><![CDATA[{text}]]></description></item>"
        for slug, title, text in items
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Example World</title>"
        f"<link>{base}/</link><description>World news</description><language>en</language>{entries}"
        "</channel></rss>"
    )


def atom(base: str) -> str:
    return (
        "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom' xml:lang='en'>"
        "<title>Example Science</title><id>urn:example:science</id><updated>2025-05-03T10:00:00Z</updated>"
        "<entry><title>Telescope finds water on a distant planet</title><id>urn:example:sci:1</id>"
        f"<link rel='alternate' href='{base}/science/water'/><updated>2025-05-03T10:00:00Z</updated>"
        "<author><name>Ana Ribeiro</name></author><content type='html'>"
        "&lt;p&gt;Astronomers at the European Southern Observatory in Chile said on Monday that the James "
        "Webb Space Telescope had detected water vapour in the atmosphere of a planet orbiting a nearby "
        "star, a first for a world of its size.&lt;/p&gt;&lt;p&gt;The team, led by researchers in Geneva, "
        "said the finding would guide the search for planets that could hold life, and that further "
        "observations were planned for next year.&lt;/p&gt;</content></entry></feed>"
    )


def world_feed(base: str) -> Any:
    def route(seen: Seen) -> Reply:
        if seen.headers.get("if-none-match") == ETAG:
            return Reply(304, headers={"ETag": ETAG})
        return Reply(200, "application/rss+xml; charset=utf-8", rss(base), {"ETag": ETAG})

    return route


def page(title: str, canonical: str) -> Reply:
    return Reply(200, "text/html; charset=utf-8", PAGE.format(title=title, canonical=canonical))


@pytest.fixture(scope="module")
def publisher() -> Iterator[Publisher]:
    with serving(Publisher()) as pub:
        base = pub.base
        pub.routes |= {
            "/world.rss": world_feed(base),
            "/science.atom": fixed(Reply(200, "application/atom+xml", atom(base))),
            "/news/flood-centre": fixed(
                page("Floods in the centre of Portugal", f"{base}/news/flood-centre")
            ),
            "/news/posted": fixed(page("River bursts its banks in Coimbra", f"{base}/news/elsewhere")),
            "/control.atom": fixed(Reply(200, "application/atom+xml", atom(base))),
            "/shared.atom": fixed(Reply(200, "application/atom+xml", atom(base))),
            "/flaky.rss": fixed(Reply(503, body="busy", headers={"Retry-After": "60"})),
            "/gone.rss": fixed(Reply(410, body="gone")),
        }
        yield pub


@pytest.fixture(scope="module")
def pipeline(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    settings = {
        "FETCH_ALLOW_PRIVATE": "true",
        "FETCH_HOST_DELAY_S": "0",
        "FETCH_HOST_CONCURRENCY": "8",
        "FETCH_TIMEOUT_S": "10",
        "CLAIM_IDLE_MS": "6000",  # a page gets 3 s before a peer may reclaim it
    }
    pipe = Pipeline(redis_url, tmp_path_factory.mktemp("feeds"), settings=settings)
    with running(pipe, "store", "enrich", "ingest", "ingest.feeds", "ingest.feeds"):
        yield pipe


@pytest.fixture(scope="module")
def world(pipeline: Pipeline, publisher: Publisher) -> str:
    """The RSS feed (source and a tag of its own) and the Atom feed, registered; the RSS feed's id."""
    feed_id = add_feed(
        pipeline, publisher.url("/world.rss"), interval_s=INTERVAL_S, source="Example", tags=["Feeds"]
    )
    add_feed(pipeline, publisher.url("/science.atom"), interval_s=INTERVAL_S)
    return feed_id


def add_feed(pipeline: Pipeline, url: str, **fields: Any) -> str:
    answer = httpx.post(f"{pipeline.ingest}/v1/feeds", json={"url": url, **fields}, timeout=10)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def feed(pipeline: Pipeline, feed_id: str) -> dict[str, Any]:
    answer = httpx.get(f"{pipeline.ingest}/v1/feeds/{feed_id}", timeout=10)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def id_of(url: str) -> str:
    return article_id(title="", body="", published_at=None, url=url)


def raw_entries(pipeline: Pipeline, ids: set[str]) -> list[str]:
    """The ids of the entries of the raw stream that carry one of ``ids``."""
    with Redis.from_url(pipeline.redis_url) as client:
        rows = client.xrange(raw_stream(pipeline.prefix))
    found = [json.loads(fields[b"__data__"])["body"]["id"] for _id, fields in rows]
    return [i for i in found if i in ids]


def test_items_of_both_feeds_are_stored_enriched_once_with_clean_text(
    pipeline: Pipeline, publisher: Publisher, world: str
) -> None:
    base = publisher.base
    fire, flood, storm, water = (
        id_of(f"{base}/news/fire-north"),
        id_of(f"{base}/news/flood-centre"),
        id_of(f"{base}/news/missing-page"),
        id_of(f"{base}/science/water"),
    )

    stored = {i: pipeline.wait_article(i, timeout=90) for i in (fire, flood, storm, water)}

    for article in stored.values():
        assert "<" not in article["body"] and article["enriched_at"]
    assert {"Porto", "Lisbon"} <= {e["name"] for e in stored[fire]["entities"]}
    assert stored[fire]["source"] == "Example" and {"World", "Feeds"} <= set(stored[fire]["tags"])
    assert stored[fire]["body"].startswith("Firefighters in Porto and Braga")
    assert stored[fire]["language"] == "en"
    assert stored[water]["source"] == "Example Science" and stored[water]["author"] == "Ana Ribeiro"
    # A summary alone: the item's page is fetched for its text, the feed's fields fill in the rest.
    assert "Rescue teams in Coimbra" in stored[flood]["body"]
    assert "Cookie settings" not in stored[flood]["body"] and "Subscribe" not in stored[flood]["body"]
    assert stored[flood]["source"] == "Example" and "Feeds" in stored[flood]["tags"]
    assert stored[flood]["author"] == "Ines Duarte"
    # Its page is gone: the item is published as the feed gave it.
    assert stored[storm]["body"] == "Storm warning: the coast braces for wind."
    # Polled again (a 304 then), nothing is published twice.
    wait_for(lambda: len(publisher.requests("/world.rss")) >= 3, timeout=30, what="two more polls")
    assert sorted(raw_entries(pipeline, {fire, flood, storm, water})) == sorted([fire, flood, storm, water])
    status = feed(pipeline, world)["status"]
    assert (status["items_seen"], status["items_published"]) == (3, 3)  # a 304 reads no item


def test_the_second_poll_sends_the_etag_and_gets_304(
    pipeline: Pipeline, publisher: Publisher, world: str
) -> None:
    wait_for(lambda: len(publisher.requests("/world.rss")) >= 2, timeout=30, what="a second poll")

    first, second = publisher.requests("/world.rss")[:2]
    assert "if-none-match" not in first.headers
    assert second.headers["if-none-match"] == ETAG
    status = wait_for(lambda: (s := feed(pipeline, world)["status"])["last_status"] == 304 and s, timeout=30)
    assert status["etag"] == ETAG and status["consecutive_failures"] == 0 and status["last_error"] is None


def test_no_request_while_backing_off_and_410_disables(pipeline: Pipeline, publisher: Publisher) -> None:
    flaky = add_feed(pipeline, publisher.url("/flaky.rss"), interval_s=INTERVAL_S)
    gone = add_feed(pipeline, publisher.url("/gone.rss"), interval_s=INTERVAL_S)
    add_feed(pipeline, publisher.url("/control.atom"), interval_s=INTERVAL_S)

    # The control feed, polled every interval, is the clock: three polls are two intervals and more.
    wait_for(lambda: len(publisher.requests("/control.atom")) >= 3, timeout=60, what="three control polls")

    assert len(publisher.requests("/flaky.rss")) == 1  # Retry-After: 60 holds it back
    status = feed(pipeline, flaky)["status"]
    assert status["consecutive_failures"] == 1 and status["last_status"] == 503
    assert "retry_later" in status["last_error"] and not status["disabled"]
    assert len(publisher.requests("/gone.rss")) == 1
    gone_status = feed(pipeline, gone)["status"]
    assert gone_status["disabled"] and gone_status["disabled_reason"] == "410 Gone"
    assert gone_status["next_poll_at"] is None and gone_status["last_status"] == 410


def test_a_bare_url_is_fetched_extracted_and_stored_under_the_announced_id(
    pipeline: Pipeline, publisher: Publisher
) -> None:
    url = publisher.url("/news/posted?utm_campaign=share")  # its page names another canonical URL

    answer = httpx.post(f"{pipeline.ingest}/v1/articles", json={"url": url}, timeout=10)

    assert answer.status_code == 202, answer.text
    announced = answer.json()["id"]
    assert announced == id_of(url)
    stored = pipeline.wait_article(announced, timeout=60)
    assert stored["title"] == "River bursts its banks in Coimbra"
    assert stored["body"].startswith("Rescue teams in Coimbra")
    assert "Cookie settings" not in stored["body"] and "Subscribe" not in stored["body"]
    assert stored["author"] == "Ines Duarte" and stored["published_at"].startswith("2025-05-04T09:00:00")
    again = httpx.post(f"{pipeline.ingest}/v1/articles", json={"url": url}, timeout=10)
    assert again.status_code == 200 and again.json() == {"id": announced, "status": "duplicate"}


def test_a_page_that_is_not_found_ends_dead_with_its_reason(pipeline: Pipeline, publisher: Publisher) -> None:
    url = publisher.url("/news/no-such-page")

    announced = httpx.post(f"{pipeline.ingest}/v1/articles", json={"url": url}, timeout=10).json()["id"]

    def dead() -> dict[str, Any] | None:
        items = httpx.get(f"{pipeline.store}/v1/dead", params={"stage": "fetch"}, timeout=10).json()["items"]
        return next((d for d in items if d["original_json"]["body"]["id"] == announced), None)

    letter = wait_for(dead, timeout=30, what="the page dead-lettered")
    assert letter["error"].startswith("poison: PageUnavailable: http_status: HTTP 404")
    assert pipeline.article(announced) is None
    # A page that died does not make its URL a duplicate: posted again, it is fetched again.
    again = httpx.post(f"{pipeline.ingest}/v1/articles", json={"url": url}, timeout=10)
    assert again.status_code == 202 and again.json()["status"] == "accepted"


def test_two_pollers_never_poll_a_feed_twice_in_one_interval(
    pipeline: Pipeline, publisher: Publisher
) -> None:
    pollers = [s for s in pipeline.services if s.name == "ingest.feeds"]
    assert len(pollers) == 2 and all(p.proc.poll() is None for p in pollers)
    add_feed(pipeline, publisher.url("/shared.atom"), interval_s=INTERVAL_S)

    wait_for(lambda: len(publisher.requests("/shared.atom")) >= 5, timeout=60, what="five polls")

    times = [s.at for s in publisher.requests("/shared.atom")]
    gaps = [b - a for a, b in pairwise(times)]
    assert min(gaps) >= INTERVAL_S - 0.1, gaps


def test_a_poller_stops_cleanly_within_seconds_on_sigterm(pipeline: Pipeline) -> None:
    extra = pipeline.start("ingest.feeds")
    began = time.monotonic()
    extra.signal(signal.SIGTERM)

    code = extra.proc.wait(15)

    assert code == 0, extra.log()[-2000:]
    assert time.monotonic() - began < 6
