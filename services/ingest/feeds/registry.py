"""The feeds Wirestream polls, and how each one's polls went, kept in Redis under the deployment's prefix.

Keys (services/contracts.py), all built from the settings' stream prefix, so on a Redis Cluster they share
its hash slot:

    <prefix>:feed:<id>     hash: the feed (url, interval_s, ...) and its status, each field JSON
    <prefix>:feeds         sorted set: every feed id, scored by registration time (Unix ms)
    <prefix>:feeds:due     sorted set: when each feed is next due (services/ingest/feeds/schedule.py)
    <prefix>:feeds:leases  hash: feed id -> the lease token of the poller polling it

A feed's id is the first 16 hex digits of SHA-256 over its canonical URL (services/ingest/canonical.py),
so the same feed under another spelling (tracking parameters, ``http``, ``www.``) is the same feed.
The URL stored and fetched is the one given; a permanent redirect records ``status.current_url``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Literal, Protocol, TypeVar, cast
from urllib.parse import urlsplit

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from redis.asyncio import Redis

from services.contracts import (
    MAX_SOURCE,
    MAX_TAGS,
    MAX_URL,
    Tags,
    UtcTime,
    feed_key,
    feeds_due_key,
    feeds_key,
    feeds_leases_key,
)
from services.errors import Conflict, NotFound
from services.ingest.canonical import canonical_url

# Polling a feed more often than every minute is for tests and one's own feeds; the fetcher's per-host
# turns and conditional GETs still keep it polite. A week is the longest a feed may wait.
MIN_INTERVAL_S = 5
MAX_INTERVAL_S = 7 * 24 * 3600
DEFAULT_INTERVAL_S = 900

M = TypeVar("M", bound=BaseModel)


def _web_url(value: str) -> str:
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("must not contain spaces or control characters")
    parts = urlsplit(value)  # a malformed host (an unbalanced "[") raises ValueError: a 422 too
    if parts.scheme.lower() not in ("http", "https"):
        given = f"{parts.scheme}:" if parts.scheme else "one without a scheme"
        raise ValueError(f"must be an http or https URL, not {given}")
    if not parts.hostname:
        raise ValueError("must name a host")
    return value


class FeedIn(BaseModel):
    """A feed as a client registers it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    url: Annotated[str, AfterValidator(_web_url)] = Field(
        min_length=1, max_length=MAX_URL, examples=["https://feeds.bbci.co.uk/news/world/rss.xml"]
    )
    interval_s: int = Field(
        default=DEFAULT_INTERVAL_S,
        ge=MIN_INTERVAL_S,
        le=MAX_INTERVAL_S,
        strict=True,
        description="seconds between polls while the feed answers",
    )
    source: str | None = Field(default=None, max_length=MAX_SOURCE, description="the articles' source")
    fetch_pages: bool = Field(
        default=False, strict=True, description="fetch each item's page for its full text"
    )
    tags: Tags = Field(default_factory=list, max_length=MAX_TAGS, description="added to every article")


class Feed(FeedIn):
    """A registered feed."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(examples=["3f2a9c81d0b4e6a7"])
    created_at: UtcTime


class FeedStatus(BaseModel):
    """How a feed's polls went; written by the poller holding its lease."""

    last_polled_at: UtcTime | None = None
    last_status: int | None = Field(default=None, description="HTTP status of the last poll; null: no answer")
    items_seen: int = Field(default=0, description="items read over all polls")
    items_published: int = Field(default=0, description="items published to the raw stream as articles")
    consecutive_failures: int = 0
    last_error: str | None = None
    next_poll_at: UtcTime | None = Field(default=None, description="null while the feed is disabled")
    disabled: bool = False
    disabled_reason: str | None = Field(default=None, examples=["410 Gone"])
    etag: str | None = None
    last_modified: str | None = None
    current_url: str | None = Field(default=None, description="where a permanent redirect led; null: url")


class FeedView(Feed):
    """A feed with its status, as listed."""

    status: FeedStatus


