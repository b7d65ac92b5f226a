"""Benchmarks: accuracy and throughput of enrichment on reference data kept outside the repository."""

from __future__ import annotations

import os
import resource
import sys
from datetime import UTC, datetime
from pathlib import Path

from services.contracts import RawArticle


def data_dir(sub: str) -> Path:
    """Locate a reference data folder (``$WIRESTREAM_DATA`` or ``../shared/data``); exit when absent."""
    root = Path(os.environ.get("WIRESTREAM_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
    path = root / sub
    if not path.exists():
        sys.exit(f"reference data not found at {path}: set WIRESTREAM_DATA to the shared data folder")
    return path


def article(idx: int, title: str, body: str, language: str | None = None) -> RawArticle:
    """Wrap a text as the raw article the service receives."""
    return RawArticle(
        id=f"bench-{idx}",
        received_at=datetime(2024, 1, 1, tzinfo=UTC),
        title=title.strip() or "untitled",
        body=body,
        language=language,
    )


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
