"""Language of short texts: the script decides when there are too few letters for the model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from services.enrich.language import LanguageDetector, script_language
from services.enrich.pipeline import Enricher
from tests.enrich.conftest import Make

CORPUS = Path(__file__).resolve().parents[1] / "data" / "language_short.json"


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    """The detector alone (the model loads in well under a second)."""
    return LanguageDetector()


def test_chinese_brief_is_chinese(enricher: Enricher, make: Make) -> None:
    art = enricher.enrich([make("简讯 123", "北京今天下雪了。")])[0]
    assert art.language == "zh"
    assert "(script," in art.enrichment.skipped["ner"]
    assert art.entities == []


def _corpus() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(CORPUS.read_text(encoding="utf-8"))["cases"]
    return cases


@pytest.mark.parametrize("case", _corpus(), ids=lambda c: str(c["id"]))
def test_corpus(case: dict[str, Any], detector: LanguageDetector, enricher: Enricher, make: Make) -> None:
    verdict = detector.detect(case["body"])
    assert (verdict.code, verdict.source) == (case["language"], case["source"]), verdict
    art = enricher.enrich([make(case["title"], case["body"])])[0]
    assert art.language == case["language"]
    assert ("ner" in art.enrichment.skipped) == (case["language"] != "en")


def test_declared_language_still_wins(detector: LanguageDetector) -> None:
    assert detector.detect("北京今天下雪了。", "en").code == "en"


# CJK Unified Ideographs of the basic block, and the Hiragana and Katakana letters.
_HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
_KANA = st.one_of(
    st.characters(min_codepoint=0x3041, max_codepoint=0x3096),
    st.characters(min_codepoint=0x30A1, max_codepoint=0x30FA),
)
# What else a brief holds: Latin words (brands, names), digits, spaces and CJK punctuation.
_FILLER = st.sampled_from(list("abcXYZ iPhone 0123456789，。、！？：（）《》-"))


def _letters(text: str) -> int:
    return sum(c.isalpha() for c in text)


@settings(max_examples=200, deadline=None)
@given(han=st.lists(_HAN, min_size=2, max_size=30), filler=st.lists(_FILLER, max_size=30), seed=st.randoms())
def test_han_without_kana_is_chinese(
    detector: LanguageDetector, han: list[str], filler: list[str], seed: Any
) -> None:
    chars = han + filler
    seed.shuffle(chars)
    text = "".join(chars)
    assume(_letters(text) < 40)
    verdict = detector.detect(text)
    assert (verdict.code, verdict.source) == ("zh", "script")


@settings(max_examples=200, deadline=None)
@given(
    kana=st.lists(_KANA, min_size=1, max_size=15),
    han=st.lists(_HAN, max_size=15),
    filler=st.lists(_FILLER, max_size=20),
    seed=st.randoms(),
)
def test_any_kana_is_japanese(
    detector: LanguageDetector, kana: list[str], han: list[str], filler: list[str], seed: Any
) -> None:
    chars = kana + han + filler
    seed.shuffle(chars)
    text = "".join(chars)
    assume(_letters(text) < 40)
    verdict = detector.detect(text)
    assert (verdict.code, verdict.source) == ("ja", "script")


def test_script_language_leaves_shared_scripts_to_the_model() -> None:
    assert script_language("Results") is None
    assert script_language("Москва") is None
    assert script_language("") is None
    korean = script_language("서울市 날씨")  # Korean may write a Hanja word among Hangul
    assert korean is not None
    assert korean.code == "ko"
