"""The message contract every service shares: event models, stream and group names, the stages.

How an article is written into a stream entry is the stream runtime's codec (services/runtime/codec.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

SCHEMA_VERSION = 1

RAW_EVENT = "article.raw"
ENRICHED_EVENT = "article.enriched"
PAGE_EVENT = "page.requested"

ENRICH_GROUP = "enrich"
STORE_GROUP = "store"
FETCH_GROUP = "fetch"

EntityType = Literal["PERSON", "ORG", "LOCATION", "MISC"]


def raw_stream(prefix: str) -> str:
    """Name the stream of articles as posted."""
    return f"{prefix}:raw"


def enriched_stream(prefix: str) -> str:
    """Name the stream of enriched articles."""
    return f"{prefix}:enriched"


def fetch_stream(prefix: str) -> str:
    """Name the stream of pages to fetch and publish as articles."""
    return f"{prefix}:fetch"


def dead_stream(prefix: str) -> str:
    """Name the dead-letter stream shared by every stage."""
    return f"{prefix}:dead"


def dedup_key(prefix: str, period: int, bucket: int) -> str:
    """Name one bucket of the article ids (as 64-bit hashes) that ingest published in one period.

    ``period`` counts de-duplication windows since the Unix epoch; ``bucket`` is in ``[0, buckets)``.
    """
    return f"{prefix}:dedup:{period}:{bucket}"


def overrun_key(stream: str) -> str:
    """Name the hash of how many entries of ``stream`` each unprotected consumer group lost to trimming."""
    return f"{stream}:overrun"


def failures_key(stream: str, group: str) -> str:
    """Name the hash of each pending entry's last error, shared by the replicas of a group."""
    return f"{stream}:{group}:failures"


def feed_key(prefix: str, feed_id: str) -> str:
    """Name the hash of one registered feed: what it is and how its polls went."""
    return f"{prefix}:feed:{feed_id}"


def feeds_key(prefix: str) -> str:
    """Name the sorted set of registered feed ids, scored by registration time (Unix ms)."""
    return f"{prefix}:feeds"


def feeds_due_key(prefix: str) -> str:
    """Name the sorted set of feed ids scored by when each is next due (Unix seconds); disabled ones
    are not in it."""
    return f"{prefix}:feeds:due"


def feeds_leases_key(prefix: str) -> str:
    """Name the hash of feed id -> the token of the poller replica that holds its lease."""
    return f"{prefix}:feeds:leases"


def to_utc(value: datetime) -> datetime:
    """Return the instant in UTC; naive times are UTC. Raise ValueError when it leaves years 1-9999."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the years 1-9999 once converted to UTC") from None


def _not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


def _in_range(value: datetime | None) -> datetime | None:
    # The time stays as posted until the article is accepted: RawArticle records the offset given
    # (none for a naive time, which is UTC) and converts, so every stored time compares with every other.
    if value is not None:
        to_utc(value)
    return value


def iso_8601(value: Any) -> Any:
    """Refuse a number where a time is expected: pydantic would read "1700000000" as Unix time."""
    if isinstance(value, int | float) or (
        isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit()
    ):
        raise ValueError("expected an ISO 8601 time such as 2024-01-15T08:07:00Z")
    return value


def _clean_tags(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(t.strip() for t in tags if t.strip()))


def utc_offset(value: datetime) -> str | None:
    """Spell a time's UTC offset as ``+09:00``; None for a naive time."""
    offset = value.utcoffset()
    if offset is None:
        return None
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


# Documented maxima, in characters: what the store's columns and indexes hold on every engine.
MAX_TITLE = 1000
MAX_URL = 4000
MAX_AUTHOR = 500
MAX_SECTION = 200
MAX_SOURCE = 200
MAX_TAG = 100
MAX_TAGS = 100

NonBlank = Annotated[str, AfterValidator(_not_blank)]
_NOT_BLANK: dict[str, Any] = {"minLength": 1, "pattern": r"\S"}
PostedTime = Annotated[datetime | None, BeforeValidator(iso_8601), AfterValidator(_in_range)]
UtcTime = Annotated[datetime, AfterValidator(to_utc)]
Tag = Annotated[str, Field(max_length=MAX_TAG)]
Tags = Annotated[list[Tag], AfterValidator(_clean_tags)]


