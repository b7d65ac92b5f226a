"""Retry-After as the server wrote it, and backoff that grows, jitters and stops at its cap."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.fetch import backoff, parse_retry_after

NOW = datetime(2024, 1, 15, 8, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Mon, 15 Jan 2024 08:01:30 GMT", 90.0),  # IMF-fixdate
        ("Monday, 15-Jan-24 08:00:10 GMT", 10.0),  # obsolete RFC 850 form
        ("Mon Jan 15 08:00:05 2024", 5.0),  # asctime, no zone: GMT
        ("Mon, 15 Jan 2024 07:00:00 GMT", 0.0),  # in the past
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


def test_backoff_doubles_within_equal_jitter_and_stops_at_the_cap() -> None:
    assert [backoff(n, base=1.0, cap=60.0, rand=1.0) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert [backoff(n, base=1.0, cap=60.0, rand=0.0) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert backoff(3, base=2.0, cap=100.0, rand=0.5) == 12.0  # 16 / 2 + 0.5 * 16 / 2
    assert backoff(10_000, cap=900.0, rand=1.0) == 900.0  # no overflow however many attempts


def test_backoff_refuses_arguments_out_of_range() -> None:
    for kwargs in ({"rand": 1.5}, {"rand": -0.1}, {"rand": 0.5, "base": -1.0}):
        with pytest.raises(ValueError, match="out of range"):
            backoff(1, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="out of range"):
        backoff(-1, rand=0.5)
