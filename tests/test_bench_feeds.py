"""The pure parts of bench/feeds.py: what is served, how CPU and counters are read, the target arithmetic."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from bench.feeds import (
    TARGET_POLLS_S,
    Phase,
    cores_needed,
    counter,
    cpu_seconds,
    feed_url,
    headroom,
    host_of,
    rss,
)
from services.ingest.feeds.items import parse_feed


def test_feeds_are_spread_over_loopback_addresses() -> None:
    assert [host_of(n, 3) for n in range(4)] == ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.1"]
    assert host_of(249, 1000) == "127.0.0.250"
    assert host_of(250, 1000) == "127.0.1.1"
    assert len({host_of(n, 1000) for n in range(1000)}) == 1000
    assert feed_url(7, 5, 8080) == "http://127.0.0.3:8080/feeds/7.xml"


def test_every_item_of_a_served_feed_is_published_whole() -> None:
    body = rss(3, 20, datetime(2024, 5, 1, tzinfo=UTC))
    parsed = parse_feed(body, url="http://127.0.0.1:1/feeds/3.xml", content_type="application/rss+xml")
    assert parsed.error is None and parsed.skipped == 0
    assert len(parsed.items) == 20
    assert len({item.article.url for item in parsed.items}) == 20
    assert not any(item.needs_page for item in parsed.items)  # each text is over SHORT_TEXT: no page fetched


def test_cpu_seconds_reads_utime_and_stime_past_an_odd_command_name() -> None:
    ticks = os.sysconf("SC_CLK_TCK")
    fields = ["S", *["0"] * 10, str(3 * ticks), str(ticks), *["0"] * 30]
    assert cpu_seconds(f"4242 (a) (b c) {' '.join(fields)}") == pytest.approx(4.0)


def test_counter_finds_one_labelled_sample() -> None:
    text = (
        "# TYPE wirestream_feed_polls_total counter\n"
        'wirestream_feed_polls_total{outcome="ok"} 998.0\n'
        'wirestream_feed_polls_total{outcome="failed"} 2.0\n'
        'wirestream_feed_polls_created{outcome="ok"} 1.7e9\n'
    )
    assert counter(text, "wirestream_feed_polls_total", 'outcome="ok"') == 998.0
    assert counter(text, "wirestream_feed_polls_total", 'outcome="failed"') == 2.0
    assert counter(text, "wirestream_feed_polls_total", 'outcome="deferred"') == 0.0


def test_target_arithmetic() -> None:
    assert round(TARGET_POLLS_S, 2) == 11.11  # 10,000 feeds every 15 minutes
    phase = Phase("one", polls=1000, seconds=20.0, cpu_s=19.0)
    assert phase.rate == 50.0 and phase.cpu_per_poll == pytest.approx(0.019)
    assert headroom(phase.rate) == pytest.approx(4.5)
    assert cores_needed(phase.cpu_per_poll) == pytest.approx(0.2111, abs=1e-4)
