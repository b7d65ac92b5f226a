"""The real-shaped cases of ``tests/data/``: how to send each one and what must hold of the result."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA = Path(__file__).with_name("data")
ARTICLE_CLASSES = ("markup", "invisible", "storable", "encodings", "utc")
_BOM = "\ufeff".encode()


@dataclass(frozen=True)
class Request:
    """One HTTP request to ingest."""

    path: str
    content: bytes
    content_type: str


@dataclass(frozen=True)
class Case:
    """One case of a data file."""

    klass: str
    spec: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.klass}: {self.spec['name']}"

    @property
    def status(self) -> int:
        return int(self.spec.get("status", 202))

    @property
    def stored(self) -> bool:
        """Whether the case ends as one stored article."""
        return self.status == 202

    def request(self) -> Request:
        """Build the HTTP request the case describes."""
        post = self.spec["post"]
        path, kind = "/v1/articles", "application/json"
        if "ndjson" in post:
            text = "\n".join(json.dumps(item, ensure_ascii=False) for item in post["ndjson"])
            path, kind = "/v1/articles/batch", "application/x-ndjson"
        elif "text" in post:
            text, kind = post["text"], "text/plain"
        elif "raw_json" in post:
            text = post["raw_json"]
        elif "raw_ndjson" in post:
            text, path, kind = post["raw_ndjson"], "/v1/articles/batch", "application/x-ndjson"
        else:
            text = json.dumps(_grown(dict(post["json"]), post.get("grow")), ensure_ascii=False)
        content = text.encode(post.get("encoding", "utf-8"))
        if post.get("bom"):
            content = _BOM + content
        return Request(path, content, post.get("content_type", kind))


def _grown(fields: dict[str, Any], grow: dict[str, Any] | None) -> dict[str, Any]:
    if not grow:
        return fields
    name, length = grow["field"], int(grow["length"])
    if name == "tags.0":
        fields["tags"] = [fields["tags"][0].ljust(length, "x"), *fields["tags"][1:]]
    elif isinstance(fields.get(name), list) or name == "tags":
        fields[name] = [f"t{i}" for i in range(length)]
    else:
        fields[name] = str(fields.get(name, "")).ljust(length, "x")
    return fields


def load(klass: str) -> list[Case]:
    """The cases of ``tests/data/<klass>.json``."""
    spec = json.loads((DATA / f"{klass}.json").read_text(encoding="utf-8"))
    return [Case(klass, case) for case in spec["cases"]]


def all_cases() -> list[Case]:
    """Every case of the article classes."""
    return [case for klass in ARTICLE_CLASSES for case in load(klass)]


def check_error(case: Case, status: int, detail: Any) -> None:
    """The answer refused the case as expected, naming what the case says it must."""
    assert status == case.status, f"{case.id}: {status} {detail}"
    text = json.dumps(detail, ensure_ascii=False)
    for word in case.spec.get("error_mentions", []):
        assert word in text, f"{case.id}: {word!r} not in {text}"


def check_fields(case: Case, article: dict[str, Any]) -> None:
    """The published (or stored) fields equal what the case expects."""
    for name in ("title", "body", "author", "tags", "published_at", "published_offset"):
        if name in case.spec:
            value = article.get(name)
            if name == "tags":  # enrichment appends topic labels and salient names to the source's tags
                value = value[: len(case.spec[name])]
            assert value == case.spec[name], f"{case.id}: {name} = {value!r}"
    for text in case.spec.get("body_contains", []):
        assert text in article["body"], f"{case.id}: {text!r} not in {article['body']!r}"
    for text in case.spec.get("absent", []):
        for name in ("title", "body"):
            assert text not in article[name], f"{case.id}: {text!r} in {name}"


def check_enriched(case: Case, article: dict[str, Any], search: Callable[[str], list[str]]) -> None:
    """Entities, keywords, summary and search results hold what the case says."""
    found = {(e["name"], e["type"], e.get("country")) for e in article["entities"]}
    for name, etype, country in case.spec.get("entities", []):
        assert (name, etype, country) in found, f"{case.id}: {(name, etype, country)} not in {sorted(found)}"
    derived = [e["name"] for e in article["entities"]] + list(article["keywords"]) + [article["summary"]]
    for text in case.spec.get("absent", []):
        assert not any(text in d for d in derived), f"{case.id}: {text!r} in {derived}"
    for q in case.spec.get("found_by", []):
        assert article["id"] in search(q), f"{case.id}: q={q!r} does not find it"
    for q in case.spec.get("not_found_by", []):
        assert article["id"] not in search(q), f"{case.id}: q={q!r} finds it"
