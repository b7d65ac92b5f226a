"""Rebuild iptc_mediatopics.tsv from the IPTC Media Topics CSV release (path as the first argument)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

OUT = Path(__file__).with_name("iptc_mediatopics.tsv")
# The 2023-03-31 release has a concept in force without an English label; later releases name it.
_MISSING_LABELS = {"medtop:20000304": "media and entertainment industry"}


def main(source: Path) -> None:
    """Keep the concepts in force (retired ones dropped): qcode, level, parent, label, definition."""
    with source.open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if not r["retired"].strip()]
    lines = ["# IPTC Media Topics 2023-03-31, CC BY 4.0, (c) IPTC; trimmed, see ATTRIBUTION.md"]
    for r in rows:
        label = r["label"] or _MISSING_LABELS.get(r["qcode"], "")
        cells = [r["qcode"], r["level"], r["parent_qcode"], label, r["definition"]]
        lines.append("\t".join(" ".join(c.split()) for c in cells))
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
