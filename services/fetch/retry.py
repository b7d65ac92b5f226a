"""When to ask again: a server's Retry-After, and exponential backoff with jitter. Pure functions."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait that a ``Retry-After`` header asks for (RFC 9110, 10.2.3): delay-seconds or an
    HTTP date (a date in the past is 0); None when absent or unreadable."""
    if value is None or not (text := value.strip()):
        return None
    if text.isdigit():
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" or an obsolete zone: HTTP dates are GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def backoff(attempt: int, *, base: float = 1.0, cap: float = 3600.0, rand: float) -> float:
    """Seconds to wait before retry number ``attempt`` (0 for the first): ``base * 2**attempt`` capped
    at ``cap``, of which the upper half is jittered by ``rand`` in [0, 1] ("equal jitter": the wait
    still grows, and clients that failed together do not retry together).

    A caller that has a ``retry_after`` waits ``max(retry_after, backoff(...))``.
    """
    if attempt < 0 or base < 0 or cap < 0 or not 0.0 <= rand <= 1.0:
        raise ValueError(f"backoff({attempt}, base={base}, cap={cap}, rand={rand}): out of range")
    ceiling = min(cap, base * 2.0 ** min(attempt, 64))  # 2**64 s is past any cap; no overflow
    return ceiling / 2 + rand * ceiling / 2
