"""The built package carries every file the services read at run time, not only their Python modules."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.harness import ROOT


def test_the_wheel_holds_every_data_file_of_the_services(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a copy, so the build leaves nothing in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "services", source / "services", ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(tmp_path / "dist")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("wirestream-*.whl")

    shipped = {name for name in zipfile.ZipFile(wheel).namelist() if name.startswith("services/")}
    data = {
        path.relative_to(source).as_posix()
        for path in (source / "services").rglob("*")
        if path.is_file() and path.suffix != ".py"
    }
    assert {"services/enrich/data/places.tsv", "services/data/iptc_mediatopics.tsv"} <= data
    assert data <= shipped, f"missing from the wheel: {sorted(data - shipped)}"
