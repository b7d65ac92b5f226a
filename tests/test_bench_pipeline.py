"""The pure arithmetic of bench/pipeline.py: percentiles, pacing, rates and the capacity of a shard."""

from __future__ import annotations

from itertools import pairwise

import pytest

from bench.pipeline import (
    chunks,
    cpu_per_article,
    cycle,
    percentile,
    send_times,
    shard_capacity,
    steady_rate,
)


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100, shuffled order must not matter
    shuffled = values[::2] + values[1::2]
    assert percentile(shuffled, 50) == pytest.approx(50.5)
    assert percentile(shuffled, 99) == pytest.approx(99.01)
    assert percentile(shuffled, 0) == 1.0
    assert percentile(shuffled, 100) == 100.0
    assert percentile([7.0], 95) == 7.0


def test_percentile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


def test_send_times_are_evenly_paced_from_the_start() -> None:
    times = send_times(10.0, 4.0, 5)
    assert times == pytest.approx([10.0, 10.25, 10.5, 10.75, 11.0])
    gaps = {round(b - a, 9) for a, b in pairwise(times)}
    assert gaps == {0.25}
    with pytest.raises(ValueError, match="positive"):
        send_times(0.0, 0.0, 3)


def test_shard_capacity_is_articles_per_cpu_second() -> None:
    # 75 microseconds of Redis CPU per article: one core takes about 13,333 articles a second.
    assert shard_capacity(1.5, 20_000) == pytest.approx(13_333.3, rel=1e-4)
    assert shard_capacity(0.0, 10) == float("inf")


def test_chunks_and_cycle() -> None:
    assert [list(c) for c in chunks([1, 2, 3, 4, 5], 2)] == [[1, 2], [3, 4], [5]]
    assert cycle(["a", "b"], 5) == ["a", "b", "a", "b", "a"]


def test_steady_rate_is_the_slope_between_two_counts() -> None:
    assert steady_rate(10.0, 128, 30.0, 928) == pytest.approx(40.0)


def test_cpu_per_article_by_stage() -> None:
    before = {"ingest": 1.0, "enrich": 10.0, "store": 2.0}
    after = {"ingest": 1.5, "enrich": 60.0, "store": 4.5}
    assert cpu_per_article(before, after, 1000) == pytest.approx(
        {"ingest": 0.5, "enrich": 50.0, "store": 2.5}
    )
    assert cpu_per_article(before, {}, 1000) == {}
