"""Letter case: datelines, all-caps headlines and paragraphs give one properly cased entity per thing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.contracts import EnrichedArticle
from services.enrich.casing import datelines, recase, restore_case
from services.enrich.geo import fold, gazetteer
from services.enrich.linking import CUE, DATELINE, complete, link, spelling
from services.enrich.names import display_name, lower, title_word
from services.enrich.ner import RawMention, line_pieces, trim_span
from services.enrich.pipeline import Enricher
from services.enrich.resolve import Resolver
from tests.enrich.conftest import Make

CORPUS = Path(__file__).resolve().parents[1] / "data" / "letter_case.json"
ISSUE_BODY = (
    "MADRID (AP) — PRIME MINISTER PEDRO SÁNCHEZ SAID ON MONDAY THAT PORTUGAL WOULD JOIN THE PLAN "
    "(run 123).\n\nPedro Sánchez spoke in Madrid after meeting regional leaders. Officials in Madrid "
    "said talks would go on."
)

Triple = tuple[str, str, str | None]


def _triples(art: EnrichedArticle) -> set[Triple]:
    return {(e.name, e.type, e.country) for e in art.entities}


def _check_shape(art: EnrichedArticle) -> None:
    """Mentions are the body as given, and no two entities differ only by letter case."""
    for e in art.entities:
        for m in e.mentions:
            assert art.body[m.start : m.end] == m.text
    folded = [e.name.casefold() for e in art.entities]
    assert len(folded) == len(set(folded)), folded


# --- the issue's acceptance check, through the enricher -------------------------------------------


def test_issue_example(enricher: Enricher, make: Make) -> None:
    art = enricher.enrich([make("Spain joins plan", ISSUE_BODY)])[0]
    _check_shape(art)
    triples = _triples(art)
    assert ("Madrid", "LOCATION", "ES") in triples
    assert ("Pedro Sánchez", "PERSON", None) in triples
    assert any(e.country == "PT" for e in art.entities)
    by_name = {e.name: e for e in art.entities}
    assert [m.text for m in by_name["Madrid"].mentions] == ["MADRID", "Madrid", "Madrid"]
    assert [m.text for m in by_name["Pedro Sánchez"].mentions] == ["PEDRO SÁNCHEZ", "Pedro Sánchez"]
    assert ("Portugal", "LOCATION", "PT") in triples
    assert "AP" not in by_name  # the dateline's agency credit is not an entity


def test_names_only_in_capitals_are_title_cased(enricher: Enricher, make: Make) -> None:
    body = "WARSAW (AP) — POLISH PRESIDENT ANDRZEJ DUDA MET LITHUANIAN LEADERS IN VILNIUS ON FRIDAY."
    art = enricher.enrich([make("Meeting", body)])[0]
    _check_shape(art)
    triples = _triples(art)
    assert {("Warsaw", "LOCATION", "PL"), ("Polish", "MISC", "PL")} <= triples
    assert ("Andrzej Duda", "PERSON", None) in triples
    # The model types Vilnius as an organisation even in prose; its spelling is what matters here.
    assert "Vilnius" in {e.name for e in art.entities}


def test_wire_agency_credits_make_no_entities(enricher: Enricher, make: Make) -> None:
    bodies = [
        "WASHINGTON (Reuters) - The Senate passed the bill on Friday.",
        "PARIS, March 3 (AFP) — Farmers blocked roads near Paris on Monday.",
        "BERLIN (dpa) - Trains in Germany were cancelled because of a strike.",
        "MADRID (AP) — Spain reported a record number of visitors.",
    ]
    for art in enricher.enrich([make("t", b) for b in bodies]):
        _check_shape(art)
        names = {e.name.casefold() for e in art.entities}
        assert not names & {"reuters", "afp", "dpa", "ap"}, names


# --- the corpus ---------------------------------------------------------------------------------


def _corpus() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(CORPUS.read_text(encoding="utf-8"))["cases"]
    return cases


@pytest.mark.parametrize("case", _corpus(), ids=lambda c: str(c["id"]))
def test_corpus(case: dict[str, Any], enricher: Enricher, make: Make) -> None:
    art = enricher.enrich([make(case["id"], case["body"])])[0]
    _check_shape(art)
    triples = _triples(art)
    expected = {(n, t, c) for n, t, c in case["expect"]}
    assert expected <= triples, sorted(expected - triples, key=str)
    counts = {e.name: e.count for e in art.entities}
    for name, count in case["counts"].items():
        assert counts.get(name) == count, (name, counts)
    folded = {e.name.casefold() for e in art.entities}
    assert not {a.casefold() for a in case["absent"]} & folded


# --- properties through the enricher ---------------------------------------------------------------

# Prose written for these tests; every name is one the model finds in ordinary prose.
PROSE = [
    [
        "Pedro Sánchez spoke in Madrid after meeting regional leaders on Monday.",
        "Officials in Madrid said talks with Portugal would go on next week.",
        "Sánchez said the plan had wide support in Spain.",
    ],
    [
        "Angela Merkel met business leaders in Hamburg on Friday.",
        "Merkel said the talks with the European Commission were useful.",
        "The meeting in Hamburg ended with a promise of further talks in Berlin.",
    ],
    [
        "Emmanuel Macron arrived in Rome on Tuesday for talks with Giorgia Meloni.",
        "Macron and Meloni discussed migration and energy prices.",
        "Officials in Rome said a joint statement would follow.",
    ],
    [
        "Fumio Kishida met Joe Biden in Washington on Thursday to discuss trade with China.",
        "Kishida told reporters in Washington that Japan would raise defence spending.",
        "Biden said the United States welcomed the decision.",
    ],
    [
        "Keir Starmer met Giorgia Meloni in Rome on Tuesday to discuss migration across the Mediterranean.",
        "Starmer said the talks with Italy had been useful and that Britain would help.",
        "Officials in London said a joint statement would follow next week.",
    ],
]
PLACES = [
    *["MADRID", "PARIS", "LONDON", "BERLIN", "ROME", "TOKYO", "NEW YORK", "BOGOTÁ", "BUENOS AIRES"],
    *["KYIV", "SÃO PAULO", "SAO PAULO, Brazil", "BEIJING/TOKYO", "WASHINGTON/NEW YORK"],
]


@st.composite
def _dateline(draw: st.DrawFn) -> str:
    place = draw(st.sampled_from(PLACES))
    date = draw(st.sampled_from(["", ", March 3", ", Jan 12"]))
    credit = draw(st.sampled_from(["", " (AP)", " (Reuters)", " (AFP)", " (dpa)"]))
    dash = draw(st.sampled_from(["—", "-", "–"]))
    return f"{place}{date}{credit} {dash} "


def _near(art: EnrichedArticle, spans: list[tuple[int, int]]) -> set[Triple]:
    # Entities with a mention inside the given stretches, by case-folded name.
    return {
        (e.name.casefold(), e.type, e.country)
        for e in art.entities
        if any(s <= m.start and m.end <= t for m in e.mentions for s, t in spans)
    }


@settings(deadline=None, max_examples=30)
@given(
    paragraphs=st.sampled_from(PROSE),
    shout=st.sets(st.integers(0, 2), max_size=2),
    dateline=st.one_of(st.just(""), _dateline()),
)
def test_capitals_do_not_change_the_entities_of_the_prose(
    enricher: Enricher, make: Make, paragraphs: list[str], shout: set[int], dateline: str
) -> None:
    base = enricher.enrich([make("t", "\n\n".join(paragraphs))])[0]
    body = dateline + "\n\n".join(p.upper() if i in shout else p for i, p in enumerate(paragraphs))
    art = enricher.enrich([make("t", body)])[0]
    _check_shape(art)
    before: list[tuple[int, int]] = []
    after: list[tuple[int, int]] = []
    pos = 0
    for i, p in enumerate(paragraphs):
        if i not in shout:
            before.append((pos, pos + len(p)))
            after.append((len(dateline) + pos, len(dateline) + pos + len(p)))
        pos += len(p) + 2
    assert _near(art, after) == _near(base, before)


# --- the pieces ---------------------------------------------------------------------------------


_PIECES = [
    *"ABCDEOSUÉÑßİΣÃÜabcéñãü .,-—–()\n'’0123456789",
    *["SAO ", "PAULO ", "São Paulo ", "ZURICH ", "MADRID ", "SÁNCHEZ ", "Sánchez ", "McDONALD "],
    *[" (AP) — ", "\n\n", "NATO ", "İSTANBUL ", "PRIME MINISTER ", "SAID "],
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=40).map("".join))
def test_restore_case_changes_only_letter_case_and_dateline_dashes(text: str) -> None:
    out = restore_case(text)
    assert len(out) == len(text)
    for a, b in zip(text, out, strict=True):
        # "İ" in lower case is "i" (str.casefold would add a combining dot and change the length).
        same = a.casefold() == b.casefold() or lower(a) == lower(b)
        assert a == b or same or (a in "—–- " and b in ". "), (text, out)


def test_restore_case_datelines() -> None:
    body = "WASHINGTON (Reuters) - OFFICIALS SAID ON FRIDAY that Senator Elizabeth Warren would speak."
    out = restore_case(body)
    assert out.startswith("Washington (Reuters) . Officials said on Friday that Senator Elizabeth")
    assert restore_case("LONDON — Prices rose.").startswith("London . Prices rose.")
    assert restore_case("PARIS, March 3 (AFP) — Hi.").startswith("Paris, March 3 (AFP) . ")


def test_restore_case_uses_the_prose_spelling() -> None:
    out = restore_case(ISSUE_BODY)
    assert out.startswith("Madrid (AP) . Prime minister Pedro Sánchez said on Monday that Portugal would")
    assert out[len(ISSUE_BODY) // 2 :] == ISSUE_BODY[len(ISSUE_BODY) // 2 :]


def test_restore_case_names_acronyms_and_common_words() -> None:
    out = restore_case("THE FBI AND NATO WARNED SUPERINTENDENT KIRSTY McDONALD IN GLASGOW.")
    assert out == "The FBI and NATO warned superintendent Kirsty McDonald in Glasgow."


def test_datelines_find_place_credit_and_dash() -> None:
    body = "Headline here\nBERLIN (dpa) - Text.\nROME 1996-12-06\nSOCCER - RESULTS ."
    found = datelines(body)
    assert [body[slice(*d.place)] for d in found] == ["BERLIN", "ROME", "SOCCER"]
    assert [None if d.credit is None else body[slice(*d.credit)] for d in found] == ["dpa", None, None]
    assert [d.certain for d in found] == [True, True, False]


def test_datelines_with_several_places_and_a_country() -> None:
    body = (
        "BEIJING/TOKYO (Reuters) — Talks.\n"
        "HONG KONG / SINGAPORE, May 3 (Reuters) - Shares.\n"
        "SAO PAULO, Brazil (AP) — X."
    )
    found = datelines(body)
    assert [[body[s:e] for s, e in d.places] for d in found] == [
        ["BEIJING", "TOKYO"],
        ["HONG KONG", "SINGAPORE"],
        ["SAO PAULO"],
    ]
    assert [body[slice(*d.credit)] for d in found if d.credit] == ["Reuters", "Reuters", "AP"]
    assert found[2].rest is not None
    assert body[slice(*found[2].rest)].strip(" ,") == "Brazil"
    assert restore_case(body).startswith("Beijing/Tokyo (Reuters) . Talks.\nHong Kong / Singapore, May 3")


@pytest.mark.parametrize(
    ("text", "cued", "recased"),
    [
        (
            "MICHEL BARNIER SAID ON MONDAY.",
            [("MICHEL BARNIER", "PERSON", True)],
            "Michel Barnier said on Monday.",
        ),
        ("MARINE LE PEN DENIED IT.", [("MARINE LE PEN", "PERSON", True)], "Marine Le Pen denied it."),
        ("PRESIDENT XI JINPING ARRIVED.", [("XI JINPING", "PERSON", True)], "President Xi Jinping arrived."),
        (
            "KISHIDA MET XI JINPING ON FRIDAY.",
            [("XI JINPING", "PERSON", True)],
            "Kishida met Xi Jinping on Friday.",
        ),
        ("THE WORLD TRADE ORGANIZATION SAID SO.", [("WORLD TRADE ORGANIZATION", "ORG", True)], None),
        (
            "POLICE IN GLASGOW ARRESTED TWO MEN.",
            [("GLASGOW", "LOCATION", True)],
            "Police in Glasgow arrested two men.",
        ),
        ("LE PEN denied it on Friday.", [("LE PEN", "PERSON", True)], "Le Pen denied it on Friday."),
        (
            "Sirens sounded. In KHARKIV, rescuers dug.",
            [("KHARKIV", "LOCATION", True)],
            "Sirens sounded. In Kharkiv, rescuers dug.",
        ),
        ("Troops left AVDIIVKA after weeks.", [], "Troops left AVDIIVKA after weeks."),
        ("Troops withdrew from AVDIIVKA after weeks.", [("AVDIIVKA", "LOCATION", False)], None),
        ("The mayor of SAO PAULO resigned.", [], "The mayor of Sao Paulo resigned."),
        # Common words are no name, however placed; a town named like one is no place after "in".
        (
            "THE OIL PRICE WAS HIGHER IN SURPRISE TRADING.",
            [],
            "The oil price was higher in surprise trading.",
        ),
        ("BUSINESS LEADERS MET VOLKSWAGEN WORKERS ON MONDAY.", [], None),
        (
            "TUSK MET EMMANUEL MACRON ON MONDAY.",
            [("EMMANUEL MACRON", "PERSON", True)],
            "Tusk met Emmanuel Macron on Monday.",
        ),
        ("Talks in GENEVA and BERN ended.", [("GENEVA", "LOCATION", True), ("BERN", "LOCATION", True)], None),
        # Words in capitals inside prose stay as written without a cue: acronyms, brands, tickers.
        (
            "Shares of BILO food stores rose as UBS and NATO said.",
            [],
            "Shares of BILO food stores rose as UBS and NATO said.",
        ),
    ],
)
def test_recase_reads_names_from_the_shape_of_the_sentence(
    text: str, cued: list[tuple[str, str, bool]], recased: str | None
) -> None:
    out = recase(text)
    assert [(text[c.start : c.end], c.type, c.strong) for c in out.cues] == cued
    if recased is not None:
        assert out.text == recased


def test_recase_gives_the_prose_spelling_of_words() -> None:
    out = recase("PEDRO SANCHEZ SAID SO.\nLater Sánchez and Kılıçdaroğlu spoke.\nKılıçdaroğlu left.")
    assert out.spellings["sanchez"] == "Sánchez"
    assert out.spellings["kilicdaroglu"] == "Kılıçdaroğlu"


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("SÁNCHEZ", "Sánchez"),
        ("O'NEILL", "O'Neill"),
        ("McDONALD", "McDonald"),
        ("MCDONALD", "McDonald"),
        ("MacDONALD", "MacDonald"),
        ("AL-AIN", "Al-Ain"),
        ("JEAN-LUC", "Jean-Luc"),
        ("U.S.", "U.S."),
        ("ÉLYSÉE", "Élysée"),
        # The Turkish capital İ is "i" in lower case, with no combining dot added.
        ("DİYARBAKIR", "Diyarbakir"),
        ("ŞİMŞEK", "Şimşek"),
        ("İSTANBUL", "İstanbul"),
    ],
)
def test_title_word(word: str, expected: str) -> None:
    assert title_word(word) == expected
    assert len(title_word(word)) == len(word)


def test_turkish_letters_fold_to_one_name() -> None:
    assert fold("KILIÇDAROĞLU") == fold("Kılıçdaroğlu") == fold("Kiliçdaroğlu")
    assert fold("İSTANBUL") == fold("Istanbul") == fold("istanbul")
    assert gazetteer().place("DİYARBAKIR").name == "Diyarbakır"  # type: ignore[union-attr]
    assert gazetteer().place("DIYARBAKIR").country == "TR"  # type: ignore[union-attr]
    assert display_name("KEMAL KILIÇDAROĞLU") == "Kemal Kiliçdaroğlu"
    assert (
        spelling(["KEMAL KILIÇDAROĞLU"], "PERSON", {"kilicdaroglu": "Kılıçdaroğlu"}) == "Kemal Kılıçdaroğlu"
    )


@pytest.mark.parametrize(
    ("span", "kept"),
    [
        ("National Rally.", "National Rally"),
        ("the U.S.", "U.S."),
        ("Acme Inc.", "Acme Inc."),
        ("John F.", "John F."),
        ("McDONALD'S", "McDONALD"),
        ("Mines and", "Mines"),
        ("Bank of England", "Bank of England"),
    ],
)
def test_trim_span_keeps_abbreviations_not_sentence_ends(span: str, kept: str) -> None:
    start, end = trim_span(span, 0, len(span))
    assert span[start:end] == kept


def test_display_name_keeps_acronyms() -> None:
    assert display_name("NATO") == "NATO"
    assert display_name("AP") == "AP"
    assert display_name("FBI") == "FBI"
    assert display_name("KIM", short_upper=False) == "Kim"
    assert display_name("BANK OF ENGLAND") == "Bank of England"
    assert display_name("PEDRO SÁNCHEZ") == "Pedro Sánchez"
    assert display_name("NATO SUMMIT") == "NATO Summit"
    assert display_name("McDonald") == "McDonald"


def _m(start: int, text: str, etype: str) -> RawMention:
    return RawMention(start, start + len(text), text, etype, etype)  # type: ignore[arg-type]


def test_link_groups_by_case_folded_name_and_prefers_prose_spelling() -> None:
    resolve = Resolver(gazetteer())
    groups = link(
        [
            _m(0, "MADRID", "LOCATION"),
            _m(20, "PEDRO SÁNCHEZ", "PERSON"),
            _m(50, "PORTUGAL", "LOCATION"),
            _m(80, "Pedro Sánchez", "PERSON"),
            _m(100, "Madrid", "LOCATION"),
            _m(130, "SÁNCHEZ", "PERSON"),
            _m(150, "NATO", "ORG"),
            _m(160, "SANCHEZ", "PERSON"),
        ],
        resolve,
    )
    named = {g.name: (g.best_type(), g.country, len(g.mentions)) for g in groups}
    assert named == {
        "Madrid": ("LOCATION", "ES", 2),
        "Pedro Sánchez": ("PERSON", None, 4),
        "Portugal": ("LOCATION", "PT", 1),
        "NATO": ("ORG", None, 1),
    }


def test_link_types_what_the_copy_says_over_the_model_votes() -> None:
    resolve = Resolver(gazetteer())
    groups = link(
        [
            RawMention(0, 4, "KYIV", "LOCATION", DATELINE),
            _m(30, "Kyiv", "PERSON"),
            _m(60, "Kyiv", "PERSON"),
            RawMention(80, 99, "VOLODYMYR ZELENSKIY", "PERSON", CUE),
            _m(120, "Zelenskiy", "ORG"),
            _m(140, "Le", "PERSON"),
            _m(150, "McDonald's", "ORG"),
            _m(170, "McDonald", "ORG"),
            RawMention(190, 198, "SAN JOSE", "LOCATION", DATELINE, "CR"),
        ],
        resolve,
    )
    named = {g.name: (g.best_type(), g.country, len(g.mentions)) for g in groups}
    assert named == {
        "Kyiv": ("LOCATION", "UA", 3),
        "Volodymyr Zelenskiy": ("PERSON", None, 2),
        "McDonald's": ("ORG", None, 2),
        "San Jose": ("LOCATION", "CR", 1),
    }


def test_complete_adds_the_mentions_the_model_missed() -> None:
    text = "OLAF SCHOLZ SAID SO. Later Scholz and Bush met. Olaf Scholz left May 2. Kyiv said. KYIV."
    groups = link(
        [
            RawMention(0, 11, "OLAF SCHOLZ", "PERSON", CUE),
            _m(text.index("Bush"), "Bush", "PERSON"),
            _m(text.index("Kyiv"), "Kyiv", "LOCATION"),
        ]
    )
    complete(groups, text, lambda w: w in {"bush", "may"})
    found = {g.name: [m.text for m in g.mentions] for g in groups}
    assert found == {
        "Olaf Scholz": ["OLAF SCHOLZ", "Scholz", "Olaf Scholz"],
        "Bush": ["Bush"],  # a common word is found by the model or not at all
        "Kyiv": ["Kyiv", "KYIV"],
    }


def test_gazetteer_reads_capitals_but_not_lower_case() -> None:
    gaz = gazetteer()
    assert gaz.place("PORTUGAL").country == "PT"  # type: ignore[union-attr]
    assert gaz.place("MADRID").country == "ES"  # type: ignore[union-attr]
    assert gaz.demonym("FRENCH").country == "FR"  # type: ignore[union-attr]
    assert gaz.place("us") is None
    # Capitals often drop accents; a spelling without them wins when both exist.
    assert gaz.place("ZURICH").name == "Zürich"  # type: ignore[union-attr]
    assert gaz.place("SAN JOSE").country == "US"  # type: ignore[union-attr]
    assert gaz.place("SAN JOSÉ").country == "CR"  # type: ignore[union-attr]


def test_line_pieces_cut_short_lines_only() -> None:
    text = "Edna Fernandes\nLONDON 1996-12-06"
    assert [text[s:e] for s, e in line_pieces(text, 0, 21)] == ["Edna Fernandes", "LONDON"]
    wrapped = "x" * 60 + " the United\nNations said"
    start = wrapped.index("United")
    assert line_pieces(wrapped, start, start + len("United\nNations")) == [(start, start + 14)]
