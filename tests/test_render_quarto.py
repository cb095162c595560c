"""`render --engine quarto` against a stub `quarto` on PATH that records its arguments and environment and writes
a fake book (or fails halfway, or skips execution), through the command line as a user runs it."""

import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ipsreport.cli import app
from ipsreport.render import RenderError
from ipsreport.render.engine import render_book

FIXTURE = Path(__file__).parent / "fixtures" / "book"
runner = CliRunner()

# What Quarto does, in miniature: --version; render writes the pages of each requested format into --output-dir
# (relative to the project) and, as the chapters' kernels would, one results file per document named by the
# registry's rule (the document's absolute path with separators replaced).
STUB = """#!{python}
import json, os, re, sys
from pathlib import Path
if sys.argv[1:] == ["--version"]:
    print(os.environ.get("STUB_VERSION", "1.9.12"))
    sys.exit(0)
mode = os.environ.get("STUB_MODE", "ok")
Path(os.environ["STUB_LOG"]).write_text(json.dumps({{
    "argv": sys.argv[1:], "cwd": os.getcwd(),
    "env": {{k: os.environ.get(k) for k in ("QUARTO_PYTHON", "IPSREPORT_RESULTS_DIR", "IPSREPORT_PIPELINE",
                                          "IPSREPORT_PROJECT_DIR")}}}}))
out = Path(sys.argv[sys.argv.index("--output-dir") + 1])
targets = sys.argv[sys.argv.index("--to") + 1].split(",")
print("[1/5] index.qmd", flush=True)
out.mkdir(parents=True, exist_ok=True)
(out / "index.html").write_text("<html>from quarto</html>")
if mode == "fail":
    print("ERROR: chapters/02-results.qmd: cell failed", flush=True)
    sys.exit(1)
results = Path(os.environ["IPSREPORT_RESULTS_DIR"])
def name(doc):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(Path.cwd() / doc).strip("/"))
if mode != "no-exec":
    (results / (name("chapters/02-results.qmd") + ".json")).write_text(
        json.dumps({{"fixture.n_total": 8, "fixture.employed_ips": 3}}))
    if mode != "half-results":
        (results / (name("chapters/appendix-extra.qmd") + ".json")).write_text(json.dumps({{"fixture.mean_age": 38.25}}))
for t in targets:
    if t == "typst":
        (out / "book.pdf").write_bytes(b"%PDF-stub")
    elif t == "docx":
        (out / "book.docx").write_bytes(b"PK-stub")
    else:
        (out / "02-results.html").write_text("<html>results</html>")
print("Output created: " + str(out / "index.html"), flush=True)
"""

PREVIOUS = {"index.html": b"<html>previous</html>", "book.pdf": b"%PDF-previous",
            "results.json": b'{"fixture.n_total": 7}\n'}


