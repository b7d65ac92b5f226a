"""Metadata as feeds and pages write it, made into the fields of an ``ArticleIn``.

Shared by the feed reader (services/ingest/feeds/items.py) and page extraction (extract.py): a link made
absolute, a language tag spelled one way, a time made aware, names joined and tags kept within the
contract's limits. Text is cleaned as ingest cleans it (services/ingest/normalize.py).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from services.contracts import MAX_AUTHOR, MAX_TAG, MAX_TAGS, to_utc
from services.ingest.normalize import clean_text, clean_url

_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")
_MAX_LANGUAGE = 16


def web_url(value: object, *, base: str) -> str | None:
    """An absolute http(s) URL from ``value`` resolved against ``base``, or None."""
    if not isinstance(value, str) or not (text := clean_url(value)):
        return None
    try:
        absolute = urljoin(base, text)
        parts = urlsplit(absolute)
        host = parts.hostname
    except ValueError:  # an unbalanced "[" or a port that is not a number
        return None
    return absolute if parts.scheme in ("http", "https") and host else None


def language_tag(value: object) -> str | None:
    """A BCP 47 tag spelled the usual way (``en-us`` and ``en_US`` are ``en-US``), or None if not one."""
    if not isinstance(value, str):
        return None
    text = value.strip().replace("_", "-")
    if len(text) > _MAX_LANGUAGE or not _LANGUAGE.fullmatch(text):
        return None
    primary, *subtags = text.split("-")
    spelled = [s.upper() if len(s) == 2 else s.title() if len(s) == 4 else s.lower() for s in subtags]
    return "-".join([primary.lower(), *spelled])


def parse_time(text: object, parsed: time.struct_time | None = None) -> datetime | None:
    """An aware time from ISO 8601 or RFC 822 (with any zone feeds write, ``EST`` too), else from
    feedparser's reading of it (UTC). Naive times and unknown zones are UTC; None for no time or one
    outside the years 1-9999."""
    when: datetime | None = None
    if isinstance(text, str) and text.strip():
        for reader in (datetime.fromisoformat, parsedate_to_datetime):
            try:
                when = reader(text.strip())
                break
            except (ValueError, TypeError, IndexError):
                continue
    if when is None and parsed is not None:
        when = datetime(*parsed[:6], tzinfo=UTC)
    if when is None:
        return None
    try:
        to_utc(when)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def one_line(value: object) -> str | None:
    """A single-line field as a reader sees it, or None when nothing is left."""
    return (clean_text(value, multiline=False) or None) if isinstance(value, str) else None


def names(values: Iterable[object], limit: int = MAX_AUTHOR) -> str | None:
    """Distinct names joined with commas, as many as fit in ``limit`` characters; None for none."""
    kept: list[str] = []
    for name in dict.fromkeys(n for value in values if (n := one_line(value))):
        if len(", ".join([*kept, name])) > limit:
            break
        kept.append(name)
    return ", ".join(kept) or None


def tags(values: Iterable[object]) -> list[str]:
    """Distinct tags as a reader sees them, those over the contract's length left out, at most as many
    as it takes."""
    cleaned = (t for value in values if (t := one_line(value)) and len(t) <= MAX_TAG)
    return list(dict.fromkeys(cleaned))[:MAX_TAGS]


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a list, else an empty one: JSON read from the web has any shape."""
    return value if isinstance(value, list) else []
