"""Give an article a deterministic id, so a re-posted article is recognised as the same one.

The id is the first 16 hex digits of SHA-256 over the article's canonical URL (canonical.py) when it has
one, else over its normalised title, published time and body.
"""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import UTC, datetime

from services.ingest.canonical import canonical_url

__all__ = ["article_id", "canonical_url"]


def article_id(*, title: str, body: str, published_at: datetime | None, url: str | None) -> str:
    """Return 16 hex characters identifying the article by its canonical URL, else by its text."""
    if url and url.strip():
        key = "url\n" + canonical_url(url)
    else:
        when = ""
        if published_at is not None:
            # Naive times are UTC, as in the contract, so both spellings give one id.
            aware = published_at if published_at.tzinfo else published_at.replace(tzinfo=UTC)
            try:
                when = aware.astimezone(UTC).isoformat()
            except OverflowError:  # an instant just outside datetime's range in UTC keeps its own offset
                when = aware.isoformat()
        key = f"text\n{_normalize(title)}\n{when}\n{_normalize(body)}"
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _normalize(text: str) -> str:
    """Fold compatibility forms, case and whitespace so cosmetic edits keep the id."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())