class ArticleIn(BaseModel):
    """An article as a client posts it."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    # The schema states "not blank" for generated clients; the validator enforces it with a clear message.
    title: NonBlank = Field(
        max_length=MAX_TITLE,
        json_schema_extra=_NOT_BLANK,
        examples=["Lavrov to host North Korean counterpart in Moscow"],
    )
    body: NonBlank = Field(
        json_schema_extra=_NOT_BLANK, examples=["On January 16, Moscow will host a meeting."]
    )
    url: str | None = Field(default=None, max_length=MAX_URL, examples=["https://example.com/news/1"])
    published_at: PostedTime = Field(
        default=None,
        examples=["2024-01-15T08:07:00+09:00"],
        description="ISO 8601; naive times are UTC; stored and served in UTC (the offset given is kept"
        " in published_offset)",
    )
    author: str | None = Field(default=None, max_length=MAX_AUTHOR)
    section: str | None = Field(default=None, max_length=MAX_SECTION)
    source: str | None = Field(default=None, max_length=MAX_SOURCE, examples=["bnn"])
    tags: Tags = Field(default_factory=list, max_length=MAX_TAGS)
    language: str | None = Field(
        default=None,
        max_length=16,
        pattern=r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$",
        examples=["en", "pt-BR"],
        description="ISO 639-1 (or 639-3) code, optionally with a region: en, pt-BR",
    )


class RawArticle(ArticleIn):
    """An accepted article on ``<prefix>:raw``: the posted fields plus its id; every time in UTC."""

    id: str
    received_at: UtcTime
    published_offset: str | None = Field(
        default=None,
        examples=["+09:00"],
        description="UTC offset the source gave with published_at (which is itself in UTC), if any",
    )

    @model_validator(mode="after")
    def _published_in_utc(self) -> RawArticle:
        if self.published_at is not None:
            # Ingest records the offset as posted (to_raw); a time read back from a stream or the
            # store is UTC already. A producer's other offset is recorded here.
            if self.published_offset is None and self.published_at.utcoffset():
                self.published_offset = utc_offset(self.published_at)
            self.published_at = to_utc(self.published_at)
        return self


class Mention(BaseModel):
    """One occurrence of an entity; offsets index into the article body."""

    start: int
    end: int
    text: str


class Entity(BaseModel):
    """An entity of the article, all its mentions under one canonical name."""

    name: str
    type: EntityType
    count: int
    mentions: list[Mention]
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2 code of a place")
    salience: float = 0.0


class Topic(BaseModel):
    """An IPTC Media Topic assigned to the article."""

    code: str = Field(examples=["medtop:11000000"])
    label: str
    score: float


class Enrichment(BaseModel):
    """What produced the metadata, so articles can be re-enriched when it changes."""

    version: str
    models: dict[str, str] = Field(default_factory=dict)
    skipped: dict[str, str] = Field(default_factory=dict, description="step -> reason it did not run")


class EnrichedArticle(RawArticle):
    """An article on ``<prefix>:enriched``: the raw article plus what enrichment found."""

    entities: list[Entity] = Field(default_factory=list)
    topics: list[Topic] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    summary: str = ""
    word_count: int = 0
    reading_time_s: int = 0
    enrichment: Enrichment
    enriched_at: UtcTime


class PageRequest(BaseModel):
    """A page to fetch, on ``<prefix>:fetch``: posted as a bare URL, or the page of a feed item.

    The article it becomes carries ``id`` whatever the page's own canonical link says. ``item`` is the
    feed item's article (its source, tags and language already the feed's): the page's fields win, the
    item's fill in what the page lacks, and it is published as it is when the page cannot be had.
    """

    id: str = Field(description="the article id: of the canonical form of url")
    url: str = Field(max_length=MAX_URL, description="the page to fetch, absolute, as given")
    requested_at: UtcTime
    feed_id: str | None = Field(default=None, description="the feed whose item this page is")
    item: ArticleIn | None = Field(default=None, description="the feed item's article")


@dataclass(frozen=True)
class Stage:
    """A consuming stage of the pipeline: what it reads, as which group, and what it writes.

    Declared once here; the stream runtime runs it and the AsyncAPI document describes it.
    """

    name: str
    group: str
    reads: Callable[[str], str]
    model: type[BaseModel]
    does: str
    writes: Callable[[str], str] | None = None
    output: type[BaseModel] | None = None
    event: str | None = None


ENRICH = Stage(
    name="enrich",
    group=ENRICH_GROUP,
    reads=raw_stream,
    model=RawArticle,
    does="finds entities, topics, keywords, tags and language, acknowledging after it published the result",
    writes=enriched_stream,
    output=EnrichedArticle,
    event=ENRICHED_EVENT,
)
_STORES = "writes every article to the database, acknowledging after the commit"
STORE = Stage("store", STORE_GROUP, enriched_stream, EnrichedArticle, _STORES)
# The fetch stage publishes through ingest's publisher (its de-duplication window) to <prefix>:raw,
# which ingest already describes as its own output.
FETCH = Stage(
    name="fetch",
    group=FETCH_GROUP,
    reads=fetch_stream,
    model=PageRequest,
    does="fetches each page, extracts its article and publishes it to <prefix>:raw under the id it was "
    "announced with, acknowledging after it published; a page that cannot be had is dead-lettered",
)
STAGES = {stage.name: stage for stage in (ENRICH, STORE, FETCH)}


def stage_input(prefix: str, stage: str) -> str:
    """Name the stream a stage consumes, where a dead entry of that stage is replayed."""
    return STAGES[stage].reads(prefix)


def pipeline_groups(prefix: str, stream: str) -> frozenset[str]:
    """The consumer groups of the pipeline's stages that read ``stream``: trimming waits for them."""
    return frozenset(stage.group for stage in STAGES.values() if stage.reads(prefix) == stream)
