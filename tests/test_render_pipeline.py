"""The render pipeline: an engine that knows no project, output folders it may and may not replace, the atomic
swap and its recovery, the render lock, checksummed cache entries and environment failures, each ending in
exit 0 with correct output or exit 2 with a located message, and the previous output byte-identical."""

import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ipsreport.cli import app
from ipsreport.render import RenderError, cache, pandoc, swap
from ipsreport.render.engine import render_book
from ipsreport.render.lock import RenderBusy, render_lock

FIXTURE = Path(__file__).parent / "fixtures" / "book"
PACKAGE = Path(__file__).resolve().parents[1] / "ipsreport"
runner = CliRunner()

# The analysis side of the project: the rendering process must never import any of it.
REFUSED = ("ipsreport.data", "ipsreport.results", "ipsreport.stats", "ipsreport.trial", "ipsreport.feasibility",
           "ipsreport.concordance", "ipsreport.tables", "ipsreport.figures", "ipsreport.wording", "ipsreport.format",
           "ipsreport.synth", "ipsreport.hooks", "ipsreport.fingerprints")

IMPORT_GUARD = """
import importlib.abc, json, sys
REFUSED = {refused!r}
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if any(name == r or name.startswith(r + ".") for r in REFUSED):
            raise ImportError("refused in the rendering process: " + name)
        return None
sys.meta_path.insert(0, Refuse())
from ipsreport.render.engine import render_book
summary = render_book(sys.argv[1], formats=["html"], engine="builtin")
print(json.dumps({{"executed": summary.executed, "loaded": sorted(m for m in sys.modules if m.startswith("ipsreport"))}}))
"""


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "book"
    shutil.copytree(FIXTURE, root)
    return root


def _render(root, *args):
    return runner.invoke(app, ["render", "--engine", "builtin", "--to", "html", "-C", str(root), *args])


def _one_paragraph(output: str) -> str:
    return " ".join(output.split())


# --- the engine knows no project -----------------------------------------------------------------------------


