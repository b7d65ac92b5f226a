"""Topics on short made-up articles: sections, entity cues and the legislative context."""

from __future__ import annotations

import pytest

from services.contracts import EnrichedArticle, Entity
from services.enrich.keywords import keywords, subheadings
from services.enrich.pipeline import Enricher
from services.enrich.topics import EntityRule, TopicModel, terms
from tests.enrich.conftest import Make

SOFTWARE_LAUNCH = (
    "Brightwell Software Inc launched a new version of its office software on Tuesday, adding tools that "
    "let users edit documents together over the internet from a laptop, tablet or smartphone.\n"
    "The company said the program stores files on its own secure servers and updates itself "
    "automatically. Brightwell Software shares rose 4% on the Nasdaq after the launch."
)
FOOTBALL = (
    "Danny Reyes scored twice as Harbour City beat Westfield Rovers 3-1 in the league on Saturday.\n"
    "The striker headed the opener after ten minutes, and the visitors' goalkeeper was sent off before "
    "half-time. Westfield's manager said his players had let the fans down, while the win lifts City "
    "to second in the table."
)
PARLIAMENT_BILL = (
    "MPs debated the government's criminal justice bill in the Commons on Wednesday.\n"
    "The justice secretary said the legislation would give courts tougher sentences for burglary and "
    "knife crime and help police tackle gangs. Opposition MPs said the bill would fill prisons without "
    "cutting crime, and several backbenchers said they would vote for an amendment. The bill passed "
    "its second reading by 301 votes to 244 and now goes to committee before the Lords."
)
RATE_DECISION = (
    "The central bank raised its benchmark interest rate by a quarter of a percentage point to 4.5% on "
    "Thursday, its second rise this year, to bring inflation back towards its 2% target.\n"
    "The governor said consumer spending and wage growth were stronger than expected. Economists said "
    "the decision would lift mortgage costs, and the currency rose against the dollar."
)


@pytest.fixture(scope="module")
def model() -> TopicModel:
    """The shipped topic model."""
    return TopicModel()


def _first_chain(art: EnrichedArticle, model: TopicModel) -> list[str]:
    assert art.topics
    first = art.topics[0].code
    return [first, *model.ancestors(first)]


@pytest.mark.parametrize(
    ("title", "body", "expected"),
    [
        ("Brightwell launches online office software", SOFTWARE_LAUNCH, "medtop:20000225"),
        ("City beat Rovers to go second", FOOTBALL, "medtop:15000000"),
        ("MPs back criminal justice bill", PARLIAMENT_BILL, "medtop:11000000"),
        ("Central bank raises interest rates", RATE_DECISION, "medtop:04000000"),
    ],
)
def test_first_topic_through_the_enricher(
    enricher: Enricher, make: Make, model: TopicModel, title: str, body: str, expected: str
) -> None:
    art = enricher.enrich([make(title, body)])[0]
    assert expected in _first_chain(art, model)


def test_parliament_bill_is_not_crime(model: TopicModel) -> None:
    topics = model.topics("MPs back criminal justice bill", PARLIAMENT_BILL)
    assert "medtop:02000000" not in [topics[0].code, *model.ancestors(topics[0].code)]


def test_legislative_words_damp_crime(model: TopicModel) -> None:
    crime = "Police said the gang was jailed after a trial over knife crime and burglary."
    plain = model.combined("Gang jailed", crime)
    debated = model.combined("Gang jailed", crime + " MPs will vote on a bill in parliament.")
    assert debated["medtop:02000000"] / plain["medtop:02000000"] < 0.9


def test_rate_decision_reaches_the_economy_concept(model: TopicModel) -> None:
    topics = model.topics("Central bank raises interest rates", RATE_DECISION)
    assert "medtop:20000344" in [topics[0].code, *model.ancestors(topics[0].code)]


def test_organisation_names_point_at_topics(model: TopicModel) -> None:
    def org(name: str, count: int = 3) -> Entity:
        return Entity(name=name, type="ORG", count=count, mentions=[])

    evidence = model.entity_evidence([org("Brightwell Software Inc"), org("Arsenal FC", 1)])
    assert evidence["medtop:20000225"] == 1.0
    assert evidence["medtop:04000000"] == 1.0
    assert 0 < evidence["medtop:15000000"] < 1.0
    assert model.entity_evidence([Entity(name="Apple", type="PERSON", count=3, mentions=[])]) == {}


def test_entity_rule_positions() -> None:
    last = EntityRule("medtop:04000000", "last", frozenset({"Inc"}))
    first = EntityRule("medtop:04000000", "first", frozenset({"PT"}))
    any_ = EntityRule("medtop:20000344", "any", frozenset({"Bank of England", "Fed"}))
    assert last.matches(["Acme", "Inc"]) and not last.matches(["Inc", "Acme"])
    assert first.matches(["PT", "Timah"]) and not first.matches(["Timah", "PT"])
    assert any_.matches(["the", "Bank", "of", "England"]) and any_.matches(["Fed"])
    assert not any_.matches(["Bank", "of", "Scotland"])


def test_computing_wins_over_generic_business(model: TopicModel) -> None:
    body = (
        "The chipmaker unveiled a faster processor for laptops and desktop computers. "
        "The chip uses less power, and PC makers will ship machines with it next year."
    )
    topics = model.topics("Chipmaker unveils faster processor", body)
    assert topics[0].code == "medtop:20000225"
    assert model.ancestors(topics[0].code)[-1] == "medtop:04000000"


def test_phrases_keep_their_sense() -> None:
    assert "union" not in terms("Rugby union: Wales beat Italy")
    assert "union" not in terms("The European Union agreed")
    assert "videogam" in terms("a new video game")


def test_subheadings_are_short_lines_without_final_punctuation() -> None:
    body = (
        "Markets rallied on Monday as investors cheered strong results.\n"
        "Deepening Ties Amidst Allegations\n"
        "Deepening ties amidst allegations were noted again by analysts, and deepening ties amidst "
        "allegations dominated trading in the afternoon session.\n"
        "Reporting by Jo Bloggs"
    )
    spans = [body[a:b] for a, b in subheadings(body)]
    assert spans == ["Deepening Ties Amidst Allegations", "Reporting by Jo Bloggs"]
    kws = keywords(body, [])
    assert "deepening ties amidst" in kws or "ties amidst allegations" in kws  # the prose still counts
    assert not any("bloggs" in k or "reporting" in k for k in kws)
