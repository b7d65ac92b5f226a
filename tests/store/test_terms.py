"""The tokenizer both engines index and search with: punctuated words, scripts without spaces, limits."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.store.db import terms
from services.store.db.terms import HOLE, MAX_OCCURRENCES, MAX_POSITIONS, MAX_TERM_CHARS, index

PROPERTY = settings(max_examples=300, deadline=None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # punctuated words split into their letters and digits; the query splits them the same way
        ("e-mail", ["e", "mail"]),
        ("Wi-Fi", ["wi", "fi"]),
        ("F.B.I.", ["f", "b", "i"]),
        ("O'Brien", ["o", "brien"]),
        ("O’Brien’s", ["o", "brien", "s"]),
        ("3.5%", ["3", "5"]),
        ("2,4 %", ["2", "4"]),
        ("B2B", ["b2b"]),
        ("covid-19", ["covid", "19"]),
        ("COVID\u201119", ["covid", "19"]),  # a non-breaking hyphen
        ("snake_case", ["snake", "case"]),
        ("£4.2m", ["4", "2m"]),
        # stemming, case and accents
        ("Elections ELECTION elected", ["elect", "elect", "elect"]),
        ("café CAFÉ cafe\u0301", ["cafe", "cafe", "cafe"]),
        ("Łódź Søren İstanbul Straße", ["lodz", "soren", "istanbul", "strass"]),
        ("Hà Nội đường", ["ha", "noi", "duong"]),
        ("Αθήνα ΑΘΗΝΑ", ["αθηνα", "αθηνα"]),
        ("Москва ёлка", ["москва", "елка"]),
        ("أسعار اسعار كـتاب", ["اسعار", "اسعار", "كتاب"]),
        ("ट्रेनें", ["ट्रेनें"]),  # Devanagari keeps its vowel signs and virama
        # compatibility forms, digits of other scripts, invisible characters
        ("ﬁnance Ｔｏｋｙｏ ２０２４", ["financ", "tokyo", "2024"]),
        ("٢٠٢٤ ๒๕๖๗", ["2024", "2567"]),
        ("infor\u00admation", ["inform"]),
        # one term per character of scripts written without spaces, with the marks that follow it
        ("深圳地铁14号线", ["深", "圳", "地", "铁", "14", "号", "线"]),
        ("新幹線で東京へ", ["新", "幹", "線", "で", "東", "京", "へ"]),
        ("ｶﾀｶﾅ", ["カ", "タ", "カ", "ナ"]),
        ("ที่นี่ รถไฟฟ้า", ["ที่", "นี่", "ร", "ถ", "ไ", "ฟ", "ฟ้", "า"]),
        ("서울에서", ["서", "울", "에", "서"]),
        ("iPhone16を発売", ["iphone16", "を", "発", "売"]),
        ("𠀋𠀋", ["𠀋", "𠀋"]),  # CJK extension B
        # nothing to index
        ("", []),
        ("!!! ??? -- ...", []),
    ],
)
def test_terms(text: str, expected: list[str]) -> None:
    assert terms.terms(text) == expected


def test_word_count_counts_runs_of_letters_and_digits() -> None:
    assert terms.word_count("e-mail 深圳地铁 F.B.I.") == 6
    assert terms.word_count("!!!") == 0


def test_a_long_word_is_cut_the_same_way_everywhere() -> None:
    word = "x" * (MAX_TERM_CHARS + 40)
    assert terms.terms(word) == ["x" * MAX_TERM_CHARS]
    assert terms.terms(f"a {word} b") == ["a", "x" * MAX_TERM_CHARS, "b"]


def test_index_places_fields_with_a_gap_and_weights() -> None:
    found = index("Glacier retreats", "Ice loss.", "Meltwater rose.")

    assert found.fields == (("glacier", "retreat"), ("ice", "loss"), ("meltwat", "rose"))
    assert found.fts5_columns() == ("glacier retreat", "ice loss", "meltwat rose")
    assert found.tsvectors() == (
        "'glacier':1A 'retreat':2A 'ice':4B 'loss':5B 'meltwat':7C 'rose':8C",
        "'glacier':1A 'retreat':2A 'ice':4B 'loss':5B",
    )
    assert index("Same same", "", "same").tsvectors() == ("'same':1A,2A,5C", "'same':1A,2A")


def test_index_keeps_a_place_for_occurrences_past_the_limit_of_a_term() -> None:
    found = index("", "", "的" * (MAX_OCCURRENCES + 2) + "终")

    body = found.fields[2]
    assert body[MAX_OCCURRENCES - 1] == "的"
    assert body[MAX_OCCURRENCES : MAX_OCCURRENCES + 2] == (None, None)
    assert body[-1] == "终"
    assert found.fts5_columns()[2].split(" ")[MAX_OCCURRENCES] == HOLE
    assert found.tsvectors()[0].count(",") == MAX_OCCURRENCES - 1  # 256 positions of 的, one of 终


def test_index_stops_at_the_position_limit() -> None:
    found = index("Long read", "", " ".join(f"w{i}" for i in range(MAX_POSITIONS + 100)))

    used = sum(len(field) for field in found.fields) + 2  # two unused positions between fields
    assert used == MAX_POSITIONS
    assert found.fields[2][-1] == f"w{MAX_POSITIONS - 5}"


def test_index_stops_before_the_vector_grows_too_big() -> None:
    words = [f"{i:05d}" + "ж" * (MAX_TERM_CHARS - 5) for i in range(MAX_POSITIONS - 10)]
    found = index("", "", " ".join(words))

    assert len(found.tsvectors()[0].encode()) < terms.MAX_VECTOR_BYTES + 100_000
    assert 0 < len(found.fields[2]) < len(words)


def test_lexemes_are_quoted_for_postgresql() -> None:
    assert terms.lexeme("it's") == "'it''s'"
    assert terms.lexeme("a\\b") == "'a\\\\b'"


# ---------------------------------------------------------------------------------------------------------
# Properties: a word of a text is found in the text, whatever the text


@PROPERTY
@given(st.text(), st.data())
def test_the_terms_of_any_word_are_a_run_of_the_terms_of_its_text(text: str, data: st.DataObject) -> None:
    words = text.split()
    if not words:
        return
    word = data.draw(st.sampled_from(words))
    needle, haystack = terms.terms(word), terms.terms(text)
    assert not needle or any(
        haystack[i : i + len(needle)] == needle for i in range(len(haystack) - len(needle) + 1)
    )


@PROPERTY
@given(st.text())
def test_terms_hold_no_separator_of_either_engine(text: str) -> None:
    for term in terms.terms(text):
        assert term
        assert len(term) <= MAX_TERM_CHARS
        assert not any(c.isspace() or c in "\"'\\" or (c.isascii() and not c.isalnum()) for c in term)
        assert HOLE not in term
        assert term == term.casefold() or not term.isascii()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(["的", "a", "b", "x" * MAX_TERM_CHARS]), max_size=700),
        min_size=3,
        max_size=3,
    )
)
def test_placing_all_terms_at_once_agrees_with_placing_them_one_by_one(fields: list[list[str]]) -> None:
    assert terms.place(fields) == terms._place_each(fields)


@pytest.mark.parametrize("extra", [-1, 0, 1])
def test_placing_at_the_position_limit_agrees_with_placing_one_by_one(extra: int) -> None:
    fields = [["a", "b"], ["c"], [f"w{i}" for i in range(MAX_POSITIONS - 5 + extra)]]  # 0: exactly full

    placed = terms.place(fields)

    assert placed == terms._place_each(fields)
    assert sum(map(len, placed.fields)) + 2 == min(MAX_POSITIONS, MAX_POSITIONS + extra)
