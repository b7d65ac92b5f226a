"""What enrichment adds never breaks the contract's limits or the store's columns (an article that
validates as posted must validate once enriched, or it is retried and dead-lettered)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.contracts import MAX_TAG, MAX_TAGS, EnrichedArticle, RawArticle
from services.enrich.language import LanguageDetector
from services.enrich.pipeline import MAX_ENTITY_NAME, MAX_LANGUAGE, STORE_KEY, Enricher
from services.enrich.topics import TopicModel
from services.store.db import tables
from tests.enrich.conftest import Make

# A body whose title-cased prose makes one organisation name of 120-odd characters.
LONG_NAME_BODY = (
    "The Southern African Development Community Organ On Politics Defence And Security Cooperation "
    "Extraordinary Ministerial Committee Meeting On Regional Stability In Mozambique opened in Maputo on "
    "Tuesday. Delegates from Zambia attended."
)
PROSE_BODY = (
    "Angela Merkel met business leaders in Hamburg on Friday. Merkel said the talks with the European "
    "Commission were useful, and Hamburg officials agreed."
)


def _valid(art: EnrichedArticle, source_tags: list[str]) -> EnrichedArticle:
    """The enriched article as a consumer reads it: validated again, every source tag kept, in order."""
    again = EnrichedArticle.model_validate(art.model_dump())
    assert again.tags[: len(source_tags)] == source_tags
    assert len(again.tags) <= MAX_TAGS
    assert all(len(t) <= MAX_TAG for t in again.tags)
    for e in again.entities:
        assert len(e.name) <= MAX_ENTITY_NAME
        assert len(e.name.casefold()) <= STORE_KEY
    assert all(len(t.label) <= STORE_KEY for t in again.topics)
    assert again.language is not None
    assert 0 < len(again.language) <= MAX_LANGUAGE
    return again


def test_store_columns_match_the_limits_enrichment_keeps() -> None:
    for column in (
        tables.article_entities.c.name,
        tables.article_entities.c.name_key,
        tables.article_tags.c.tag,
        tables.article_tags.c.tag_key,
        tables.article_topics.c.label,
    ):
        assert getattr(column.type, "length", None) == STORE_KEY, column
    assert tables.articles.c.language.type.length == MAX_LANGUAGE  # type: ignore[attr-defined]


def test_a_hundred_source_tags_leave_no_room_and_are_all_kept(enricher: Enricher, make: Make) -> None:
    tags = [f"desk {i}" for i in range(MAX_TAGS)]
    art = enricher.enrich([make("Merkel in Hamburg", PROSE_BODY, tags=tags)])[0]
    assert any(e.salience >= 0.35 for e in art.entities)  # there was something to add
    assert _valid(art, tags).tags == tags


def test_ninety_nine_tags_and_a_long_salient_name(enricher: Enricher, make: Make) -> None:
    tags = [f"desk {i}" for i in range(MAX_TAGS - 1)]
    art = enricher.enrich([make("Regional summit opens", LONG_NAME_BODY, tags=tags)])[0]
    long_names = [e.name for e in art.entities if len(e.name) > MAX_TAG]
    assert long_names, [e.name for e in art.entities]  # the body does make such a name
    again = _valid(art, tags)
    assert len(again.tags) == MAX_TAGS
    assert not set(long_names) & set(again.tags)


def test_a_name_over_a_hundred_characters_is_an_entity_but_not_a_tag(enricher: Enricher, make: Make) -> None:
    art = enricher.enrich([make("Regional summit opens", LONG_NAME_BODY, tags=["Africa"])])[0]
    again = _valid(art, ["Africa"])
    long_names = [e.name for e in again.entities if len(e.name) > MAX_TAG]
    assert long_names
    assert all(len(t) <= MAX_TAG for t in again.tags)
    assert "Zambia" in {e.name for e in again.entities}


def test_shouted_body_with_a_long_name(enricher: Enricher, make: Make) -> None:
    body = LONG_NAME_BODY.upper() + "\n\n" + LONG_NAME_BODY
    tags = [f"t{i}" for i in range(MAX_TAGS - 2)]
    _valid(enricher.enrich([make("SUMMIT", body, tags=tags)])[0], tags)


def test_source_tags_differing_only_in_case_are_all_kept(enricher: Enricher, make: Make) -> None:
    tags = ["Hamburg", "hamburg", "HAMBURG"]
    art = enricher.enrich([make("Merkel in Hamburg", PROSE_BODY, tags=tags)])[0]
    again = _valid(art, tags)
    assert [t for t in again.tags if t.casefold() == "hamburg"] == tags
    assert "Angela Merkel" in again.tags


@pytest.mark.parametrize("declared", ["-", "_GB", " - "])
def test_a_declaration_without_a_code_is_detected(declared: str) -> None:
    verdict = LanguageDetector().detect(PROSE_BODY, declared)
    assert verdict.code == "en"
    assert verdict.source != "declared"


def test_topic_labels_fit_the_store() -> None:
    assert all(len(c.label) <= STORE_KEY for c in TopicModel().concepts.values())


# --- any tags a client may post, any body ----------------------------------------------------------

_TAG_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=MAX_TAG
)
_WORDS = st.sampled_from(
    [
        "Angela",
        "Merkel",
        "HAMBURG",
        "Southern",
        "African",
        "Development",
        "Community",
        "Organ",
        "On",
        "Politics",
        "Defence",
        "And",
        "Security",
        "Cooperation",
        "Of",
        "The",
        "said",
        "met",
        "in",
        "on",
        "Monday",
        "ß",
        "STRASSE",
        "İSTANBUL",
        "(Reuters)",
        "McDonald's",
        "APPLE'S",
        "Apple's",
        "5%",
        "$2",
        "said.",
        "MET",
        "SAID",
        "IN",
        "KHARKIV",
        "LE",
        "PEN",
        "—",
        ".",
        ",",
        "\n",
        "\n\n",
    ]
)
_BODY = st.one_of(
    st.lists(_WORDS, min_size=1, max_size=80).map(" ".join),
    st.text(min_size=1, max_size=400),
).filter(str.strip)


@st.composite
def _tags(draw: st.DrawFn) -> list[str]:
    # Any list ArticleIn accepts, drawn often at or near the limit of MAX_TAGS distinct tags.
    size = draw(st.one_of(st.integers(0, MAX_TAGS), st.integers(MAX_TAGS - 4, MAX_TAGS)))
    distinct = st.lists(_TAG_TEXT.filter(str.strip), min_size=size, max_size=size, unique_by=str.strip)
    return draw(st.one_of(distinct, st.lists(_TAG_TEXT, max_size=size)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tags=_tags(), body=_BODY, title=st.sampled_from(["t", "HAMBURG"]))
def test_any_valid_tags_and_body_enrich_to_a_valid_article(
    enricher: Enricher, tags: list[str], body: str, title: str
) -> None:
    raw = RawArticle.model_validate(
        {
            "id": "t",
            "received_at": datetime(2024, 1, 15, tzinfo=UTC),
            "title": title,
            "body": body,
            "tags": tags,
        }
    )
    art = enricher.enrich([raw])[0]
    _valid(art, raw.tags)
    failed = {k: v for k, v in art.enrichment.skipped.items() if v.startswith("failed")}
    assert not failed, failed
