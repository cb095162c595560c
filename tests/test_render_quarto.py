"""Delegation to a real Quarto, checked with a fake `quarto` executable on PATH."""

import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest

from ipsreport.render import RenderError, engine
from ipsreport.render.engine import render_book

FIXTURE = Path(__file__).parent / "fixtures" / "book"

FAKE_QUARTO = """#!{python}
import json, os, sys
from pathlib import Path
folder = os.environ["IPSREPORT_RESULTS_DIR"]
Path("quarto-call.json").write_text(json.dumps({{"argv": sys.argv[1:], "cwd": os.getcwd(), "results_dir": folder}}))
# What chapters do under Quarto: the registry writes one file per document into the folder.
Path(folder, "chapters_a.json").write_text(json.dumps({{"b.value": 2, "a.value": 1}}))
Path(folder, "chapters_b.json").write_text(json.dumps({{"c.value": 3.5}}))
Path("_book").mkdir(exist_ok=True)
Path("_book/index.html").write_text("<html>from quarto</html>")
sys.exit(int(os.environ.get("FAKE_QUARTO_EXIT", "0")))
"""


@pytest.fixture
def fake_quarto(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "quarto"
    exe.write_text(FAKE_QUARTO.format(python=sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(engine, "_validation_hook", lambda: None)
    project = tmp_path / "book"
    shutil.copytree(FIXTURE, project)
    (project / "_book").mkdir()
    (project / "_book" / "results.json").write_text(json.dumps({"a.value": 1, "c.value": 3.0}))
    return project


def test_auto_engine_delegates_to_quarto_on_path(fake_quarto):
    summary = render_book(fake_quarto, formats=["html", "pdf"])
    call = json.loads((fake_quarto / "quarto-call.json").read_text())
    assert call["argv"] == ["render", "--to", "html,typst"]
    assert Path(call["cwd"]) == fake_quarto.resolve()
    assert call["results_dir"] and not Path(call["results_dir"]).exists()  # a temp folder, removed afterwards
    results = json.loads((fake_quarto / "_book" / "results.json").read_text())
    assert [(k, v) for k, v in results.items() if not k.startswith("_")] == [("a.value", 1), ("b.value", 2),
                                                                             ("c.value", 3.5)]
    assert results["_meta"]["engine"] == "quarto"
    assert summary.engine == "quarto"
    assert summary.changed_results == [("b.value", None, "2"), ("c.value", "3.00", "3.50")]
    assert ("_book/index.html", len("<html>from quarto</html>")) in summary.files


def test_no_cache_asks_quarto_to_refresh(fake_quarto):
    render_book(fake_quarto, formats=["docx"], use_cache=False, engine="quarto")
    call = json.loads((fake_quarto / "quarto-call.json").read_text())
    assert call["argv"] == ["render", "--to", "docx", "--cache-refresh"]


def test_quarto_failure_is_a_render_error(fake_quarto, monkeypatch):
    monkeypatch.setenv("FAKE_QUARTO_EXIT", "3")
    with pytest.raises(RenderError, match=r"quarto render failed \(exit 3\)"):
        render_book(fake_quarto, formats=["html"])


def test_quarto_requested_but_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RenderError, match="no quarto executable is on PATH"):
        render_book(tmp_path, engine="quarto")


def test_builtin_engine_ignores_quarto_on_path(fake_quarto):
    summary = render_book(fake_quarto, formats=["html"], engine="builtin")
    assert summary.engine == "builtin"
    assert not (fake_quarto / "quarto-call.json").exists()
    assert "Fixture Trial Report" in (fake_quarto / "_book" / "index.html").read_text()


def test_unknown_format_or_engine(fake_quarto):
    with pytest.raises(RenderError, match="unknown output format 'epub'"):
        render_book(fake_quarto, formats=["epub"])
    with pytest.raises(RenderError, match="unknown engine 'knitr'"):
        render_book(fake_quarto, engine="knitr")
