"""Parse an article posted as plain text: the seed text layout, or bare text with a title line.

The seed layout, one paragraph per line (blank lines between them are optional)::

     date 2024-01-15 en English
    International Relations
    <headline>
    By: <author>
    Published: January 15, 2024 at 3:07 am EST
    <headline again>
    <body paragraphs, sub-headings included>
    International Relations North Korea Russia      <- source tags
    <author again>
    <publisher boilerplate>
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

# Limits of ArticleIn, so a parsed article always validates.
_TITLE_MAX = 1000
_AUTHOR_MAX = 500
_SECTION_MAX = 200
_TAGS_MAX = 100

# The By:/Published: lines must sit within this many lines after the header to count as the layout.
_HEAD_SPAN = 4

_HEADER = re.compile(r"date\s+(\d{4})-(\d{2})-(\d{2})\s+([a-z]{2,3})(?:\s.*)?", re.IGNORECASE)
_META = re.compile(r"(by|published)\s*:\s*(.*)", re.IGNORECASE)
_DATE = re.compile(r"([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b")
_TIME = re.compile(r"(\d{1,2})(?::(\d{2}))?\s*([ap])\.?\s?m\b\.?|(\d{1,2}):(\d{2})", re.IGNORECASE)
_ZONE = re.compile(r"[A-Za-z]*")
_OFFSET = re.compile(r"(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)

_MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip

# Fixed offsets in hours: an abbreviation does not say which DST rule applies, the letters do.
_TZ_HOURS: dict[str, float] = {
    "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 1, "BST": 1, "CET": 1, "CEST": 2,
    "EET": 2, "EEST": 3, "MSK": 3, "GST": 4, "PKT": 5, "IST": 5.5, "ICT": 7, "WIB": 7,
    "SGT": 8, "HKT": 8, "AWST": 8, "JST": 9, "KST": 9, "ACST": 9.5, "AEST": 10, "AEDT": 11,
    "NZST": 12, "NZDT": 13, "HST": -10, "AKST": -9, "AKDT": -8, "PST": -8, "PDT": -7,
    "MST": -7, "MDT": -6, "CST": -6, "CDT": -5, "EST": -5, "EDT": -4, "AST": -4, "ADT": -3,
}  # fmt: skip

# Multi-word names a tag line may hold; any other word becomes a tag of its own.
_KNOWN_TAGS = (
    "North Korea", "South Korea", "United States", "United Kingdom", "United Arab Emirates",
    "Saudi Arabia", "New Zealand", "South Africa", "South Sudan", "Sri Lanka", "Hong Kong",
    "Costa Rica", "Puerto Rico", "El Salvador", "Sierra Leone", "Burkina Faso", "Czech Republic",
    "Papua New Guinea", "Gaza Strip", "West Bank", "New York", "European Union", "United Nations",
    "Middle East", "Latin America", "White House", "International Relations", "Climate Change",
    "Human Rights", "Artificial Intelligence", "Public Health", "Foreign Policy", "World News",
    "Breaking News",
)  # fmt: skip


def parse_plain_text(text: str) -> dict[str, Any]:
    """Turn plain text into the fields of an ArticleIn; raise ValueError when title or body is empty."""
    raw = [line.strip() for line in text.lstrip("\ufeff").splitlines()]
    lines = [line for line in raw if line]
    if not lines:
        raise ValueError("article text is empty")
    header = _HEADER.fullmatch(lines[0])
    head = lines[1:] if header else lines
    anchor = next((i for i, line in enumerate(head[:_HEAD_SPAN]) if _META.fullmatch(line)), None)
    if header is None and anchor is None:
        return _parse_bare(raw)
    return _parse_layout(head, anchor, header)


def split_tags(line: str, section: str | None = None) -> list[str]:
    """Split a space-joined tag line into tags, keeping known multi-word names and the section whole."""
    known = {tuple(_norm(p).split()) for p in (*_KNOWN_TAGS, section or "")}
    longest = max(len(k) for k in known)
    words = line.split()
    tags: list[str] = []
    i = 0
    while i < len(words):
        # Greedy longest match: "North Korea Russia" must give "North Korea", not "North", "Korea".
        n = 1
        for size in range(min(longest, len(words) - i), 1, -1):
            if tuple(map(_norm, words[i : i + size])) in known:
                n = size
                break
        tags.append(" ".join(words[i : i + n]))
        i += n
    return list(dict.fromkeys(tags))


def parse_published(value: str) -> datetime | None:
    """Read "January 15, 2024 at 3:07 am EST" as an aware datetime at the zone's offset; None without a date.

    The offset is the source's (kept as ``published_offset``); the contract converts the time to UTC.
    """
    date = _DATE.search(value)
    if date is None:
        return None
    word = date[1].lower()
    month = next((i + 1 for i, name in enumerate(_MONTHS) if name.startswith(word)), None)
    if month is None:
        return None
    rest = value[date.end() :]
    hour = minute = 0
    time = _TIME.search(rest)
    if time is not None:
        if time[3]:
            hour, minute = int(time[1]) % 12 + (12 if time[3].lower() == "p" else 0), int(time[2] or 0)
        else:
            hour, minute = int(time[4]), int(time[5])
        rest = rest[time.end() :]
    try:
        local = datetime(int(date[3]), month, int(date[2]), hour, minute, tzinfo=timezone(_tz_offset(rest)))
        local.astimezone(UTC)  # refuse a time that leaves datetime's range in UTC
        return local
    except (ValueError, OverflowError):  # Feb 30, 25:00, or year 1 shifted below datetime.min
        return None


def _tz_offset(text: str) -> timedelta:
    """Map a zone abbreviation or a +hh:mm offset to a UTC offset; unknown zones count as UTC."""
    text = text.strip().strip("()").strip()
    offset = _OFFSET.match(text)
    if offset is not None:
        delta = timedelta(hours=int(offset[2]), minutes=int(offset[3] or 0))
        # timezone() accepts only offsets strictly inside one day.
        if delta < timedelta(hours=24):
            return -delta if offset[1] == "-" else delta
    zone = _ZONE.match(text)
    return timedelta(hours=_TZ_HOURS.get(zone[0].upper() if zone else "", 0))


def _parse_bare(lines: list[str]) -> dict[str, Any]:
    """Take the first non-empty line as the title and the rest, paragraphs kept, as the body."""
    first = next(i for i, line in enumerate(lines) if line)
    # Blank lines separate paragraphs; lines inside a paragraph keep their breaks.
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(lines[first + 1 :]))
    return _result(title=lines[first], body=body)


def _parse_layout(head: list[str], anchor: int | None, header: re.Match[str] | None) -> dict[str, Any]:
    """Read the seed layout from its non-empty lines (header line removed)."""
    section: str | None = None
    title: str | None = None
    author: str | None = None
    published: datetime | None = None
    if anchor is not None:
        before = head[:anchor]
        # A lone line before By:/Published: is the headline; with two, the first is the section.
        title = before[-1] if before else None
        section = before[0] if len(before) >= 2 else None
        i = anchor
        while i < len(head) and (meta := _META.fullmatch(head[i])):
            if meta[1].lower() == "by":
                author = meta[2].strip() or author
            else:
                published = parse_published(meta[2]) or published
            i += 1
    else:
        section, title, i = _guess_head(head)
    # The layout repeats the headline under the byline; it belongs to neither title nor body twice.
    if i < len(head) and (title is None or _norm(head[i]) == _norm(title)):
        title = head[i]
        i += 1
    body, tags, author = _split_tail(head[i:], author, section)
    if published is None and header is not None:
        published = _header_date(header)
    return _result(
        title=title or "",
        body="\n\n".join(body),
        author=author,
        section=section,
        published_at=published,
        language=header[4].lower() if header else None,
        tags=tags,
    )


def _guess_head(head: list[str]) -> tuple[str | None, str | None, int]:
    """Find section, headline and where the body starts when By: and Published: are both missing."""
    for i in range(min(3, len(head) - 1)):
        if _norm(head[i]) == _norm(head[i + 1]):
            return (head[0] if i else None), head[i], i + 2
    if len(head) >= 3 and len(head[0].split()) <= 5 and head[0][-1] not in ".!?:;,":
        return head[0], head[1], 2
    return None, (head[0] if head else None), 1


def _split_tail(
    lines: list[str], author: str | None, section: str | None
) -> tuple[list[str], list[str], str | None]:
    """Cut the tag line, closing author line and boilerplate off the body; return body, tags, author."""
    end = len(lines)
    closing = None
    if author:
        closing = next((i for i in range(end - 1, -1, -1) if _norm(lines[i]) == _norm(author)), None)
    if closing is None:
        # Without a closing author line, a trailing publisher blurb is recognised by its wording.
        while end > 1 and (lines[end - 1].startswith("Founded by") or "Newsroom" in lines[end - 1]):
            end -= 1
        # No By: line: "<tags>\n<author>" before the blurb still shows the author by position.
        if not author and end < len(lines) and _author_after_tags(lines[:end], section):
            author, closing = lines[end - 1], end - 1
    if closing is not None:
        end = closing
    tags: list[str] = []
    # A weakly recognised tag line needs a body line before it; one holding the section does not.
    tail = (closing is not None or end < len(lines)) and end > 1
    if end and _is_tag_line(lines[end - 1], section, tail=tail):
        tags = split_tags(lines[end - 1], section)
        end -= 1
    return lines[:end], tags, author


def _author_after_tags(lines: list[str], section: str | None) -> bool:
    """Tell whether the last line is a short name right after a tag line holding the section."""
    return (
        len(lines) > 2
        and bool(section)
        and _contains(lines[-2], section or "")
        and len(lines[-1].split()) <= 6
        and _capitalised(lines[-1])
    )


def _is_tag_line(line: str, section: str | None, *, tail: bool) -> bool:
    """Tell a source-tag line from a body paragraph or sub-heading."""
    words = line.split()
    if not _capitalised(line) or line[-1] in ".!?:;,\"'”’)":
        return False
    if section and _contains(line, section) and len(words) <= 30:
        return True
    # A short capitalised line could be a sub-heading, so trust it only where the tail is known.
    return tail and len(words) <= 12


def _capitalised(line: str) -> bool:
    """Tell whether every word starts with a capital letter or a digit."""
    return all(w[0].isupper() or w[0].isdigit() for w in line.split())


def _contains(line: str, phrase: str) -> bool:
    """Tell whether a line holds a phrase as whole words, ignoring case."""
    return f" {_norm(phrase)} " in f" {_norm(line)} "


def _norm(text: str) -> str:
    """Fold case and whitespace for comparing lines."""
    return " ".join(text.casefold().split())


def _header_date(header: re.Match[str]) -> datetime | None:
    """Use the header's date at midnight UTC when there is no usable Published: line."""
    try:
        return datetime(int(header[1]), int(header[2]), int(header[3]), tzinfo=UTC)
    except ValueError:
        return None


def _result(
    *,
    title: str,
    body: str,
    author: str | None = None,
    section: str | None = None,
    published_at: datetime | None = None,
    language: str | None = None,
    tags: list[str] | None = None,
) -> dict[str, Any]:
    """Check the parsed fields and fit them to ArticleIn's limits."""
    if not title.strip():
        raise ValueError("article title is empty")
    if not body.strip():
        raise ValueError("article body is empty after removing the layout")
    if len(title) > _TITLE_MAX:
        title = title[: _TITLE_MAX - 1].rstrip() + "…"
    return {
        "title": title,
        "body": body.strip(),
        # An over-long author or section is a misread line, not a value worth keeping.
        "author": author if author and len(author) <= _AUTHOR_MAX else None,
        "section": section if section and len(section) <= _SECTION_MAX else None,
        "published_at": published_at,
        "language": language,
        "tags": (tags or [])[:_TAGS_MAX],
    }
