"""Prometheus counters for every outcome, labelled with the stage and the reason."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

PROCESSED = Counter("wirestream_processed", "Entries processed and acknowledged", ["stage"])
FAILURES = Counter(
    "wirestream_failures", "Entries that failed and were left pending for retry", ["stage", "kind"]
)
DEAD = Counter("wirestream_dead_lettered", "Entries moved to the dead-letter stream", ["stage"])
RECLAIMED = Counter("wirestream_reclaimed", "Pending entries taken over from an idle consumer", ["stage"])
GROUP_RECREATED = Counter(
    "wirestream_group_recreated", "Consumer groups recreated after Redis lost them", ["stage"]
)
INGESTED = Counter("wirestream_ingested", "Articles answered by ingest", ["status"])
REFUSED = Counter("wirestream_refused", "Ingest requests refused as a whole, by HTTP status", ["status"])
THROTTLED = Counter("wirestream_throttled", "Requests refused to protect the pipeline", ["reason"])
TRIMMED = Counter(
    "wirestream_trimmed", "Entries trimmed after every protected consumer group acknowledged them", ["stream"]
)
OVERRUN = Counter(
    "wirestream_group_overrun",
    "Entries trimmed before an unprotected consumer group read them",
    ["stream", "group"],
)
DEAD_EXPIRED = Counter("wirestream_dead_expired", "Dead letters removed after DEAD_RETENTION")
PAUSED = Gauge("wirestream_paused", "1 while a stage waits for room in its output stream", ["stage"])
FEED_POLLS = Counter(
    "wirestream_feed_polls",
    "Feed polls, by outcome: ok, not_modified, failed, disabled, deferred (backpressure)",
    ["outcome"],
)
PAGES = Counter(
    "wirestream_pages",
    "Pages of the fetch stage, by outcome: published, fallback (the feed item alone), dead, retried",
    ["outcome"],
)
