"""Stream entry ids (``<milliseconds>-<sequence>``), read and written one way everywhere."""

from __future__ import annotations

import re
from typing import NamedTuple

from services.errors import BadRequest
from services.runtime.codec import text

_ENTRY_ID = re.compile(r"^(\d{1,20})(?:-(\d{1,20}))?$")
_U64 = 2**64
PATTERN = r"^\d{1,20}-\d{1,20}$"  # for request parameters that take a full entry id


class EntryId(NamedTuple):
    """A stream entry id as the pair Redis orders by; ``str()`` writes it as Redis does."""

    ms: int
    seq: int

    def __str__(self) -> str:
        return f"{self.ms}-{self.seq}"

    def next(self) -> EntryId:
        """The smallest id after this one, e.g. the first id a trim must keep."""
        return EntryId(self.ms, self.seq + 1) if self.seq + 1 < _U64 else EntryId(self.ms + 1, 0)


ZERO = EntryId(0, 0)


def parse(value: bytes | str, *, sequence: bool = False) -> EntryId:
    """Read an entry id (``ms-seq``, or ``ms`` alone unless ``sequence``); raise BadRequest otherwise."""
    raw = text(value).strip()
    found = _ENTRY_ID.match(raw)
    if found is None or (sequence and found.group(2) is None):
        raise BadRequest(f"{raw!r} is not a stream entry id such as 1700000000000-0")
    ms, seq = int(found.group(1)), int(found.group(2) or 0)
    if ms >= _U64 or seq >= _U64:
        raise BadRequest(f"{raw!r} is out of the range of stream entry ids")
    return EntryId(ms, seq)
