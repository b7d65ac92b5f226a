"""Errors of Wirestream: one tree, and what happens to each.

    WirestreamError
    ├── PoisonMessage              never processable: dead-lettered at once, then acknowledged
    │   └── MalformedEntry         not JSON, no ``__data__`` field, or not the contract's shape
    ├── TransientError             a dependency is unreachable: the entry stays pending, retried later
    ├── PartialFailure             some entries of a batch failed: each one's error, the rest are done
    ├── ConfigurationError         settings the environment cannot honour: the service refuses to start
    └── RequestError               an HTTP request the service refuses: ``status`` and ``detail``
        ├── BadRequest             400  malformed body, a cursor or an id this service did not hand out
        │   ├── BadCursor          400  a cursor of another sort or query
        │   ├── BadSearch          400  a full-text query with nothing to search for
        │   └── BadFilter          400  filters that cannot hold together
        ├── Unauthorized           401  a write (or read) without a valid API key
        ├── NotFound               404  no such article or dead entry
        ├── Conflict               409  a dead entry that holds nothing to replay
        ├── PayloadTooLarge        413  a body or batch over its limit
        ├── UnsupportedMediaType   415  a Content-Type or charset this service does not read
        ├── Unprocessable          422  an article that does not validate, naming the field
        ├── TooManyRequests        429  a client over its rate: try again after ``retry_after``
        └── Unavailable            503  overloaded or a dependency down: try again after ``retry_after``

A consuming stage honours the tree (services/runtime/runner.py): PoisonMessage goes to the dead-letter
stream on its first delivery, TransientError leaves the entry pending, and any other exception counts
as a failure of that entry, retried up to ``MAX_DELIVERIES`` times. Library errors are mapped into the
tree at that boundary by ``classify``, as an HTTP client maps its transport's errors. Every HTTP app
answers a RequestError with its status and ``{"detail": ...}`` through one handler (services/web/errors.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError


class WirestreamError(Exception):
    """Base of every error Wirestream raises on purpose."""


class PoisonMessage(WirestreamError):
    """An entry that no retry can fix; raised while decoding, or by a stage that knows."""


class MalformedEntry(PoisonMessage):
    """An entry that no version of the contract can read."""


class TransientError(WirestreamError):
    """A dependency is down; retrying later will work."""


class PartialFailure(WirestreamError):
    """Raised by a stage whose batch failed for some entries only: ``errors`` maps each failed entry's id
    to its error (handled as if that entry had failed alone); every other entry of the batch is done."""

    def __init__(self, errors: Mapping[str, BaseException]) -> None:
        super().__init__(f"{len(errors)} entries of the batch failed")
        self.errors = dict(errors)


class ConfigurationError(WirestreamError):
    """Settings that hold together but that the servers they name cannot honour, found at start.

    The service prints the message on one line and exits with status 1 (settings that contradict each
    other exit with 2, services/settings.py).
    """


class RequestError(WirestreamError):
    """A request the service refuses; ``detail`` is a message or a list of problems, each naming a field."""

    status: ClassVar[int] = 400

    def __init__(self, detail: Any, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail if isinstance(detail, str) else repr(detail))
        self.detail = detail
        self.headers = headers or {}


class BadRequest(RequestError):
    """A request the service cannot read: malformed body, unknown cursor, not an entry id."""


class BadCursor(BadRequest):
    """A cursor that this store did not hand out, or one handed out for a different sort or query."""


class BadSearch(BadRequest):
    """A full-text query without a word to match, or with too many terms."""


class BadFilter(BadRequest):
    """A filter value of the wrong shape, or filters that cannot hold together."""


class Unauthorized(RequestError):
    """No valid API key where one is required; the detail never says which part was wrong."""

    status = 401

    def __init__(self) -> None:
        super().__init__("missing or invalid API key", headers={"WWW-Authenticate": "Bearer"})


class NotFound(RequestError):
    """Nothing has the id asked for."""

    status = 404


class Conflict(RequestError):
    """The thing exists but cannot do what was asked."""

    status = 409


class PayloadTooLarge(RequestError):
    """A body or a batch over its documented limit."""

    status = 413


class UnsupportedMediaType(RequestError):
    """A Content-Type or a charset the service does not read."""

    status = 415


class Unprocessable(RequestError):
    """A well-formed request whose content does not validate; ``detail`` names each field."""

    status = 422


class _RetryLater(RequestError):
    """A refusal that tells the client when to try again (``Retry-After``, in seconds)."""

    def __init__(self, detail: str, *, retry_after: int = 5) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class TooManyRequests(_RetryLater):
    """A client over its rate limit."""

    status = 429


class Unavailable(_RetryLater):
    """The service cannot take the request now: overloaded, or a dependency is down."""

    status = 503


_TRANSIENT = (
    OSError,
    TimeoutError,
    RedisConnectionError,
    RedisTimeoutError,
    OperationalError,
    InterfaceError,
)


def classify(exc: BaseException) -> BaseException:
    """Map a library's error into the tree: connection and timeout errors become TransientError; a
    pydantic ValidationError (a stage built what the contract refuses: no retry can change that)
    becomes PoisonMessage. Errors already in the tree, and any other, are returned unchanged.
    """
    if isinstance(exc, WirestreamError):
        return exc
    if isinstance(exc, ValidationError):
        return PoisonMessage(f"{type(exc).__name__}: {exc}")
    if (isinstance(exc, DBAPIError) and exc.connection_invalidated) or isinstance(exc, _TRANSIENT):
        return TransientError(f"{type(exc).__name__}: {exc}")
    # asyncpg's connection errors are not OSError subclasses; match them by module and name.
    kind = type(exc)
    if kind.__module__.startswith("asyncpg") and "Connection" in kind.__name__:
        return TransientError(f"{kind.__name__}: {exc}")
    return exc


def is_transient(exc: BaseException) -> bool:
    """Say whether ``exc`` means "try again later" rather than "this entry is bad"."""
    return isinstance(classify(exc), TransientError)
