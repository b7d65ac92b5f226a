"""Fixtures: one Enricher per session (loading spaCy is the slow part) and article builders."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.contracts import EnrichedArticle, RawArticle
from services.enrich.pipeline import Enricher

SEED = Path(__file__).resolve().parents[2] / "seeds" / "000_dccf1c9c5e5a1b50.txt"
SEED_TAG_LINE = "International Relations North Korea Russia"

Make = Callable[..., RawArticle]


@pytest.fixture(scope="session")
def enricher() -> Enricher:
    """The enricher with the installed spaCy model, loaded once."""
    return Enricher()


@pytest.fixture(scope="session")
def make() -> Make:
    """Build a raw article from a title and a body."""

    def build(title: str, body: str, **extra: object) -> RawArticle:
        return RawArticle.model_validate(
            {
                "id": "t",
                "received_at": datetime(2024, 1, 15, tzinfo=UTC),
                "title": title,
                "body": body,
                **extra,
            }
        )

    return build


@pytest.fixture(scope="session")
def seed(enricher: Enricher, make: Make) -> EnrichedArticle:
    """The seed article (cleaned body between the repeated headline and the tag line), enriched."""
    lines = SEED.read_text(encoding="utf-8").splitlines()
    title = lines[3]
    second = [i for i, line in enumerate(lines) if line == title][1]
    body = "\n".join(lines[second + 1 : lines.index(SEED_TAG_LINE)]).strip()
    art = make(title, body, tags=["International Relations", "North Korea", "Russia"], source="bnn")
    return enricher.enrich([art])[0]
