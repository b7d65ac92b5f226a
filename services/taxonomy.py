"""IPTC Media Topics, the news industry's taxonomy: one shipped table for every part that needs it.

The store rolls topics up into their broader topics (``Taxonomy.roll_up``, retired concepts included,
so old articles still roll up); enrichment scores articles against the concepts in force, from their
labels and definitions (``Taxonomy.in_force``). The table ships as ``services/data/iptc_mediatopics.tsv``
(qcode, level, parent qcode, label, retired, definition; see data/IPTC-ATTRIBUTION.md). Rebuild it from
the IPTC CSV release with ``python -m services.taxonomy path/to/medtop_en-US.csv``.
"""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TABLE = Path(__file__).resolve().parent / "data" / "iptc_mediatopics.tsv"
TOPIC_CODE = re.compile(r"^medtop:\d{8}$")
_HEADER = "# IPTC Media Topics 2023-03-31, (c) IPTC, CC BY 4.0; flattened, see IPTC-ATTRIBUTION.md"
# The 2023-03-31 release has one concept in force without an English label; later releases name it.
_MISSING_LABELS = {"medtop:20000304": "media and entertainment industry"}


def is_topic_code(code: str) -> bool:
    """Say whether ``code`` has the shape of an IPTC Media Topic qcode (``medtop:`` and 8 digits)."""
    return bool(TOPIC_CODE.match(code))


@dataclass(frozen=True, slots=True)
class TopicNode:
    """One concept: its code, the code of its broader concept (None at the top), label and definition."""

    code: str
    parent: str | None
    label: str
    level: int = 1
    definition: str = ""
    retired: bool = False


@dataclass(frozen=True, slots=True)
class RolledTopic:
    """A topic of an article: assigned to it (``direct``) or inherited from a narrower assigned topic."""

    code: str
    label: str
    score: float
    direct: bool


class Taxonomy:
    """Look up labels and ancestors of topic codes."""

    def __init__(self, nodes: Mapping[str, TopicNode]) -> None:
        self.nodes = dict(nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def in_force(self) -> list[TopicNode]:
        """The concepts not retired, in the table's order."""
        return [node for node in self.nodes.values() if not node.retired]

    def label(self, code: str) -> str | None:
        """Return the English label of a known code."""
        node = self.nodes.get(code)
        return node.label if node else None

    def ancestors(self, code: str) -> list[str]:
        """Return the broader concepts of ``code``, nearest first; unknown codes have none."""
        out: list[str] = []
        node = self.nodes.get(code)
        while node is not None and node.parent and node.parent not in out and node.parent != code:
            out.append(node.parent)  # the membership check guards against a cycle in a damaged file
            node = self.nodes.get(node.parent)
        return out

    def lineage(self, code: str) -> list[str]:
        """Return ``code`` followed by its ancestors."""
        return [code, *self.ancestors(code)]

    def descendants(self, code: str) -> set[str]:
        """Return every concept filed below ``code``."""
        return {c for c in self.nodes if code in self.ancestors(c)}

    def roll_up(self, assigned: Iterable[tuple[str, str, float]]) -> list[RolledTopic]:
        """Expand assigned (code, label, score) topics with their ancestors, one entry per code.

        An ancestor takes the best score found below it; the shipped label wins over the article's.
        """
        given: dict[str, str] = {}
        scores: dict[str, float] = {}
        for code, label, score in assigned:
            given.setdefault(code, label)
            for member in self.lineage(code):
                scores[member] = max(scores.get(member, score), score)
        return [
            RolledTopic(code, self.label(code) or given.get(code) or code, score, code in given)
            for code, score in scores.items()
        ]


def read_table(path: Path) -> Taxonomy:
    """Read a table written by ``build_table``."""
    nodes: dict[str, TopicNode] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        code, level, parent, label, retired, definition = line.split("\t")
        nodes[code] = TopicNode(code, parent or None, label, int(level), definition, bool(retired))
    return Taxonomy(nodes)


@cache
def taxonomy() -> Taxonomy:
    """Return the shipped IPTC taxonomy, read once."""
    return read_table(TABLE)


def build_table(source: Path) -> str:
    """Flatten the IPTC CSV release to tab-separated ``qcode level parent label retired definition``.

    Retired concepts stay (``retired`` is "retired", else empty) so that articles filed under them
    still roll up into their broader topics.
    """
    with source.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    lines = [_HEADER]
    for row in rows:
        label = row["label"] or _MISSING_LABELS.get(row["qcode"], "")
        retired = "retired" if row["retired"].strip() else ""
        cells = (row["qcode"], row["level"], row["parent_qcode"], label, retired, row["definition"])
        lines.append("\t".join(" ".join(cell.split()) for cell in cells))
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    """Rebuild the shipped table from the IPTC CSV named on the command line."""
    if len(argv) != 1:
        raise SystemExit("usage: python -m services.taxonomy path/to/medtop_en-US.csv")
    TABLE.write_text(build_table(Path(argv[0])), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
