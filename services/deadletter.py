"""Read the dead-letter stream and replay its entries into the stage they failed in."""

from __future__ import annotations

from typing import Any, cast

import orjson
from pydantic import BaseModel, Field, computed_field
from redis.asyncio import Redis

from services.contracts import dead_stream, stage_input

ORIGINAL = b"orig:"

# Re-publish, then delete, in one atomic step: a failed XADD leaves the dead entry where it was.
_REPLAY = """
local entry = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))
redis.call('XDEL', KEYS[1], ARGV[1])
return entry
"""


class NothingToReplay(ValueError):
    """A dead entry that kept none of the original entry's fields."""


class DeadEntry(BaseModel):
    """One dead-lettered entry: where and why it died, and what it held."""

    id: str = Field(description="its id in the dead-letter stream")
    stage: str
    stream: str = Field(description="the stream it was read from")
    entry_id: str = Field(description="its id in that stream")
    error: str
    deliveries: int
    dead_at_ms: int
    original: dict[str, str] = Field(description="the entry's fields as they were")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def original_json(self) -> Any:
        """The original ``__data__`` decoded, when it is JSON."""
        data = self.original.get("__data__")
        try:
            return orjson.loads(data) if data is not None else None
        except orjson.JSONDecodeError:
            return None


Row = tuple[bytes, dict[bytes, bytes]]
_U64 = 2**64


def check_entry_id(value: str) -> str:
    """Return ``value`` if it is a stream entry id Redis accepts (``<ms>-<seq>``), else raise ValueError."""
    ms, sep, seq = value.partition("-")
    if not (sep and ms.isdigit() and seq.isdigit() and int(ms) < _U64 and int(seq) < _U64):
        raise ValueError(f"{value!r} is not a stream entry id such as 1700000000000-0")
    return value


def _rows(raw: Any) -> list[Row]:
    return cast(list[Row], raw or [])


def _decode(entry_id: bytes | str, fields: dict[bytes, bytes]) -> DeadEntry:
    text = {k.decode(errors="replace"): v.decode(errors="replace") for k, v in fields.items()}
    return DeadEntry(
        id=entry_id.decode() if isinstance(entry_id, bytes) else entry_id,
        stage=text.get("stage", ""),
        stream=text.get("stream", ""),
        entry_id=text.get("entry_id", ""),
        error=text.get("error", ""),
        deliveries=int(text.get("deliveries", "0") or 0),
        dead_at_ms=int(text.get("dead_at", "0") or 0),
        original={k[len("orig:") :]: v for k, v in text.items() if k.startswith("orig:")},
    )


async def list_dead(
    redis: Redis, *, prefix: str, stage: str | None = None, limit: int = 50, before: str | None = None
) -> list[DeadEntry]:
    """Return dead entries newest first, optionally of one stage, older than ``before``."""
    found: list[DeadEntry] = []
    if before is not None and check_entry_id(before).strip("0-") == "":
        return found  # nothing is older than 0-0
    upper = f"({before}" if before else "+"
    batch = max(limit, 100)
    while len(found) < limit:
        rows = _rows(await redis.xrevrange(dead_stream(prefix), max=upper, min="-", count=batch))
        found += [e for e in (_decode(i, f) for i, f in rows) if stage is None or e.stage == stage]
        if len(rows) < batch:
            break
        upper = f"({_decode(*rows[-1]).id}"
    return found[:limit]


async def get_dead(redis: Redis, *, prefix: str, dead_id: str) -> DeadEntry | None:
    """Return one dead entry by its id in the dead-letter stream."""
    rows = _rows(await redis.xrange(dead_stream(prefix), min=check_entry_id(dead_id), max=dead_id, count=1))
    return _decode(*rows[0]) if rows else None


async def replay(redis: Redis, *, prefix: str, dead_id: str, maxlen: int) -> tuple[str, str] | None:
    """Re-publish a dead entry to its stage's input stream and remove it; return (stream, new entry id)."""
    rows = _rows(await redis.xrange(dead_stream(prefix), min=check_entry_id(dead_id), max=dead_id, count=1))
    if not rows:
        return None
    entry = _decode(*rows[0])
    fields = [
        v for k, value in rows[0][1].items() if k.startswith(ORIGINAL) for v in (k[len(ORIGINAL) :], value)
    ]
    if not fields:
        raise NothingToReplay(f"dead entry {dead_id} holds no original fields to replay")
    target = stage_input(prefix, entry.stage)
    new_id = await redis.eval(_REPLAY, 2, dead_stream(prefix), target, dead_id, maxlen, *fields)  # type: ignore[misc]
    return target, new_id.decode() if isinstance(new_id, bytes) else str(new_id)
