"""Shared fixtures: the whole report rendered once per test session, from a copy of the project."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def copy_project(target: Path) -> Path:
    """A copy of the project without its environment, outputs, caches and tests."""
    ignore = shutil.ignore_patterns(".venv", "_book*", ".ipsreport-cache", ".git", "__pycache__", ".pytest_cache",
                                    "*.egg-info", "tests", "benchmarks")
    shutil.copytree(ROOT, target, ignore=ignore)
    return target


def render_project(project: Path, formats: str = "html,pdf,docx") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ipsreport.cli", "render", "--to", formats, "--no-cache",
                           "--engine", "builtin", "-C", str(project)],
                          capture_output=True, text=True, timeout=1200)


@contextlib.contextmanager
def package_snapshot(folder: Path):
    """While active, the render cache hashes a snapshot of the ipsreport package taken now, in ``folder``: the
    package may be edited while the tests run, and its hash is part of every cache key."""
    from ipsreport.render import cache

    snapshot = Path(folder) / "ipsreport"
    shutil.copytree(cache.package_dir(), snapshot, ignore=shutil.ignore_patterns("__pycache__"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cache, "package_dir", lambda: snapshot)
        yield snapshot


@pytest.fixture(scope="session")
def rendered_report(tmp_path_factory) -> Path:
    """A copy of the project whose ``_book/`` holds every format, rendered from the shipped data."""
    project = copy_project(tmp_path_factory.mktemp("report") / "project")
    result = render_project(project)
    assert result.returncode == 0, result.stderr[-3000:]
    return project


def pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)


def docx_text(path: Path) -> str:
    """Paragraphs, then every table cell, of a DOCX."""
    import docx

    document = docx.Document(path)
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)
