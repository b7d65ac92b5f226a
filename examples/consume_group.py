"""Process every enriched article at least once in your own consumer group, with plain redis-py."""

import json
import os
import socket
import sqlite3
import sys

import redis

r = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), decode_responses=True)
stream = os.environ.get("STREAM_PREFIX", "news") + ":enriched"
group = os.environ.get("GROUP", "mygroup")
consumer = os.environ.get("CONSUMER", socket.gethostname())  # stable across restarts of this replica
claim_idle_ms = int(os.environ.get("CLAIM_IDLE_MS", "60000"))
db = sqlite3.connect(os.environ.get("ARTICLES_DB", "articles.db"))
db.execute("CREATE TABLE IF NOT EXISTS articles (id TEXT PRIMARY KEY, title TEXT, entry_id TEXT)")

try:  # at 0, not $: the group also reads what was published before it existed
    r.xgroup_create(stream, group, id="0", mkstream=True)
except redis.ResponseError as exc:
    if "BUSYGROUP" not in str(exc):
        raise


def handle(entry_id, fields):
    """Make the effect durable, idempotent by article id, and only then acknowledge."""
    try:
        article = json.loads((fields or {})["__data__"])["body"]
    except (KeyError, TypeError, ValueError):  # trimmed or unreadable: never retry it
        print(f"skipped unreadable entry {entry_id}", file=sys.stderr, flush=True)
    else:
        with db:  # one transaction; a redelivered article rewrites its own row
            db.execute(
                "INSERT OR REPLACE INTO articles VALUES (?, ?, ?)",
                (article["id"], article["title"], entry_id),
            )
        print(article["id"], article["title"], flush=True)
    r.xack(stream, group, entry_id)


last, claim_from = "0", "0-0"  # "0": first what this consumer read but never acknowledged
while True:
    # Take over entries another consumer left unacknowledged for claim_idle_ms (it crashed).
    claim_from, claimed, *_ = r.xautoclaim(stream, group, consumer, claim_idle_ms, claim_from, count=100)
    for entry_id, fields in claimed:
        handle(entry_id, fields)
    reply = r.xreadgroup(group, consumer, {stream: last}, count=100, block=5000)
    entries = reply[0][1] if reply else []
    for entry_id, fields in entries:
        handle(entry_id, fields)
    if last == "0" and not entries:
        last = ">"  # own backlog done: from now on, new entries only
