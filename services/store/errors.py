"""Errors of store queries; each means the caller asked for something this store cannot answer.

QueryError (ValueError)   answered with HTTP 400 and the message
├── BadCursor             a cursor this store did not hand out, or one from another sort or query
├── BadSearch             a full-text query with nothing left to search for
└── BadFilter             filters that contradict each other or have the wrong shape
"""

from __future__ import annotations


class QueryError(ValueError):
    """Base of the errors a caller fixes by changing the request."""


class BadCursor(QueryError):
    """A cursor that this store did not hand out, or one handed out for a different sort or query."""


class BadSearch(QueryError):
    """A full-text query without a word to match, or with too many terms."""


class BadFilter(QueryError):
    """A filter value of the wrong shape, or filters that cannot hold together."""
