"""FastStream wiring shared by the services: the JSON entry envelope and the broker factory."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson
from faststream.redis import RedisBroker
from faststream.redis.parser import MessageFormat

from services.contracts import SCHEMA_VERSION, decode_envelope
from services.errors import MalformedEntry

if TYPE_CHECKING:
    from fast_depends.library.serializer import SerializerProto
    from faststream._internal.basic_types import SendableMessage
    from faststream._internal.parser import CodecProto


class JsonEnvelope(MessageFormat):
    """Write entries as ``{"headers": {...}, "body": {...}}`` JSON, readable by any Redis client."""

    __slots__ = ()

    @classmethod
    async def encode(
        cls,
        *,
        message: Sequence[SendableMessage] | SendableMessage,
        reply_to: str | None,
        headers: dict[str, Any] | None,
        correlation_id: str,
        serializer: SerializerProto | None = None,
        codec: CodecProto | None = None,
    ) -> bytes:
        msg = await cls.build(
            message=message,
            reply_to=reply_to,
            headers={"schema_version": str(SCHEMA_VERSION), **(headers or {})},
            correlation_id=correlation_id,
            serializer=serializer,
            codec=codec,
        )
        msg.headers.pop("content-type", None)  # the body is always JSON
        return orjson.dumps({"headers": msg.headers, "body": orjson.Fragment(msg.data or b"null")})

    @classmethod
    def parse(cls, data: bytes | dict[bytes, bytes]) -> tuple[bytes, dict[str, Any]]:  # type: ignore[override]
        # An entry without __data__ reaches here as its field map: hand it on for the stage to reject.
        if isinstance(data, dict):
            return orjson.dumps(
                {k.decode(errors="replace"): v.decode(errors="replace") for k, v in data.items()}
            ), {}
        try:
            body, headers = decode_envelope(data)
        except MalformedEntry:
            return data, {}
        return orjson.dumps(body), {**headers, "content-type": "application/json"}


def consumer_name(configured: str | None = None) -> str:
    """Name this replica uniquely and stably within its consumer group."""
    return configured or f"{socket.gethostname()}-{os.getpid()}"


def make_broker(redis_url: str, **kwargs: Any) -> RedisBroker:
    """Build the broker every service uses, writing the JSON envelope."""
    # Per-message "Received/Processed" lines go to DEBUG: the stages log outcomes themselves.
    kwargs.setdefault("log_level", logging.DEBUG)
    kwargs.setdefault("graceful_timeout", 30.0)
    return RedisBroker(redis_url, message_format=JsonEnvelope, **kwargs)
