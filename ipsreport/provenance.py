"""Provenance of a render: the ``_meta`` block of ``results.json`` and the data-file fingerprints the
reproducibility appendix prints, so a reader can tell which data and code produced the report.

``_meta`` is description, not result: change reports never compare it.
"""

from __future__ import annotations

import csv
import io
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from .fingerprints import file_sha256, input_fingerprints

__all__ = ["SCHEMA_VERSION", "data_files", "datasets", "ci_level", "results_meta", "data_files_table"]

SCHEMA_VERSION = 2  # 1: values only; 2: values, ``_reported`` (units, printed forms) and ``_meta``
_TABULAR = {".csv"}


def _count_rows(path: Path) -> int | None:
    """Records of a CSV file (header excluded; quoted line breaks stay in one record); None if unreadable."""
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return max(sum(1 for _ in csv.reader(f)) - 1, 0)
    except (OSError, UnicodeDecodeError, csv.Error):
        return None


def data_files(project_dir: Path) -> list[dict[str, Any]]:
    """Every file under ``data/``: ``path`` (project-relative), ``sha256``, ``bytes`` and ``rows`` (records of a
    CSV file, None for other files)."""
    root = Path(project_dir)
    out = []
    for path in sorted(p for p in (root / "data").rglob("*") if p.is_file() and not p.name.startswith(".")):
        out.append({"path": path.relative_to(root).as_posix(), "sha256": file_sha256(path),
                    "bytes": path.stat().st_size, "rows": _count_rows(path) if path.suffix in _TABULAR else None})
    return out


def datasets(project_dir: Path) -> dict[str, dict[str, Any]]:
    """``{folder: {"synthetic": bool | None}}`` from each ``data/*/dataset.yaml``."""
    out = {}
    for path in sorted((Path(project_dir) / "data").glob("*/dataset.yaml")):
        try:
            facts = yaml.safe_load(io.StringIO(path.read_text(encoding="utf-8"))) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            facts = {}
        synthetic = facts.get("synthetic") if isinstance(facts, dict) else None
        out[path.parent.name] = {"synthetic": synthetic if isinstance(synthetic, bool) else None}
    return out


def ci_level(project_dir: Path) -> float | None:
    """The confidence level of the report's intervals: 1 − ``alpha`` of ``config/design.yaml``."""
    try:
        design = yaml.safe_load((Path(project_dir) / "config" / "design.yaml").read_text(encoding="utf-8")) or {}
        return round(1 - float(design["ips_pain"]["alpha"]), 6)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, KeyError, TypeError, ValueError):
        return None


def git_commit(project_dir: str | Path) -> str | None:
    """The checked-out commit (with '+changes' when the work tree differs), or None outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=project_dir, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=project_dir,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+changes" if dirty else "")


def results_meta(project_dir: Path, engine: str, now: datetime | None = None) -> dict[str, Any]:
    """The ``_meta`` block: schema and package version, git commit (None outside git), render time (UTC),
    engine, data files (path, sha256, rows), the ``synthetic`` flag per data set, CI level and the
    fingerprints of every input (:func:`ipsreport.fingerprints.input_fingerprints`)."""
    from . import __version__

    root = Path(project_dir)
    return {
        "schema_version": SCHEMA_VERSION,
        "ipsreport_version": __version__,
        "git_commit": git_commit(root),
        "rendered_at": (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "engine": engine,
        "data_files": data_files(root),
        "datasets": datasets(root),
        "ci_level": ci_level(root),
        "inputs": input_fingerprints(root),
    }


def data_files_table(project_dir: str | Path = "."):
    """The data files as the appendix prints them: ``file``, ``rows`` ('' for non-tabular files) and
    ``sha256`` (the full digest, as in ``results.json`` ``_meta``)."""
    import pandas as pd

    rows = [{"file": f["path"], "rows": "" if f["rows"] is None else str(f["rows"]), "sha256": f["sha256"]}
            for f in data_files(Path(project_dir))]
    return pd.DataFrame(rows, columns=["file", "rows", "sha256"])
