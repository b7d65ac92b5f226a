"""Loaded by an enrich worker started with this folder on PYTHONPATH: articles titled POISON-PILL raise."""

from services.enrich import pipeline

_enrich = pipeline.Enricher.enrich


def _failing_enrich(self, articles):  # type: ignore[no-untyped-def]
    if any("POISON-PILL" in a.title for a in articles):
        raise RuntimeError("enrichment exploded on a POISON-PILL article")
    return _enrich(self, articles)


pipeline.Enricher.enrich = _failing_enrich  # type: ignore[method-assign]
