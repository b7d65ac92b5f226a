"""Extractive summary: the lead sentences of the body, skipping headings."""

from __future__ import annotations

from services.enrich.textutil import sentences

_TARGET_WORDS = 45
_MAX_SENTENCES = 3
_MAX_CHARS = 600


def summarize(body: str) -> str:
    """The first sentences of the body until about 45 words (news puts the gist first)."""
    picked: list[str] = []
    words = 0
    for start, end in sentences(body):
        sent = " ".join(body[start:end].split())
        # Headings carry no sentence punctuation; they are not summary material.
        if not sent.endswith((".", "!", "?", '"', "”", "’", "'")) or len(sent.split()) < 4:
            continue
        picked.append(sent)
        words += len(sent.split())
        if words >= _TARGET_WORDS or len(picked) == _MAX_SENTENCES:
            break
    text = " ".join(picked) if picked else " ".join(body.split())
    return text if len(text) <= _MAX_CHARS else text[: _MAX_CHARS - 1].rsplit(" ", 1)[0] + "…"