def feed_id(url: str) -> str:
    """The id of the feed at ``url``: the same for every spelling of one canonical URL."""
    return hashlib.sha256(("feed\n" + canonical_url(url)).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def is_feed_id(value: str) -> bool:
    """Say whether ``value`` could be a feed id (16 lower-case hex digits)."""
    return len(value) == 16 and all(c in "0123456789abcdef" for c in value)


def encode_fields(model: BaseModel, *, exclude: set[str] | None = None) -> dict[str, bytes]:
    """The hash fields of ``model``: each field's JSON value."""
    return {k: orjson.dumps(v) for k, v in model.model_dump(mode="json", exclude=exclude).items()}


def _decode(kind: type[M], fields: dict[bytes, bytes]) -> M:
    values = {k.decode(): orjson.loads(v) for k, v in fields.items()}
    return kind.model_validate({k: v for k, v in values.items() if k in kind.model_fields})


def _view(fields: dict[bytes, bytes], due: float | None) -> FeedView:
    status = _decode(FeedStatus, fields)
    status.next_poll_at = None if due is None else datetime.fromtimestamp(due, UTC)
    return FeedView(**_decode(Feed, fields).model_dump(), status=status)


# Register a feed unless its id is taken: its hash, its place in the index, due at once.
# KEYS: the feed's hash, the index, the due set. ARGV: id, registration ms, due at, hash fields and values.
_ADD = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
"""

# Forget a feed: its hash, its index entry, its schedule and any lease on it.
# KEYS: the feed's hash, the index, the due set, the leases. ARGV: id.
_REMOVE = """
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
return 1
"""


class FeedRegistry:
    """The feeds of one deployment; ``prefix`` is the settings' stream prefix as keys are named."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis, self.prefix = redis, prefix
        self.index, self.due, self.leases = feeds_key(prefix), feeds_due_key(prefix), feeds_leases_key(prefix)

    async def add(self, feed: FeedIn, *, now: datetime | None = None) -> FeedView:
        """Register ``feed``, due at once. Raises Conflict, naming the id, when its URL is registered."""
        created = (now or datetime.now(UTC)).astimezone(UTC)
        record = Feed(**feed.model_dump(), id=feed_id(feed.url), created_at=created)
        fields = encode_fields(record) | encode_fields(FeedStatus(), exclude={"next_poll_at"})
        flat = [item for pair in fields.items() for item in pair]
        key = feed_key(self.prefix, record.id)
        # EVAL, not EVALSHA: a cluster client refuses EVALSHA in pipelines; Redis caches by hash anyway.
        added = await self.redis.eval(
            _ADD,
            3,
            key,
            self.index,
            self.due,
            record.id,
            int(created.timestamp() * 1000),
            created.timestamp(),
            *flat,
        )
        if not int(added):
            raise Conflict(
                f"the feed {feed.url} is already registered as {record.id}",
                headers={"Location": f"/v1/feeds/{record.id}"},
            )
        return FeedView(**record.model_dump(), status=FeedStatus(next_poll_at=created))

    async def get(self, feed_id: str) -> FeedView:
        """The feed with its status; raises NotFound naming the id."""
        if is_feed_id(feed_id):
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hgetall(feed_key(self.prefix, feed_id))
                pipe.zscore(self.due, feed_id)
                fields, due = await pipe.execute()
            if fields:
                return _view(fields, due)
        raise NotFound(f"no feed has the id {feed_id!r}")

    async def list(self) -> list[FeedView]:
        """Every feed with its status, in the order they were registered."""
        ids = [i.decode() for i in cast(list[bytes], await self.redis.zrange(self.index, 0, -1))]
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for each in ids:
                pipe.hgetall(feed_key(self.prefix, each))
                pipe.zscore(self.due, each)
            rows = await pipe.execute()
        # A feed removed between the two reads has an empty hash: it is not listed.
        return [_view(fields, due) for fields, due in zip(rows[::2], rows[1::2], strict=True) if fields]

    async def remove(self, feed_id: str) -> None:
        """Forget the feed, its schedule and its lease; raises NotFound naming the id."""
        if is_feed_id(feed_id):
            key = feed_key(self.prefix, feed_id)
            removed = await self.redis.eval(_REMOVE, 4, key, self.index, self.due, self.leases, feed_id)
            if int(removed):
                return
        raise NotFound(f"no feed has the id {feed_id!r}")


class Outline(Protocol):
    """A feed an OPML document names (services/ingest/feeds/opml.py's OpmlFeed)."""

    @property
    def xml_url(self) -> str | None: ...
    @property
    def title(self) -> str | None: ...
    @property
    def tags(self) -> Sequence[str]: ...


class Imported(BaseModel):
    """What became of one outline of an OPML document, by its position."""

    index: int
    url: str | None
    status: Literal["created", "exists", "rejected"]
    id: str | None = None
    error: str | None = None


async def import_feeds(
    registry: FeedRegistry, outlines: Sequence[Outline], *, interval_s: int, fetch_pages: bool
) -> list[Imported]:
    """Register each outline's feed with ``interval_s`` and ``fetch_pages``, its title as the source.
    One bad or known outline never stops the others."""
    results = []
    for index, outline in enumerate(outlines):
        url, title = outline.xml_url, (outline.title or "").strip()
        try:
            feed = FeedIn(
                url=url or "",
                source=title[:MAX_SOURCE] or None,
                tags=list(outline.tags),
                interval_s=interval_s,
                fetch_pages=fetch_pages,
            )
            added = await registry.add(feed)
        except ValidationError as exc:
            problems = exc.errors(include_url=False, include_context=False, include_input=False)
            error = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}" for e in problems
            )
            results.append(Imported(index=index, url=url, status="rejected", error=error))
        except Conflict:
            results.append(Imported(index=index, url=url, status="exists", id=feed_id(url or "")))
        else:
            results.append(Imported(index=index, url=url, status="created", id=added.id))
    return results