@pytest.fixture
def stub(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "quarto"
    exe.write_text(STUB.format(python=sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("STUB_LOG", str(tmp_path / "quarto-call.json"))
    project = tmp_path / "book"
    shutil.copytree(FIXTURE, project)
    (project / "_book").mkdir()
    for name, data in PREVIOUS.items():
        (project / "_book" / name).write_bytes(data)
    return project


def _call(project):
    return json.loads((project.parent / "quarto-call.json").read_text())


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _render(project, *args):
    return runner.invoke(app, ["render", "--engine", "quarto", "-C", str(project), *args])


def test_quarto_render_arguments_environment_and_complete_results(stub):
    result = _render(stub, "--to", "html,docx")
    assert result.exit_code == 0, result.output
    call = _call(stub)
    argv = call["argv"]
    assert argv[:3] == ["render", "--to", "html,docx"] and argv[3] == "--output-dir"
    assert argv[4].startswith("_book.tmp-")  # a temporary folder next to _book, relative to the project
    assert len(argv) == 5  # no --cache-refresh or anything else
    assert Path(call["cwd"]) == stub.resolve()
    assert call["env"]["QUARTO_PYTHON"] == sys.executable
    assert call["env"]["IPSREPORT_PIPELINE"] == "1"  # Quarto's own runs of the project scripts return at once
    assert call["env"]["IPSREPORT_PROJECT_DIR"] == str(stub.resolve())
    assert not Path(call["env"]["IPSREPORT_RESULTS_DIR"]).exists()  # scratch, removed afterwards
    book = stub / "_book"
    results = json.loads((book / "results.json").read_text())
    assert {k: v for k, v in results.items() if not k.startswith("_")} == {
        "fixture.employed_ips": 3, "fixture.mean_age": 38.25, "fixture.n_total": 8}
    assert results["_meta"]["engine"] == "quarto" and results["_reported"]["fixture.mean_age"]["printed"] == "38.25"
    assert (book / "index.html").read_text() == "<html>from quarto</html>"
    assert (book / "book.docx").read_bytes() == b"PK-stub"
    assert (book / "book.pdf").read_bytes() == b"%PDF-previous"  # a format not asked for is kept
    assert "[1/5] index.qmd" in result.output and "Output created" in result.output  # Quarto's progress shown
    assert "once per format (2 formats: 2 runs per chapter; quarto-cli #5150)" in " ".join(result.output.split())
    assert "fixture.n_total: 7 → 8" in result.output
    assert "(every change: _book/changes.md)" in " ".join(result.output.split())  # the project's report
    assert "| `fixture.n_total` | Fixture · n total | 7 | 8 |" in (book / "changes.md").read_text()
    assert sorted(p.name for p in stub.iterdir() if p.name.startswith("_book.")) == []


def test_no_cache_is_a_plain_rerender(stub):
    result = _render(stub, "--to", "docx", "--no-cache")
    assert result.exit_code == 0, result.output
    assert "--cache-refresh" not in _call(stub)["argv"]


@pytest.mark.parametrize("mode, message", [
    ("fail", "quarto render failed (exit 1); _book/ was left as it was (Quarto wrote into a temporary folder, "
             "which was discarded)"),
    ("no-exec", "results.json would be incomplete: no registered values arrived from chapters/02-results.qmd, "
                "chapters/appendix-extra.qmd"),
    ("half-results", "no registered values arrived from chapters/appendix-extra.qmd"),
])
def test_a_failing_or_lying_quarto_leaves_the_previous_book(stub, monkeypatch, mode, message):
    monkeypatch.setenv("STUB_MODE", mode)
    before = _tree(stub / "_book")
    result = _render(stub, "--to", "html")
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert _tree(stub / "_book") == before
    assert sorted(p.name for p in stub.iterdir() if p.name.startswith("_book.")) == []


def test_failure_message_quotes_quartos_last_lines(stub, monkeypatch):
    monkeypatch.setenv("STUB_MODE", "fail")
    with pytest.raises(RenderError) as err:
        render_book(stub, formats=["html"], engine="quarto")
    assert "ERROR: chapters/02-results.qmd: cell failed" in str(err.value)


def test_old_quarto_is_refused(stub, monkeypatch):
    monkeypatch.setenv("STUB_VERSION", "1.8.25")
    before = _tree(stub / "_book")
    result = _render(stub, "--to", "html")
    assert result.exit_code == 2
    assert "is Quarto 1.8.25; the book needs Quarto 1.9 or later" in " ".join(result.output.split())
    assert not (stub.parent / "quarto-call.json").exists()
    assert _tree(stub / "_book") == before


def test_quarto_requested_but_missing(tmp_path, monkeypatch):
    project = tmp_path / "book"
    shutil.copytree(FIXTURE, project)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RenderError, match="no quarto executable is on PATH"):
        render_book(project, engine="quarto")


def test_builtin_engine_ignores_quarto_on_path(stub):
    summary = render_book(stub, formats=["html"], engine="builtin")
    assert summary.engine == "builtin"
    assert not (stub.parent / "quarto-call.json").exists()
    assert "Fixture Trial Report" in (stub / "_book" / "index.html").read_text()


def test_auto_engine_prefers_quarto_on_path(stub):
    summary = render_book(stub, formats=["html"])
    assert summary.engine == "quarto"
    assert summary.executed == ["chapters/01-methods.qmd", "chapters/02-results.qmd", "chapters/appendix-extra.qmd"]
    assert summary.static == ["index.qmd", "chapters/references.qmd"] and summary.cached == []


def test_unknown_format_or_engine(stub):
    with pytest.raises(RenderError, match="unknown output format 'epub'"):
        render_book(stub, formats=["epub"])
    with pytest.raises(RenderError, match="unknown engine 'knitr'"):
        render_book(stub, engine="knitr")
