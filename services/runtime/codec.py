"""The one codec of stream entries: the JSON envelope in ``__data__``, written and read here alone.

An entry of ``<prefix>:raw`` or ``<prefix>:enriched`` has one field, ``__data__``, holding::

    {"headers": {"event_type": "article.raw", "schema_version": "1", "correlation_id": "..."},
     "body": {...the article...}}

Any Redis client decodes it with a JSON parser alone. A foreign producer may also write the bare
article object into ``__data__`` (no ``headers`` key); any other shape is a MalformedEntry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from services.contracts import SCHEMA_VERSION
from services.errors import MalformedEntry

DATA_FIELD = "__data__"
M = TypeVar("M", bound=BaseModel)
Fields = Mapping[bytes, bytes] | Mapping[str, str]


def text(value: bytes | str | int) -> str:
    """Read a Redis reply (bytes, or already text) as text."""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


@dataclass(frozen=True, slots=True)
class Decoded(Generic[M]):
    """An entry's article, validated against the contract, and the envelope's headers."""

    body: M
    headers: dict[str, str]


def encode(body: BaseModel, *, event_type: str, correlation_id: str = "") -> bytes:
    """Encode one article as the JSON envelope stored in ``__data__``."""
    headers = {"event_type": event_type, "schema_version": str(SCHEMA_VERSION)}
    if correlation_id:
        headers["correlation_id"] = correlation_id
    return orjson.dumps({"headers": headers, "body": body.model_dump(mode="json")})


def entry(body: BaseModel, *, event_type: str, correlation_id: str = "") -> dict[str, bytes]:
    """The field map of a stream entry holding ``body``, ready for XADD."""
    return {DATA_FIELD: encode(body, event_type=event_type, correlation_id=correlation_id)}


def decode(fields: Fields, model: type[M]) -> Decoded[M]:
    """Decode an entry's field map once into ``model``; raise MalformedEntry naming the problem."""
    data = next((value for key, value in fields.items() if text(key) == DATA_FIELD), None)
    if data is None:
        names = ", ".join(sorted(text(k) for k in fields)) or "none"
        raise MalformedEntry(f"entry has no {DATA_FIELD} field (fields: {names})")
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise MalformedEntry(f"not JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise MalformedEntry(f"expected a JSON object, got {type(obj).__name__}")
    headers: dict[str, str] = {}
    if isinstance(obj.get("headers"), dict) and isinstance(obj.get("body"), dict):
        headers = {str(k): str(v) for k, v in obj["headers"].items()}
        obj = obj["body"]
    return Decoded(validate(model, obj), headers)


def validate(model: type[M], body: Any) -> M:
    """Validate a decoded body against the contract; raise MalformedEntry naming each problem."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}" for err in exc.errors()
        )
        raise MalformedEntry(f"does not match {model.__name__}: {problems}") from exc