def test_engine_renders_the_fixture_book_without_importing_the_analysis_code(project, tmp_path):
    # A TMPDIR longer than a Unix socket path allows: the kernels must still start (TCP on the loopback).
    long_tmp = tmp_path / ("t" * 70)
    long_tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(long_tmp)}
    proc = subprocess.run([sys.executable, "-c", IMPORT_GUARD.format(refused=REFUSED), str(project)],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["executed"] == ["chapters/01-methods.qmd", "chapters/02-results.qmd", "chapters/appendix-extra.qmd"]
    assert not [m for m in report["loaded"] if m.startswith(REFUSED)]
    # The project's post-render script (its own process) collected the values the chapters registered.
    results = json.loads((project / "_book" / "results.json").read_text())
    assert {k: v for k, v in results.items() if not k.startswith("_")} == {
        "fixture.employed_ips": 3, "fixture.mean_age": 38.25, "fixture.n_total": 8}
    assert results["_meta"]["engine"] == "builtin"  # the backend's name reached the project's script
    assert not list(long_tmp.iterdir())  # scratch folders removed


def _module_imports(path: Path, module: str, is_package: bool) -> set[str]:
    """Every module ``module`` imports (at any level, except the lazy re-export ``__getattr__`` of a package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = set()
    if is_package:
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
                skip |= {id(n) for n in ast.walk(node)}
    base = module if is_package else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base.split(".")
                prefix = ".".join(parts[: len(parts) - node.level + 1])
                target = f"{prefix}.{node.module}" if node.module else prefix
            else:
                target = node.module or ""
            found.add(target)
            found |= {f"{target}.{a.name}" for a in node.names}
    return found


def test_the_import_graph_of_ipsreport_has_no_cycle():
    modules: dict[str, tuple[Path, bool]] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ("ipsreport", *path.relative_to(PACKAGE).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    graph = {m: {t for t in _module_imports(p, m, pkg) if t in modules and t != m} for m, (p, pkg) in modules.items()}
    state: dict[str, int] = {}

    def visit(m, stack):
        state[m] = 1
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*stack[stack.index(t):], t]))
            if t not in state:
                visit(t, [*stack, t])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert "ipsreport.render.engine" not in graph["ipsreport.render.quarto"]
    render = [m for m in graph if m.startswith("ipsreport.render")]
    assert not [(m, t) for m in render for t in graph[m] if t.startswith(REFUSED)]


# --- output folders ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("output_dir, says", [
    (".", "is the project folder or a folder above it"),
    ("..", "is the project folder or a folder above it"),
    ("data", "is or contains the project's data/ folder"),
    ("data/out", "is or contains the project's data/ folder"),
    ("chapters", "is or contains the project's chapters/ folder"),
    ("config/x", "is or contains the project's config/ folder"),
    ("tests", "is or contains the project's tests/ folder"),
    ("ipsreport", "is or contains the project's ipsreport/ folder"),
])
def test_output_dir_that_would_replace_the_project_is_refused(project, output_dir, says):
    (project / "config").mkdir()
    (project / "config" / "design.yaml").write_text("keep: me\n")
    config = project / "_quarto.yml"
    config.write_text(config.read_text().replace("output-dir: _book", f"output-dir: {output_dir!r}"))
    before = _tree(project.parent)
    result = _render(project)
    assert result.exit_code == 2, result.output
    assert says in _one_paragraph(result.output)
    assert "Traceback" not in result.output
    assert _tree(project.parent) == before


def test_unrelated_folders_and_files_are_not_replaced_without_force(project, tmp_path):
    unrelated = tmp_path / "photos"
    unrelated.mkdir()
    (unrelated / "holiday.jpg").write_bytes(b"jpeg")
    config = project / "_quarto.yml"
    text = config.read_text()
    config.write_text(text.replace("output-dir: _book", f"output-dir: {str(unrelated)!r}"))
    result = _render(project)
    assert result.exit_code == 2
    assert "is not empty and holds no results.json of an earlier render" in _one_paragraph(result.output)
    assert (unrelated / "holiday.jpg").read_bytes() == b"jpeg"
    (tmp_path / "notes.txt").write_text("mine")
    config.write_text(text.replace("output-dir: _book", f"output-dir: {str(tmp_path / 'notes.txt')!r}"))
    result = _render(project)
    assert result.exit_code == 2 and "is an existing file" in _one_paragraph(result.output)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    # The folder above the project, given as an absolute path.
    config.write_text(text.replace("output-dir: _book", f"output-dir: {str(tmp_path)!r}"))
    result = _render(project)
    assert result.exit_code == 2 and "a folder above it" in _one_paragraph(result.output)


def test_read_only_output_folder_is_refused(project):
    book = project / "_book"
    book.mkdir()
    (book / "results.json").write_text("{}")
    book.chmod(0o555)
    try:
        result = _render(project)
    finally:
        book.chmod(0o755)
    assert result.exit_code == 2
    assert "_book is read-only; the render will not replace it" in _one_paragraph(result.output)
    assert _tree(book) == {"results.json": b"{}"}


def test_symlink_to_data_is_refused(project):
    (project / "_book").symlink_to(project / "data")
    before = _tree(project / "data")
    result = _render(project)
    assert result.exit_code == 2
    assert "output-dir '_book' (a link to" in _one_paragraph(result.output)
    assert "is or contains the project's data/ folder" in _one_paragraph(result.output)
    assert _tree(project / "data") == before


def test_symlinked_output_is_written_through_and_force_replaces_a_foreign_folder(project, tmp_path):
    outside = tmp_path / "served"
    outside.mkdir()
    (outside / "old.txt").write_text("someone else's")
    (project / "_book").symlink_to(outside)
    result = _render(project)
    assert result.exit_code == 2 and "--force" in result.output
    assert (outside / "old.txt").exists()
    result = _render(project, "--force")
    assert result.exit_code == 0, result.output
    assert (project / "_book").is_symlink() and (project / "_book").resolve() == outside.resolve()
    assert (outside / "index.html").is_file() and (outside / "results.json").is_file()
    assert not (outside / "old.txt").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("served.")] == []


# --- swap, recovery, temporaries, lock -------------------------------------------------------------------------


@pytest.mark.parametrize("exchange", [True, False])
def test_swap_replaces_the_folder_whole(tmp_path, monkeypatch, exchange):
    monkeypatch.setattr(swap, "USE_EXCHANGE", exchange)
    final, new = tmp_path / "_book", tmp_path / "_book.tmp-x"
    final.mkdir()
    (final / "old.html").write_text("old")
    new.mkdir()
    (new / "new.html").write_text("new")
    calls = []
    real = swap._exchange
    monkeypatch.setattr(swap, "_exchange", lambda a, b: calls.append(real(a, b)) or calls[-1])
    swap.swap_into_place(tmp_path, new, final)
    assert calls == ([True] if exchange else [])  # renameat2(RENAME_EXCHANGE) works on this system
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_book"]
    assert [p.name for p in final.iterdir()] == ["new.html"]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_recovery_restores_an_old_book_left_by_a_killed_swap(project):
    tag = swap.project_tag(project)
    old = project / f"_book.old-{tag}-{_dead_pid()}-abcd"
    old.mkdir()
    (old / "index.html").write_text("the previous book")
    (old / "results.json").write_text("{}")
    assert swap.recover(project, (project / "_book").resolve()).startswith("restored _book/ from _book.old-")
    assert (project / "_book" / "index.html").read_text() == "the previous book"
    assert not old.exists()


def test_a_render_first_restores_the_book_a_killed_swap_left_aside(project):
    tag = swap.project_tag(project)
    old = project / f"_book.old-{tag}-{_dead_pid()}-abcd"
    old.mkdir()
    (old / "results.json").write_text('{"fixture.n_total": 8}\n')
    # Stop the render right after recovery, before any chapter runs (a failing pre-render script).
    (project / "_scripts" / "stop.py").write_text("import sys\nsys.exit(3)\n")
    config = project / "_quarto.yml"
    config.write_text(config.read_text().replace("  post-render:", "  pre-render: _scripts/stop.py\n  post-render:"))
    result = _render(project)
    assert result.exit_code == 2 and "_scripts/stop.py (pre-render script of _quarto.yml) failed (exit 3)" in result.output
    assert (project / "_book" / "results.json").read_text() == '{"fixture.n_total": 8}\n'
    assert not old.exists()


def test_only_this_projects_temporaries_of_dead_processes_are_removed(project, tmp_path):
    target = (project / "_book").resolve()
    target.mkdir()
    tag, dead = swap.project_tag(project), _dead_pid()
    mine_dead = project / f"_book.tmp-{tag}-{dead}-aaaa"
    mine_alive = project / f"_book.tmp-{tag}-{os.getppid()}-bbbb"
    other_project = project / f"_book.tmp-0badc0de-{dead}-cccc"
    scratch_dead = Path(tempfile.gettempdir()) / f"ipsreport-{tag}-{dead}-dddd"
    half_entry = project / ".ipsreport-cache" / ".02-results.x1y2"
    for folder in (mine_dead, mine_alive, other_project, scratch_dead, half_entry):
        folder.mkdir(parents=True)
    removed = swap.clean_stale(project, target)
    assert sorted(removed) == sorted([mine_dead.name, scratch_dead.name, ".ipsreport-cache/.02-results.x1y2"])
    assert mine_alive.exists() and other_project.exists()
    assert not mine_dead.exists() and not scratch_dead.exists()


def test_a_second_render_is_told_one_is_running(project):
    with render_lock(project.resolve()):
        with pytest.raises(RenderBusy, match=r"another render of this project is running \(process \d+\)"):
            render_book(project, formats=["html"], engine="builtin")
        result = _render(project)
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert result.output.startswith("another render of this project is running")
    assert not (project / "_book").exists()


def test_two_concurrent_renders_end_in_success_and_already_running(project):
    cmd = [sys.executable, "-m", "ipsreport.cli", "render", "--engine", "builtin", "--to", "html", "-C", str(project)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outs = [(p.wait(), p.stdout.read()) for p in procs]
    codes = sorted(code for code, _ in outs)
    assert codes in ([0, 0], [0, 2]), outs
    for code, out in outs:
        assert "Traceback" not in out
        if code == 2:
            assert "another render of this project is running" in out
    assert json.loads((project / "_book" / "results.json").read_text())["fixture.n_total"] == 8


# --- cache: symlinked data, damaged entries -------------------------------------------------------------------


def test_data_behind_a_symlink_rerenders_after_an_edit(project, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.move(project / "data" / "trial.csv", elsewhere / "trial.csv")
    (project / "data" / "trial.csv").symlink_to(elsewhere / "trial.csv")
    assert _render(project).exit_code == 0
    manifest = json.loads((project / ".ipsreport-cache" / "02-results" / "manifest.json").read_text())
    assert manifest["data_reads"] == ["trial.csv"]
    csv = elsewhere / "trial.csv"
    csv.write_text(csv.read_text().replace("P02,IPS,41,0", "P02,IPS,41,1"))
    summary = render_book(project, formats=["html"], engine="builtin")
    assert "chapters/02-results.qmd" in summary.executed
    assert summary.changed_results == [("fixture.employed_ips", "3", "4")]  # printed forms, from the project


def test_a_linked_data_folder_is_followed(project, tmp_path):
    shutil.move(project / "data", tmp_path / "shared-data")
    (project / "data").mkdir()
    (project / "data" / "trial.csv").symlink_to(tmp_path / "shared-data" / "trial.csv")
    (project / "data" / "ips-pain").symlink_to(tmp_path / "shared-data" / "ips-pain")
    assert "ips-pain/dataset.yaml" in cache.data_files(project)


def test_damaged_cache_entries_are_executed_again_with_a_note(project):
    assert _render(project).exit_code == 0
    entry = project / ".ipsreport-cache" / "02-results"

    def rerender():
        summary = render_book(project, formats=["html"], engine="builtin")
        return summary, " ".join(summary.notes)

    md = entry / "chapter.md"
    md.write_text(md.read_text()[:40])  # truncated
    summary, notes = rerender()
    assert "chapters/02-results.qmd" in summary.executed
    assert "cache entry of chapters/02-results.qmd is damaged (chapter.md do(es) not match the checksum)" in notes
    page = (project / "_book" / "02-results.html").read_text()
    assert "shows the same numbers as" in page and "Employment by arm" in page  # the whole chapter is back
    values = entry / "results.json"
    values.write_text(values.read_text().replace("8", "9"))  # an edited value
    summary, notes = rerender()
    assert "chapters/02-results.qmd" in summary.executed and "results.json do(es) not match" in notes
    assert json.loads((project / "_book" / "results.json").read_text())["fixture.n_total"] == 8
    (entry / "manifest.json").write_text("{garbled")
    summary, notes = rerender()
    assert "chapters/02-results.qmd" in summary.executed and "its index does not match its checksum" in notes
    summary, notes = rerender()
    assert summary.executed == [] and "damaged" not in notes


# --- environment ---------------------------------------------------------------------------------------------


def test_unwritable_cache_is_a_clear_message(project):
    (project / ".ipsreport-cache").write_text("not a folder")
    result = _render(project)
    assert result.exit_code == 2
    assert "cannot write the render cache" in _one_paragraph(result.output)
    assert "Traceback" not in result.output


def test_permission_error_midway_keeps_the_previous_book(project, monkeypatch):
    assert _render(project).exit_code == 0
    before = _tree(project / "_book")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(project / ".ipsreport-cache" / "02-results"))

    monkeypatch.setattr(cache, "store", refuse)
    result = _render(project, "--no-cache")
    assert result.exit_code == 2
    text = _one_paragraph(result.output)
    assert "02-results: Permission denied; _book/ was left as it was. Make the project" in text
    assert "Traceback" not in result.output
    assert _tree(project / "_book") == before


def test_missing_pandoc_is_one_paragraph(monkeypatch, tmp_path):
    monkeypatch.setattr(pandoc, "_bundled", lambda: None)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("PYPANDOC_PANDOC", raising=False)
    pandoc._choose.cache_clear()
    try:
        with pytest.raises(RenderError) as err:
            pandoc.run(["--version"])
    finally:
        pandoc._choose.cache_clear()
    assert "pandoc was not found" in str(err.value) and "\n" not in str(err.value)


def test_bundled_pandoc_is_preferred_to_one_on_path(monkeypatch, tmp_path):
    fake = tmp_path / "pandoc"
    fake.write_text("#!/bin/sh\necho pandoc 99.0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("PYPANDOC_PANDOC", raising=False)
    pandoc._choose.cache_clear()
    try:
        assert pandoc.describe().endswith("(bundled with pypandoc-binary)")
        assert pandoc.pandoc_path() != str(fake)
    finally:
        pandoc._choose.cache_clear()


def test_missing_typst_is_one_paragraph(monkeypatch, tmp_path):
    from ipsreport.render import pdf

    monkeypatch.setitem(sys.modules, "typst", None)
    with pytest.raises(RenderError) as err:
        pdf.write_pdf(None, {}, None, None, tmp_path, tmp_path / "book.pdf")
    assert str(err.value).startswith("Typst was not found") and "\n" not in str(err.value)


def test_the_books_data_validation_runs_before_any_chapter(tmp_path):
    root = PACKAGE.parent
    copy = tmp_path / "project"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns(".venv", ".git", "_book*", ".ipsreport-cache", "tests",
                                                              "__pycache__", ".pytest_cache"))
    participants = copy / "data" / "ips-pain" / "participants.csv"
    lines = participants.read_text().splitlines()
    lines[1] = lines[1].replace(",IPS,", ",IPSX,").replace(",TAU,", ",IPSX,")
    participants.write_text("\n".join(lines) + "\n")
    (copy / "_book").mkdir()
    (copy / "_book" / "results.json").write_text("{}\n")
    result = _render(copy)
    assert result.exit_code == 2, result.output
    text = _one_paragraph(result.output)
    assert "_scripts/validate-data.py (pre-render script of _quarto.yml) failed (exit 2)" in text
    assert "The data did not validate; no chapter was run." in text
    assert "participants.csv, line 2, column arm" in text
    assert "Traceback" not in result.output
    assert _tree(copy / "_book") == {"results.json": b"{}\n"}
    assert not (copy / ".ipsreport-cache" / "index").exists()  # no chapter ran


# --- the project's comparison for the summary ------------------------------------------------------------------


def test_a_post_render_comparison_is_read_capped_and_checked(tmp_path):
    from ipsreport.render.pipeline import MAX_CHANGES_READ, read_changes_file

    path = tmp_path / "render-changes.json"
    assert read_changes_file(path) is None  # no file: the pipeline compares results.json itself
    long = "7" * 5000
    path.write_text(json.dumps({"changed": [["a.n", "3", "4"], ["b.text", None, long]]
                                + [[f"c.{i}", "1", "2"] for i in range(2 * MAX_CHANGES_READ)],
                                "first": False, "report": "changes.md"}))
    found = read_changes_file(path)
    assert found.changed[:2] == [("a.n", "3", "4"), ("b.text", None, "7" * 200)]
    assert len(found.changed) == MAX_CHANGES_READ and found.count == 2 * MAX_CHANGES_READ + 2
    assert found.first is False and found.report == Path("changes.md")
    for bad in ({"changed": [["a.n", 3, 4]]}, {"changed": "a.n"}, {"changed": [], "report": "../../etc/passwd"},
                {"changed": [], "report": "/etc/passwd"}, [1]):
        path.write_text(json.dumps(bad))
        with pytest.raises(RenderError, match="render-changes.json"):
            read_changes_file(path)


def test_the_summary_shows_the_projects_printed_forms_and_points_to_its_report(project):
    result = _render(project)
    assert result.exit_code == 0, result.output
    data = project / "data" / "trial.csv"
    data.write_text(data.read_text().replace("P02,IPS,41,0", "P02,IPS,41,1").replace("P01,IPS,34", "P01,IPS,34.000001"))
    result = _render(project)
    assert result.exit_code == 0, result.output
    text = _one_paragraph(result.output)
    # The mean age moved only beyond its printed precision (38.25): not a change for the reader.
    assert "1 reported result(s) changed since the previous render (every change: _book/changes.md):" in text
    assert "fixture.employed_ips: 3 → 4" in text and "mean_age" not in text


def test_plain_merge_leaves_out_each_chapters_own_blocks(tmp_path):
    """Without a post-render script the engine merges the chapters' values itself; the blocks that start with
    ``_`` (a chapter's name, its printed forms) differ between chapters and are not results."""
    import json as _json
    from types import SimpleNamespace

    from ipsreport.render import pipeline

    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(_json.dumps({"x": 1, "_chapter": "a", "_reported": {"x": {}}}))
    b.write_text(_json.dumps({"y": 2, "x": 1, "_chapter": "b"}))
    pipeline._merge_plain(SimpleNamespace(out=tmp_path), {"a.qmd": a, "b.qmd": b})
    assert _json.loads((tmp_path / "results.json").read_text()) == {"x": 1, "y": 2}
    b.write_text(_json.dumps({"x": 3}))
    with pytest.raises(pipeline.RenderError, match="'x' registered with different values in a.qmd and b.qmd"):
        pipeline._merge_plain(SimpleNamespace(out=tmp_path), {"a.qmd": a, "b.qmd": b})
