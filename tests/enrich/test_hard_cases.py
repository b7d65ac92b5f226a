"""Inputs that must degrade gracefully: other languages, odd text, headings, surnames, big batches."""

from __future__ import annotations

from services.contracts import EnrichedArticle
from services.enrich.pipeline import MAX_NER_CHARS, Enricher
from tests.enrich.conftest import Make

GERMAN = (
    "Die Bundesregierung hat am Montag in Berlin ein neues Gesetz zur Förderung erneuerbarer Energien "
    "beschlossen. Der Wirtschaftsminister sagte, die Maßnahmen würden die Strompreise langfristig senken."
)
FRENCH = (
    "Le gouvernement français a présenté mercredi un projet de loi sur la réforme des retraites. "
    "Les syndicats ont appelé à une grève nationale la semaine prochaine à Paris et à Lyon."
)


def _offsets_ok(art: EnrichedArticle) -> None:
    for e in art.entities:
        for m in e.mentions:
            assert art.body[m.start : m.end] == m.text


def test_german_is_enriched_without_english_steps(enricher: Enricher, make: Make) -> None:
    art = enricher.enrich([make("Neues Energiegesetz", GERMAN)])[0]
    assert art.language == "de"
    assert {"ner", "topics", "keywords"} <= art.enrichment.skipped.keys()
    assert art.entities == []
    assert art.summary
    assert art.word_count > 20


def test_french_detected(enricher: Enricher, make: Make) -> None:
    art = enricher.enrich([make("Réforme des retraites", FRENCH)])[0]
    assert art.language == "fr"
    assert "ner" in art.enrichment.skipped


def test_declared_language_is_respected(enricher: Enricher, make: Make) -> None:
    art = enricher.enrich([make("Retraites", FRENCH, language="en")])[0]
    assert art.language == "en"
    assert "ner" not in art.enrichment.skipped


def test_short_numeric_text_stays_english(enricher: Enricher, make: Make) -> None:
    art = enricher.enrich([make("Results", "1. Lazio 3 2 1 0 5 2 7\n2. Roma 3 2 0 1 4 3 6")])[0]
    assert art.language == "en"
    _offsets_ok(art)


def test_all_caps_headline_line_makes_no_junk(enricher: Enricher, make: Make) -> None:
    body = (
        "SHARES SLUMP AS TRADERS FEAR HIGHER RATES\n"
        "Shares in London fell sharply on Tuesday as traders feared the Bank of England would raise "
        "rates, said Tom Baker, an analyst. Baker expects further falls."
    )
    art = enricher.enrich([make("SHARES SLUMP", body)])[0]
    names = {e.name for e in art.entities}
    assert "Tom Baker" in names
    assert not {"SHARES SLUMP", "TRADERS", "Traders", "Baker"} & names
    _offsets_ok(art)


def test_surname_only_mention_joins_and_takes_person_type(enricher: Enricher, make: Make) -> None:
    body = (
        "Angela Merkel met business leaders in Hamburg on Friday. Merkel said the talks were useful, "
        "and Merkel promised a second meeting."
    )
    art = enricher.enrich([make("Talks in Hamburg", body)])[0]
    merkel = next(e for e in art.entities if e.name == "Angela Merkel")
    assert merkel.type == "PERSON"
    assert merkel.count == 3
    assert not [e for e in art.entities if e.name == "Merkel"]
    hamburg = next(e for e in art.entities if e.name == "Hamburg")
    assert hamburg.country == "DE"


def test_country_aliases_merge(enricher: Enricher, make: Make) -> None:
    body = "The U.S. said on Monday that the United States would act. US officials agreed."
    art = enricher.enrich([make("Washington acts", body)])[0]
    us = [e for e in art.entities if e.country == "US" and e.type == "LOCATION"]
    assert len(us) == 1
    assert us[0].name == "United States"
    _offsets_ok(art)


def test_odd_inputs_never_crash(enricher: Enricher, make: Make) -> None:
    bodies = [
        ".",
        "🙂🙂🙂 \u200b\u200b zero width \ufeff and emoji",
        "a" * 5000,
        "\u0000 control \u0007 chars \x1b[31m",
        "Ελληνικά κείμενα και 中文 文本 mixed with English words from Reuters in London.",
        "word " * 25_000,
    ]
    out = enricher.enrich([make(f"t{i}", b) for i, b in enumerate(bodies)])
    assert [a.body for a in out] == [make("t", b).body for b in bodies]
    for art in out:
        _offsets_ok(art)


def test_huge_article_records_truncation(enricher: Enricher, make: Make) -> None:
    body = "Pat Smith visited Paris. " * (MAX_NER_CHARS // 20)
    art = enricher.enrich([make("Long", body)])[0]
    assert "ner.tail" in art.enrichment.skipped
    assert any(e.name == "Pat Smith" for e in art.entities)


def test_batch_keeps_order_and_is_deterministic(enricher: Enricher, make: Make) -> None:
    arts = [make(f"t{i}", f"Article {i}: Jane Doe flew from Madrid to Rome on day {i}.") for i in range(40)]
    first = enricher.enrich(arts)
    second = enricher.enrich(arts)
    assert [a.title for a in first] == [f"t{i}" for i in range(40)]
    strip = {"enriched_at"}
    assert [a.model_dump(exclude=strip) for a in first] == [a.model_dump(exclude=strip) for a in second]
