"""The error tree: every refusal carries its status, library errors are mapped at the boundary."""

from __future__ import annotations

import asyncpg
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from sqlalchemy.exc import OperationalError

from services import errors
from services.errors import (
    BadCursor,
    BadFilter,
    BadRequest,
    BadSearch,
    Conflict,
    MalformedEntry,
    NotFound,
    PayloadTooLarge,
    PoisonMessage,
    RequestError,
    TooManyRequests,
    TransientError,
    Unauthorized,
    Unavailable,
    Unprocessable,
    UnsupportedMediaType,
    WirestreamError,
    classify,
)


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (BadRequest, 400),
        (BadCursor, 400),
        (BadSearch, 400),
        (BadFilter, 400),
        (NotFound, 404),
        (Conflict, 409),
        (PayloadTooLarge, 413),
        (UnsupportedMediaType, 415),
        (Unprocessable, 422),
    ],
)
def test_each_refusal_carries_its_status_and_detail(kind: type[RequestError], status: int) -> None:
    detail = [{"loc": ["body", "title"], "msg": "title: must not be empty"}]
    exc = kind(detail)
    assert (exc.status, exc.detail, exc.headers) == (status, detail, {})
    assert isinstance(exc, WirestreamError)


def test_unauthorized_never_says_what_was_wrong() -> None:
    exc = Unauthorized()
    assert (exc.status, exc.detail) == (401, "missing or invalid API key")
    assert exc.headers == {"WWW-Authenticate": "Bearer"}


@pytest.mark.parametrize(("kind", "status"), [(TooManyRequests, 429), (Unavailable, 503)])
def test_retry_later_refusals_say_when(kind: type[TooManyRequests | Unavailable], status: int) -> None:
    exc = kind("busy", retry_after=7)
    assert (exc.status, exc.headers, exc.retry_after) == (status, {"Retry-After": "7"}, 7)


def test_the_docstring_draws_every_class_of_the_tree() -> None:
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, WirestreamError)]
    drawn = errors.__doc__ or ""
    missing = [c.__name__ for c in classes if not c.__name__.startswith("_") and c.__name__ not in drawn]
    assert not missing


@pytest.mark.parametrize(
    "exc",
    [
        RedisConnectionError("refused"),
        OSError("network unreachable"),
        TimeoutError(),
        OperationalError("SELECT 1", {}, Exception("server closed the connection")),
        asyncpg.exceptions.ConnectionDoesNotExistError("gone"),
    ],
)
def test_connection_failures_of_libraries_become_transient(exc: Exception) -> None:
    mapped = classify(exc)
    assert isinstance(mapped, TransientError)
    assert type(exc).__name__ in str(mapped)


@pytest.mark.parametrize("exc", [ValueError("bad value"), KeyError("x"), ResponseError("WRONGTYPE")])
def test_other_library_errors_stay_failures_of_the_entry(exc: Exception) -> None:
    assert classify(exc) is exc


def test_errors_already_in_the_tree_are_kept() -> None:
    poison = MalformedEntry("not JSON")
    assert classify(poison) is poison
    assert isinstance(poison, PoisonMessage)
