"""First IPTC topic accuracy on the development sets: hand-labelled CoNLL-2003 test documents and
short made-up articles.

The CoNLL labels (``bench/data/conll_topics.tsv``) hold only document numbers and IPTC codes; the
texts are read in place from the shared reference data. Each document goes through
``Enricher.enrich`` with its sentences joined by newlines as the body and its first sentence as the
title. The made-up articles (``bench/data/topic_examples*.txt``) cover what Reuters 1996 lacks:
technology, entertainment and legislation stories; the held-out batch is only for checking.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench import article, data_dir
from bench.ner_conll import read_conll
from services.enrich.pipeline import Enricher
from services.enrich.topics import TopicModel

LABELS = Path(__file__).with_name("data") / "conll_topics.tsv"
EXAMPLES = Path(__file__).with_name("data") / "topic_examples.txt"
HELDOUT = Path(__file__).with_name("data") / "topic_examples_heldout.txt"


@dataclass(frozen=True, slots=True)
class Label:
    """The hand label of one document: its main topic and other acceptable top-level topics."""

    doc: int
    code: str
    also: tuple[str, ...]


def read_labels(path: Path = LABELS) -> list[Label]:
    """Parse the label file (comment lines start with ``#``)."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        doc, code, *rest = line.split("\t")
        also = tuple(c for c in (rest[0] if rest else "").split(",") if c)
        out.append(Label(int(doc), code, also))
    return out


def read_examples(path: Path = EXAMPLES) -> list[tuple[str, str, str]]:
    """(qcode, headline, body) of each made-up article."""
    out = []
    blocks = "\n".join(ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("#"))
    for block in blocks.split("\n\n"):
        if block.strip():
            head, _, body = block.strip().partition("\n")
            code, _, title = head.partition(" | ")
            out.append((code.strip(), title.strip(), body.strip()))
    return out


def top_level(code: str, model: TopicModel) -> str:
    """The top-level topic a code sits under (the code itself for a top level)."""
    return [code, *model.ancestors(code)][-1] if code in model.concepts else ""


def main() -> None:
    """Score the enricher's first topic against the hand labels."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--errors", action="store_true", help="list each miss (document number, gold, topic)")
    args = ap.parse_args()
    docs = read_conll((data_dir("conll2003") / "test.txt").read_text(encoding="utf-8"))
    labels = read_labels()
    model = TopicModel()
    items = []
    for lab in labels:
        body = docs[lab.doc].body
        items.append(article(lab.doc, body.split("\n", 1)[0], body, "en"))
    enricher = Enricher()
    out = enricher.enrich(items)
    strict: Counter[str] = Counter()
    lenient = 0
    deep = [0, 0]
    total: Counter[str] = Counter()
    misses: Counter[tuple[str, str]] = Counter()
    for lab, art in zip(labels, out, strict=True):
        gold = top_level(lab.code, model)
        first = art.topics[0].code if art.topics else ""
        got = top_level(first, model)
        total[gold] += 1
        if got == gold:
            strict[gold] += 1
        if got == gold or got in {top_level(c, model) for c in lab.also}:
            lenient += 1
        if lab.code != gold:
            deep[1] += 1
            deep[0] += first != "" and lab.code in [first, *model.ancestors(first)]
        if got != gold:
            misses[(model.concepts[gold].label, model.concepts[got].label if got else "(none)")] += 1
            if args.errors:
                path = " < ".join(model.concepts[c].label for c in [first, *model.ancestors(first)][:3])
                print(f"  doc {lab.doc:>3}  gold {model.concepts[lab.code].label:<32} got {path}")
    n = sum(total.values())
    print(f"CoNLL-2003 test, {n} hand-labelled documents")
    print(f"first topic, top level (strict)      {sum(strict.values()) / n:.3f}")
    print(f"first topic, top level (lenient)     {lenient / n:.3f}")
    print(f"second level reached, where labelled {deep[0] / max(deep[1], 1):.3f} ({deep[1]} documents)")
    for gold, k in total.most_common():
        print(f"  {model.concepts[gold].label:<42} {strict[gold] / k:.3f}  ({k})")
    print("misses (gold -> first topic):")
    for (gold_label, got_label), k in misses.most_common(15):
        print(f"  {gold_label:<42} -> {got_label}: {k}")
    _examples(enricher, model, args.errors, EXAMPLES, "made-up articles")
    _examples(enricher, model, args.errors, HELDOUT, "held-out made-up articles")


def _examples(enricher: Enricher, model: TopicModel, errors: bool, path: Path, name: str) -> None:
    examples = read_examples(path)
    out = enricher.enrich([article(i, t, b, "en") for i, (_, t, b) in enumerate(examples)])
    hits = 0
    for (code, title, _), art in zip(examples, out, strict=True):
        first = art.topics[0].code if art.topics else ""
        chain = [first, *model.ancestors(first)] if first else []
        hits += code in chain
        if code not in chain and errors:
            got = " < ".join(model.concepts[c].label for c in chain[:3])
            print(f"  {title[:44]:<44} want {model.concepts[code].label:<20} got {got}")
    print(f"{name}: {hits}/{len(examples)} = {hits / len(examples):.3f}")


if __name__ == "__main__":
    main()
