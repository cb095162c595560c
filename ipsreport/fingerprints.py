"""Fingerprints (sha256) of the files a render reads: book sources, configuration and data.

A render records them (``results.json`` ``_meta.inputs``); anything that must know whether an output is
stale (publishing, the change report) recomputes them with :func:`input_fingerprints` and compares.
Paths are project-relative POSIX strings, so the record does not depend on where the project lives.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["file_sha256", "input_files", "input_fingerprints", "stale_inputs"]

# Folders that hold no input of a render: outputs, caches, environments, tests and version control.
_SKIP_PARTS = {".git", ".venv", "__pycache__", ".pytest_cache", ".ipsreport-cache", ".quarto", "tests",
               "benchmarks", "docs", "node_modules", "examples"}
_SOURCE_SUFFIXES = {".qmd", ".yml", ".yaml", ".bib", ".csl"}
_NOT_INPUTS = {"environment.yml"}  # how to install, not what to render


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _skipped(relative: Path) -> bool:
    parts = relative.parts
    return bool(_SKIP_PARTS & set(parts)) or any(p.startswith("_") and p != parts[-1] for p in parts)


def input_files(project_dir: Path) -> list[str]:
    """Every input of a render, relative to ``project_dir``: Quarto sources and YAML at any depth outside
    output and tool folders (``_``-prefixed folders such as ``_book`` are outputs), and every file under
    ``config/`` and ``data/``."""
    root = Path(project_dir)
    found: set[str] = set()
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        relative = path.relative_to(root)
        if _skipped(relative) or relative.as_posix() in _NOT_INPUTS:
            continue
        top = relative.parts[0]
        if top in ("config", "data") or path.suffix in _SOURCE_SUFFIXES and top != "ipsreport":
            found.add(relative.as_posix())
    return sorted(found)


def input_fingerprints(project_dir: Path) -> dict[str, str]:
    """``{relative path: sha256}`` for every file :func:`input_files` lists."""
    root = Path(project_dir)
    return {name: file_sha256(root / name) for name in input_files(root)}


def stale_inputs(recorded: dict[str, str], project_dir: Path) -> dict[str, list[str]]:
    """Compare a recorded fingerprint map with the files now: ``{"changed": [...], "added": [...],
    "removed": [...]}`` (empty lists when the record is current)."""
    now = input_fingerprints(project_dir)
    return {
        "changed": sorted(k for k in recorded.keys() & now.keys() if recorded[k] != now[k]),
        "added": sorted(now.keys() - recorded.keys()),
        "removed": sorted(recorded.keys() - now.keys()),
    }
