"""Opaque page cursors: where the previous page ended, in the order of the listing."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

import orjson

from services.contracts import to_utc
from services.errors import BadCursor

_INVALID = "cursor is not valid: pass back the next_cursor of a previous page"


def _encode(value: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")


def _decode(cursor: str) -> Any:
    try:
        return orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise BadCursor(_INVALID) from exc


def _time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise BadCursor(_INVALID)
    try:
        return to_utc(datetime.fromisoformat(value))
    except ValueError as exc:
        raise BadCursor(_INVALID) from exc


def encode_cursor(sort_time: datetime, article_id: str) -> str:
    """Point just after this row of a newest-first listing."""
    return _encode([to_utc(sort_time).isoformat(), article_id])


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Read a newest-first cursor back; raise BadCursor when it is not one."""
    value = _decode(cursor)
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[1], str)):
        raise BadCursor(_INVALID)
    return _time(value[0]), value[1]


def encode_relevance_cursor(score: int, sort_time: datetime, article_id: str, fingerprint: str) -> str:
    """Point just after this row of a relevance listing of the query with this fingerprint."""
    return _encode(["r", int(score), to_utc(sort_time).isoformat(), article_id, fingerprint])


def decode_relevance_cursor(cursor: str, fingerprint: str) -> tuple[int, datetime, str]:
    """Read a relevance cursor back; raise BadCursor when it is not one, or belongs to another query."""
    value = _decode(cursor)
    if not (
        isinstance(value, list)
        and len(value) == 5
        and value[0] == "r"
        and isinstance(value[1], int)
        and isinstance(value[3], str)
    ):
        raise BadCursor(_INVALID + " (with sort=relevance, a next_cursor of the same sort)")
    if value[4] != fingerprint:
        raise BadCursor("cursor belongs to a different q: start again without a cursor")
    return value[1], _time(value[2]), value[3]
