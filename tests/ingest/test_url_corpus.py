"""The URL corpus (tests/data/urls.json): variants of real-shaped news URLs and pairs that must stay apart."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from services.ingest.identity import article_id, canonical_url

CORPUS: dict[str, Any] = json.loads((Path(__file__).parents[1] / "data" / "urls.json").read_text("utf-8"))


def _id(url: str) -> str:
    return article_id(title="T", body="B", published_at=None, url=url)


@pytest.mark.parametrize("group", CORPUS["same_story"], ids=lambda g: g["site"])
def test_every_variant_of_a_story_has_its_canonical_url(group: dict[str, Any]) -> None:
    assert canonical_url(group["canonical"]) == group["canonical"]
    wrong = {v: canonical_url(v) for v in group["variants"] if canonical_url(v) != group["canonical"]}
    assert wrong == {}
    assert {_id(v) for v in group["variants"]} == {_id(group["canonical"])}


@pytest.mark.parametrize("group", CORPUS["different_stories"], ids=lambda g: g["why"])
def test_urls_of_different_stories_keep_different_ids(group: dict[str, Any]) -> None:
    for one, two in itertools.combinations(group["urls"], 2):
        assert _id(one) != _id(two), (one, two)


def test_stories_of_different_groups_keep_different_ids() -> None:
    canonical = [g["canonical"] for g in CORPUS["same_story"]]
    assert len({_id(u) for u in canonical}) == len(canonical)
