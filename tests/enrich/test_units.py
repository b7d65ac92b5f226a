"""Unit tests of the small modules: casing, places, linking, keywords, summary, topics."""

from __future__ import annotations

from services.enrich.casing import restore_case
from services.enrich.geo import gazetteer
from services.enrich.keywords import keywords
from services.enrich.linking import link
from services.enrich.ner import RawMention, trim_span
from services.enrich.summary import summarize
from services.enrich.topics import TopicModel


def test_restore_case_keeps_length_and_lowers_known_words() -> None:
    text = "A Potential Alliance Grows\nThe potential alliance between the two countries grows."
    out = restore_case(text)
    assert len(out) == len(text)
    assert out.startswith("A potential alliance grows")
    assert out.splitlines()[1] == text.splitlines()[1]


def test_restore_case_all_caps() -> None:
    out = restore_case("JAPAN BEAT CHINA IN THE FINAL\nJapan beat China in the final on Friday.")
    assert out.startswith("Japan beat China in the final")


def test_gazetteer() -> None:
    gaz = gazetteer()
    us = gaz.place("the U.S.")
    assert us is not None
    assert us.country == "US"
    assert gaz.place("Pyongyang").country == "KP"  # type: ignore[union-attr]
    assert gaz.demonym("North Korean").name == "North Korea"  # type: ignore[union-attr]
    assert gaz.demonym("Russians").country == "RU"  # type: ignore[union-attr]


def test_trim_span_drops_article_and_possessive() -> None:
    text = "the White House's view"
    start, end = trim_span(text, 0, 17)
    assert text[start:end] == "White House"


def test_link_votes_one_type_per_surface() -> None:
    mentions = [
        RawMention(0, 9, "Ann Smith", "PERSON", "PERSON"),
        RawMention(20, 25, "Smith", "ORG", "ORG"),
        RawMention(30, 35, "Smith", "PERSON", "PERSON"),
    ]
    groups = link(mentions)
    assert len(groups) == 1
    assert groups[0].name == "Ann Smith"
    assert groups[0].best_type() == "PERSON"


def test_keywords_skip_entity_spans() -> None:
    body = "Interest rates rose again. Interest rates hit savers, said Mary Jones of the central bank."
    start = body.index("Mary Jones")
    kws = keywords(body, [(start, start + len("Mary Jones"))])
    assert "interest rates" in kws
    assert not any("mary" in k or "jones" in k for k in kws)


def test_summary_skips_headings() -> None:
    body = "A Heading Here\nThe first sentence says what happened today. The second adds detail."
    assert summarize(body).startswith("The first sentence")


def test_topic_model_sport_and_computing() -> None:
    model = TopicModel()
    sport = model.topics(
        "Cup final", "The striker scored twice as the team won the cup final against the champions."
    )
    assert "medtop:15000000" in [sport[0].code, *model.ancestors(sport[0].code)]
    tech = model.topics(
        "New phone", "The software update for the smartphone fixes a security flaw in the browser."
    )
    chain = [tech[0].code, *model.ancestors(tech[0].code)]
    assert "medtop:20000225" in chain or "medtop:13000000" in chain
