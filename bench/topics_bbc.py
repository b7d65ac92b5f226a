"""Accuracy of the first IPTC topic on the BBC News articles, beside naive zero-shot baselines."""

from __future__ import annotations

import argparse
import math
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bench import article, data_dir
from services.enrich.pipeline import Enricher
from services.enrich.textutil import terms
from services.enrich.topics import TopicModel, load_taxonomy

# Accepted IPTC codes per BBC folder: a topic counts when it or one of its ancestors is listed.
ACCEPT: dict[str, tuple[str, ...]] = {
    "business": ("medtop:04000000",),
    "entertainment": ("medtop:01000000",),
    "politics": ("medtop:11000000",),
    "sport": ("medtop:15000000",),
    "tech": ("medtop:13000000", "medtop:20000225"),
}


def read_bbc(root: Path, limit: int) -> list[tuple[str, str, str]]:
    """(category, headline, body) for every article; ``limit`` takes that many per category."""
    out = []
    for cat in sorted(ACCEPT):
        files = sorted((root / cat).glob("*.txt"))
        for f in files[:limit] if limit else files:
            text = f.read_text(encoding="utf-8", errors="replace")
            head, _, body = text.partition("\n")
            out.append((cat, head.strip(), body.strip() or head))
    return out


def naive_baseline(top_only: bool) -> Callable[[str], str]:
    """TF-IDF cosine of the article against each top-level label + definition (or all concepts)."""
    tax = load_taxonomy()
    codes = [c.code for c in tax.values() if c.level == 1 or not top_only]
    bags = {c: Counter(terms(f"{tax[c].label} {tax[c].definition}")) for c in codes}
    df = Counter(t for b in bags.values() for t in b)
    idf = {t: math.log((1 + len(bags)) / (1 + n)) + 1 for t, n in df.items()}

    def unit(bag: Counter[str]) -> dict[str, float]:
        v = {t: (1 + math.log(n)) * idf[t] for t, n in bag.items() if t in idf}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        return {t: x / norm for t, x in v.items()}

    vecs = {c: unit(b) for c, b in bags.items()}

    def classify(text: str) -> str:
        q = unit(Counter(terms(text)))
        return max(codes, key=lambda c: sum(w * vecs[c].get(t, 0.0) for t, w in q.items()))

    return classify


def correct(cat: str, code: str, model: TopicModel) -> bool:
    """Whether a topic (or an ancestor of it) is an accepted code for the category."""
    return code in model.concepts and any(a in ACCEPT[cat] for a in [code, *model.ancestors(code)])


def _line(name: str, hits: Counter[str], total: Counter[str], ref: float | None = None) -> float:
    acc = sum(hits.values()) / max(sum(total.values()), 1)
    per = "  ".join(f"{c} {hits[c] / max(total[c], 1):.3f}" for c in sorted(ACCEPT))
    ratio = f"  (x{acc / ref:.2f} of naive)" if ref else ""
    print(f"{name:<34} accuracy {acc:.3f}   {per}{ratio}")
    return acc


def main() -> None:
    """Run the benchmark and print the baselines and the service figure in the same run."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--limit", type=int, default=0, help="only the first N articles of each category")
    ap.add_argument("--confusion", action="store_true", help="print where the misses went")
    args = ap.parse_args()
    items = read_bbc(data_dir("bbc"), args.limit)
    print(f"BBC News: {len(items)} articles")
    model = TopicModel()
    total = Counter(cat for cat, _, _ in items)
    naive: list[float] = []
    for name, top_only in (
        ("naive TF-IDF, 17 top-level defs", True),
        ("naive TF-IDF, all concept defs", False),
    ):
        clf = naive_baseline(top_only)
        hits = Counter(cat for cat, head, body in items if correct(cat, clf(f"{head}\n{body}"), model))
        naive.append(_line(name, hits, total))
    enricher = Enricher()
    t0 = time.perf_counter()
    out = enricher.enrich([article(i, h, b, "en") for i, (_, h, b) in enumerate(items)])
    elapsed = time.perf_counter() - t0
    hits = Counter()
    misses: Counter[tuple[str, str]] = Counter()
    for (cat, _, _), art in zip(items, out, strict=True):
        first = art.topics[0].code if art.topics else ""
        if correct(cat, first, model):
            hits[cat] += 1
        elif first:
            misses[(cat, model.concepts[[first, *model.ancestors(first)][-1]].label)] += 1
    _line("Enricher.enrich (first topic)", hits, total, max(naive))
    print(f"({elapsed:.1f}s for the enricher)")
    if args.confusion:
        for (cat, label), n in misses.most_common(25):
            print(f"  {cat:<13} -> {label}: {n}")


if __name__ == "__main__":
    main()
