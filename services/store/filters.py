"""What a client asks the store for: the filters of GET /v1/articles and GET /v1/stream, validated once.

The article list turns a filter into SQL (db/queries.py); the live feed matches it against each new
article in memory (feed/filters.py). Both read the same value, so a filter means the same in both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import get_args

from services.contracts import EntityType, to_utc
from services.errors import BadFilter
from services.store.db import search
from services.taxonomy import is_topic_code

ENTITY_TYPES: tuple[str, ...] = get_args(EntityType)


@dataclass(frozen=True)
class ArticleFilter:
    """Every given filter must hold; repeated ones (entities, tags, topics) all of them.

    Raises BadFilter (or BadSearch for ``q``) on construction, naming the problem. Times are UTC
    (naive ones taken as UTC); ``text`` is ``q`` parsed.
    """

    entities: tuple[str, ...] = ()
    entity_type: str | None = None
    tags: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    language: str | None = None
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None
    text: search.TextQuery | None = field(default=None, init=False, compare=False)

    def __post_init__(self) -> None:
        if self.entity_type is not None and self.entity_type not in ENTITY_TYPES:
            raise BadFilter(f"entity_type must be one of {', '.join(ENTITY_TYPES)}")
        for code in self.topics:
            if not is_topic_code(code):
                raise BadFilter(f"topic {code!r} is not an IPTC Media Topic code such as medtop:11000000")
        for name in ("since", "until"):
            if (value := getattr(self, name)) is not None:
                try:
                    object.__setattr__(self, name, to_utc(value))
                except ValueError as exc:
                    raise BadFilter(f"{name} {exc}") from None
        if self.since is not None and self.until is not None and self.until < self.since:
            raise BadFilter("until is before since: give a time range that runs forward")
        if self.q is not None:
            object.__setattr__(self, "text", search.parse(self.q))
