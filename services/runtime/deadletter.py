"""The dead-letter stream ``<prefix>:dead``: one model writes its entries, reads them and documents them.

An entry is a plain field map (not the JSON envelope): why it died, where, and the original fields
under ``orig:``, byte for byte, so that a replay re-publishes exactly what was read.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, cast

import orjson
from pydantic import BaseModel, ConfigDict, Field, computed_field
from redis.asyncio import Redis

from services.contracts import dead_stream, stage_input
from services.errors import Conflict, NotFound
from services.runtime import ids
from services.runtime.codec import DATA_FIELD, text

ORIGINAL = "orig:"
_ORIGINAL_BYTES = ORIGINAL.encode()

# Re-publish, then delete, in one atomic step: a failed XADD leaves the dead entry where it was.
_REPLAY = """
local entry = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
redis.call('XDEL', KEYS[1], ARGV[1])
return entry
"""

Row = tuple[bytes, dict[bytes, bytes]]


class DeadLetter(BaseModel):
    """An entry of the dead-letter stream: where and why it died, and what it held."""

    model_config = ConfigDict(frozen=True)

    id: str | None = Field(default=None, description="its id in the dead-letter stream, once written")
    stage: str = Field(description="the stage that gave up on it", examples=["enrich"])
    stream: str = Field(description="the stream it was read from, <prefix>:raw or <prefix>:enriched")
    entry_id: str = Field(description="its id in that stream", examples=["1718000000000-0"])
    error: str = Field(description="why it was dead-lettered")
    deliveries: int = Field(description="deliveries before the stage gave up", examples=[5])
    dead_at: int = Field(description="when, in Unix milliseconds")
    original: dict[str, str] = Field(
        default_factory=dict, description="the entry's fields as they were, written under orig:<field>"
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def original_json(self) -> Any:
        """The original ``__data__`` decoded, when it is JSON."""
        data = self.original.get(DATA_FIELD)
        try:
            return orjson.loads(data) if data is not None else None
        except orjson.JSONDecodeError:
            return None

    @classmethod
    def of(cls, *, stage: str, stream: str, entry_id: str, error: str, deliveries: int) -> DeadLetter:
        """A record of an entry dying now."""
        return cls(
            stage=stage,
            stream=stream,
            entry_id=entry_id,
            error=error[:2000],
            deliveries=deliveries,
            dead_at=int(time.time() * 1000),
        )

    def fields(self, original: Mapping[bytes, bytes] | Mapping[str, str]) -> dict[bytes, bytes]:
        """The field map to XADD: this record, then every original field under ``orig:``."""
        own = self.model_dump(include={"stage", "stream", "entry_id", "error", "deliveries", "dead_at"})
        out = {key.encode(): str(value).encode() for key, value in own.items()}
        for key, value in original.items():
            name = key if isinstance(key, bytes) else key.encode()
            out[_ORIGINAL_BYTES + name] = value if isinstance(value, bytes) else value.encode()
        return out

    @classmethod
    def read(cls, entry_id: bytes | str, fields: Mapping[bytes, bytes]) -> DeadLetter:
        """Read a dead-letter entry as XRANGE returns it."""
        values = {text(k): text(v) for k, v in fields.items()}
        return cls(
            id=text(entry_id),
            stage=values.get("stage", ""),
            stream=values.get("stream", ""),
            entry_id=values.get("entry_id", ""),
            error=values.get("error", ""),
            deliveries=int(values.get("deliveries") or 0),
            dead_at=int(values.get("dead_at") or 0),
            original={k.removeprefix(ORIGINAL): v for k, v in values.items() if k.startswith(ORIGINAL)},
        )


def _rows(raw: Any) -> list[Row]:
    return cast(list[Row], raw or [])


async def list_dead(
    redis: Redis, *, prefix: str, stage: str | None = None, limit: int = 50, before: str | None = None
) -> list[DeadLetter]:
    """Return dead entries newest first, optionally of one stage, older than the entry id ``before``."""
    found: list[DeadLetter] = []
    if before is not None and ids.parse(before, sequence=True) == ids.ZERO:
        return found  # nothing is older than 0-0
    upper = f"({before}" if before else "+"
    batch = max(limit, 100)
    while len(found) < limit:
        rows = _rows(await redis.xrevrange(dead_stream(prefix), max=upper, min="-", count=batch))
        found += [e for e in (DeadLetter.read(*row) for row in rows) if stage is None or e.stage == stage]
        if len(rows) < batch:
            break
        upper = f"({text(rows[-1][0])}"
    return found[:limit]


async def _row(redis: Redis, prefix: str, dead_id: str) -> Row:
    key = str(ids.parse(dead_id, sequence=True))
    rows = _rows(await redis.xrange(dead_stream(prefix), min=key, max=key, count=1))
    if not rows:
        raise NotFound(f"no such dead entry: {dead_id!r}")
    return rows[0]


async def get_dead(redis: Redis, *, prefix: str, dead_id: str) -> DeadLetter:
    """Return one dead entry by its id; raise NotFound when there is none, BadRequest for a bad id."""
    return DeadLetter.read(*await _row(redis, prefix, dead_id))


async def replay(redis: Redis, *, prefix: str, dead_id: str) -> tuple[str, str]:
    """Re-publish a dead entry to its stage's input stream and remove it; return (stream, new entry id).

    Raises NotFound for an unknown id and Conflict for an entry that kept no original field.
    """
    entry_id, fields = await _row(redis, prefix, dead_id)
    record = DeadLetter.read(entry_id, fields)
    original = [
        v
        for k, value in fields.items()
        if k.startswith(_ORIGINAL_BYTES)
        for v in (k[len(_ORIGINAL_BYTES) :], value)
    ]
    if not original:
        raise Conflict(f"dead entry {dead_id} holds no original fields to replay")
    target = stage_input(prefix, record.stage)
    new_id = await redis.eval(_REPLAY, 2, dead_stream(prefix), target, text(entry_id), *original)
    return target, text(new_id)
