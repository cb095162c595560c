"""An unchanged re-render reuses the previous formats and the previous data validation; any change redoes them."""

import json
import shutil
from pathlib import Path

import pytest

from ipsreport import hooks
from ipsreport.render import cache
from ipsreport.render.engine import render_book

FIXTURE = Path(__file__).parent / "fixtures" / "book"
KEPT = "nothing it is made from changed"


@pytest.fixture
def project(tmp_path, monkeypatch):
    snapshot = tmp_path / "package" / "ipsreport"
    shutil.copytree(cache.package_dir(), snapshot, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "package_dir", lambda: snapshot)
    root = tmp_path / "book"
    shutil.copytree(FIXTURE, root)
    return root


def _kept(summary) -> set[str]:
    """The formats the render copied from the previous output."""
    notes = [note for note in summary.notes if KEPT in note]
    return {f.strip() for note in notes for f in note.split(":")[0].split(",")}


def _files(book) -> dict:
    """Every output file's bytes; results.json without its ``_meta`` block (render time and engine)."""
    files = {p.name: p.read_bytes() for p in book.rglob("*") if p.is_file()}
    results = json.loads(files.pop("results.json"))
    results.pop("_meta", None)
    return {**files, "results.json": results}


def test_unchanged_render_keeps_the_formats_and_a_change_rewrites_them(project):
    first = render_book(project, formats=["html", "docx"], engine="builtin")
    assert not _kept(first)
    page = project / "_book" / "01-methods.html"
    before = _files(project / "_book")

    again = render_book(project, formats=["html", "docx"], engine="builtin")
    assert _kept(again) == {"html", "docx"} and len(again.cached) == 3 and not again.executed
    after = _files(project / "_book")
    assert after == before

    chapter = project / "chapters" / "01-methods.qmd"
    chapter.write_text(chapter.read_text().replace("We randomized", "In this book we randomized"))
    edited = render_book(project, formats=["html", "docx"], engine="builtin")
    assert not _kept(edited)
    assert "In this book we randomized" in page.read_text(encoding="utf-8")

    # A page changed by hand since the last render is never taken for the render's own output.
    page.write_text("tampered", encoding="utf-8")
    repaired = render_book(project, formats=["html", "docx"], engine="builtin")
    assert _kept(repaired) == {"docx"} and "In this book we randomized" in page.read_text(encoding="utf-8")

    # --no-cache writes every format again.
    assert not _kept(render_book(project, formats=["html", "docx"], engine="builtin", use_cache=False))


def test_validation_is_remembered_for_the_same_data_only(tmp_path, monkeypatch):
    monkeypatch.delenv("IPSREPORT_PIPELINE", raising=False)
    import ipsreport.data.validate as validate

    calls = []
    monkeypatch.setattr(validate, "validate_project_data", lambda root: calls.append(root))
    (tmp_path / "data").mkdir()
    csv = tmp_path / "data" / "a.csv"
    csv.write_text("x\n1\n")
    assert hooks.validate_data_main(tmp_path) == 0 and len(calls) == 1
    assert hooks.validate_data_main(tmp_path) == 0 and len(calls) == 1  # remembered
    csv.write_text("x\n2\n")
    assert hooks.validate_data_main(tmp_path) == 0 and len(calls) == 2  # contents changed: validated again
    monkeypatch.setenv("IPSREPORT_NO_CACHE", "1")  # `ipsreport render --no-cache`
    assert hooks.validate_data_main(tmp_path) == 0 and len(calls) == 3
    monkeypatch.delenv("IPSREPORT_NO_CACHE")

    def fail(root):
        raise validate.DataValidationError([])

    monkeypatch.setattr(validate, "validate_project_data", fail)
    csv.write_text("x\n3\n")
    assert hooks.validate_data_main(tmp_path) == 2
    assert hooks.validate_data_main(tmp_path) == 2  # a failure is never remembered
