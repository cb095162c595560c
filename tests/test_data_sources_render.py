"""The whole book rendered from source files (the trial from the SPSS example, the pilot from the Stata
example) gives a ``results.json`` equal to the render from the CSV files, ``_meta`` apart."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def _copy_project(target: Path) -> Path:
    ignore = shutil.ignore_patterns(".venv", "_book*", ".ipsreport-cache", ".git", "__pycache__", ".pytest_cache",
                                    "*.egg-info", "tests", "benchmarks", "examples")
    shutil.copytree(ROOT, target, ignore=ignore)
    return target


def _render_results(project: Path) -> dict:
    result = subprocess.run([sys.executable, "-m", "ipsreport.cli", "render", "--to", "html", "--no-cache",
                             "--engine", "builtin", "-C", str(project)], capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((project / "_book" / "results.json").read_text(encoding="utf-8"))
    results.pop("_meta", None)
    return results


def test_render_from_source_files_equals_render_from_csv(tmp_path):
    from_csv = _copy_project(tmp_path / "csv")
    from_sources = _copy_project(tmp_path / "sources")
    for name, fmt in (("ips-pain", "spss"), ("instep", "stata")):
        folder = from_sources / "data" / name
        for csv_file in folder.glob("*.csv"):
            csv_file.unlink()  # the render must read the sources, not a CSV left behind
        shutil.rmtree(folder)
        shutil.copytree(ROOT / "examples" / fmt / name, folder)
    expected = _render_results(from_csv)
    assert len(expected) > 100
    assert _render_results(from_sources) == expected
