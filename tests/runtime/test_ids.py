"""Stream entry ids, read and written one way."""

from __future__ import annotations

import pytest

from services.errors import BadRequest
from services.runtime import ids


@pytest.mark.parametrize(
    ("text", "key"), [("1-2", (1, 2)), ("17", (17, 0)), (" 5-0 ", (5, 0)), (b"9-9", (9, 9))]
)
def test_entry_ids_parse(text: str | bytes, key: tuple[int, int]) -> None:
    assert ids.parse(text) == key


@pytest.mark.parametrize(
    "text", ["", "-", "1-", "a-1", "1-2-3", "$", "1-2\r\nX: y", "18446744073709551616-0"]
)
def test_malformed_entry_ids_are_refused(text: str) -> None:
    with pytest.raises(BadRequest, match="stream entry id"):
        ids.parse(text)


def test_a_full_id_can_be_required() -> None:
    with pytest.raises(BadRequest):
        ids.parse("17", sequence=True)
    assert ids.parse("17-0", sequence=True) == ids.EntryId(17, 0)


def test_ids_write_as_redis_does_and_order_as_redis_does() -> None:
    assert str(ids.EntryId(1700000000000, 3)) == "1700000000000-3"
    assert ids.EntryId(1, 9) < ids.EntryId(2, 0) < ids.EntryId(2, 1)
    assert ids.EntryId(5, 1).next() == ids.EntryId(5, 2)
    assert ids.EntryId(5, 2**64 - 1).next() == ids.EntryId(6, 0)
