"""Errors of Wirestream, and how a consuming stage treats each.

    WirestreamError
    ├── PoisonMessage        never processable: dead-lettered at once, then acknowledged
    │   └── MalformedEntry   not JSON, no ``__data__`` field, or not the contract's shape
    └── TransientError       a dependency is unreachable: the entry stays pending and is retried later

Exceptions raised by libraries are classified by ``is_transient``: connection and timeout errors of
Redis, the database driver or the OS count as transient; anything else counts as a failure of that
entry, retried up to ``MAX_DELIVERIES`` times before it is dead-lettered.
"""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError


class WirestreamError(Exception):
    """Base of every error Wirestream raises on purpose."""


class PoisonMessage(WirestreamError):
    """An entry that no retry can fix; raised while decoding or by a stage that knows."""


class MalformedEntry(PoisonMessage, ValueError):
    """An entry that no version of the contract can read."""


class TransientError(WirestreamError):
    """A dependency is down; retrying later will work."""


_TRANSIENT = (
    TransientError,
    OSError,
    TimeoutError,
    RedisConnectionError,
    RedisTimeoutError,
    OperationalError,
    InterfaceError,
)


def is_transient(exc: BaseException) -> bool:
    """Say whether ``exc`` means "try again later" rather than "this entry is bad"."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, _TRANSIENT):
        return True
    # asyncpg's connection errors are not OSError subclasses; match them by module and name.
    kind = type(exc)
    return kind.__module__.startswith("asyncpg") and "Connection" in kind.__name__
