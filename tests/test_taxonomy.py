"""The shipped IPTC Media Topics parent map: faithful to the IPTC release, and how topics roll up."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from services.taxonomy import TABLE, RolledTopic, Taxonomy, TopicNode, build_table, is_topic_code, taxonomy

DATA = Path(os.environ.get("WIRESTREAM_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
SOURCE = DATA / "iptc" / "medtop_en-US.csv"
needs_source = pytest.mark.skipif(not SOURCE.exists(), reason=f"IPTC release not found at {SOURCE}")


@needs_source
def test_the_shipped_table_is_the_iptc_release_trimmed() -> None:
    with SOURCE.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))

    assert TABLE.read_text(encoding="utf-8") == build_table(SOURCE)  # rebuilt from the source, unchanged
    shipped = taxonomy()
    assert len(shipped) == len(rows) == 1370
    for row in rows:
        node = shipped.nodes[row["qcode"]]
        assert node.parent == (row["parent_qcode"] or None)
        assert node.label == (" ".join(row["label"].split()) or "media and entertainment industry")


def test_ancestors_run_from_the_nearest_to_the_top() -> None:
    shipped = taxonomy()

    assert shipped.ancestors("medtop:20000578") == ["medtop:20000574", "medtop:11000000"]  # local elections
    assert shipped.lineage("medtop:11000000") == ["medtop:11000000"]
    assert shipped.ancestors("medtop:99999999") == []
    assert shipped.label("medtop:15000000") == "sport"
    assert {"medtop:20000574", "medtop:20000578"} <= shipped.descendants("medtop:11000000")
    assert all(shipped.nodes[c].parent is None for c in (f"medtop:{n:02d}000000" for n in range(1, 18)))


def test_every_concept_reaches_a_top_level_concept() -> None:
    shipped = taxonomy()
    tops = {c for c, node in shipped.nodes.items() if node.parent is None}

    assert len(tops) == 17
    for code in shipped.nodes:
        assert shipped.lineage(code)[-1] in tops


def test_roll_up_adds_ancestors_with_the_best_score_below_them() -> None:
    rolled = taxonomy().roll_up(
        [("medtop:20000578", "local vote", 0.4), ("medtop:20000621", "policy", 0.9), ("x:1", "odd", 0.1)]
    )

    assert {t.code: t for t in rolled} == {
        "medtop:20000578": RolledTopic("medtop:20000578", "local elections", 0.4, True),
        "medtop:20000574": RolledTopic("medtop:20000574", "election", 0.4, False),
        "medtop:20000621": RolledTopic("medtop:20000621", "government policy", 0.9, True),
        "medtop:11000000": RolledTopic("medtop:11000000", "politics", 0.9, False),
        "x:1": RolledTopic("x:1", "odd", 0.1, True),  # unknown codes are kept, with the article's label
    }


def test_a_cycle_in_a_damaged_table_ends() -> None:
    looped = Taxonomy({"a": TopicNode("a", "b", "A"), "b": TopicNode("b", "a", "B")})

    assert looped.ancestors("a") == ["b"]


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("medtop:11000000", True),
        ("medtop:20000574", True),
        ("medtop:1100000", False),
        ("MEDTOP:11000000", False),
        ("subj:11000000", False),
        ("medtop:11000000 ", False),
        ("politics", False),
    ],
)
def test_topic_code_shape(code: str, valid: bool) -> None:
    assert is_topic_code(code) is valid


def test_enrichment_scores_against_the_same_table_the_store_rolls_up_with() -> None:
    from services.enrich.topics import load_taxonomy

    concepts = load_taxonomy()
    in_force = {node.code: node for node in taxonomy().in_force()}
    assert set(concepts) == set(in_force)
    assert all(
        c.label == in_force[c.code].label and c.level == in_force[c.code].level for c in concepts.values()
    )
    assert len(in_force) < len(taxonomy())  # retired concepts still roll up in the store
