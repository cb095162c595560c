"""Kernels forked from the preloading pool behave exactly like one fresh kernel per chapter.

The pool (ipsreport/render/execute.py, ``KernelPool``) imports the heavy modules once and forks a kernel per
chapter. These tests run the same chapters both ways and compare what they produce, and check that nothing a
chapter does (a variable, the results registry, matplotlib's rcParams, a module's globals) reaches the next one.
"""

import json
import re
import shutil
import textwrap
from pathlib import Path

import pytest

from ipsreport.render import cache, execute
from ipsreport.render.engine import render_book
from ipsreport.render.project import read_book
from ipsreport.render.qmd import read_qmd

FIXTURE = Path(__file__).parent / "fixtures" / "book"
PRELOAD = ["json", "pandas", "matplotlib", "matplotlib.pyplot", "great_tables", "ipsreport.results"]

CONFIG = """\
project:
  type: book
  output-dir: _book
book:
  title: "Leaks"
  chapters:
    - index.qmd
    - chapters/a.qmd
    - chapters/b.qmd
execute:
  echo: false
format:
  html: {}
"""

# Chapter a changes everything a chapter could leak; chapter b reports what it sees.
CHAPTER_A = """\
# A

```{python}
import json
import matplotlib as mpl
import matplotlib.pyplot as plt
from ipsreport.results import register
leaked_variable = 41
json.ipsr_marker = "set by chapter a"
mpl.rcParams["lines.linewidth"] = 9.5
register("a.value", 1)
open("data/a.csv").read()
```

A sees `{python} leaked_variable + 1`.
"""

CHAPTER_B = """\
# B

```{python}
import json
import matplotlib as mpl
from ipsreport.results import register, registered
seen = {
    "variable": "leaked_variable" in globals(),
    "module_global": getattr(json, "ipsr_marker", None),
    "linewidth": mpl.rcParams["lines.linewidth"],
    "registry": sorted(registered()),
}
register("b.value", 2)
open("data/b.csv").read()
```

B sees `{python} json.dumps(seen, sort_keys=True)`.
"""


@pytest.fixture
def leak_book(tmp_path):
    root = tmp_path / "book"
    (root / "chapters").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "_quarto.yml").write_text(CONFIG, encoding="utf-8")
    (root / "index.qmd").write_text("# Preface\n\nNo code.\n", encoding="utf-8")
    (root / "chapters" / "a.qmd").write_text(CHAPTER_A, encoding="utf-8")
    (root / "chapters" / "b.qmd").write_text(CHAPTER_B, encoding="utf-8")
    (root / "data" / "a.csv").write_text("x\n1\n", encoding="utf-8")
    (root / "data" / "b.csv").write_text("y\n2\n", encoding="utf-8")
    return root


def _run_chapters(root: Path, work: Path, pool):
    book = read_book(root)
    outputs = {}
    for ch in book.chapters:
        doc = read_qmd(book.root, ch.path)
        if doc.needs_kernel:
            outputs[ch.slug] = execute.execute_chapter(book, ch, doc, work, pool)
    return outputs


def test_no_state_leaks_between_forked_chapters(leak_book, tmp_path):
    work = tmp_path / "work"
    pool = execute.KernelPool(leak_book, work, PRELOAD)
    try:
        assert pool.failed == []
        outputs = _run_chapters(leak_book, work, pool)
    finally:
        pool.close()
    b = outputs["b"]
    shown = b.markdown.split("B sees ", 1)[1].strip().rstrip(".")
    seen = json.loads(re.sub(r"\\(.)", r"\1", shown))  # the inline value is markdown-escaped
    # matplotlib's default line width is 1.5: chapter a's 9.5 must not arrive.
    assert seen == {"variable": False, "module_global": None, "linewidth": 1.5, "registry": []}
    def values(results: dict) -> dict:  # the registered values, without the registry's own "_" records
        return {k: v for k, v in results.items() if not k.startswith("_")}

    assert values(outputs["a"].results) == {"a.value": 1} and values(b.results) == {"b.value": 2}
    # Each chapter's audit hook saw its own reads only.
    assert outputs["a"].data_reads == ["a.csv"] and b.data_reads == ["b.csv"]
    assert "A sees 42." in outputs["a"].markdown


def test_forked_chapters_match_fresh_kernels(leak_book, tmp_path):
    pool = execute.KernelPool(leak_book, tmp_path / "work-fork", PRELOAD)
    try:
        forked = _run_chapters(leak_book, tmp_path / "work-fork", pool)
    finally:
        pool.close()
    fresh = _run_chapters(leak_book, tmp_path / "work-fresh", None)
    assert {k: (o.markdown, o.figures, o.results, o.data_reads) for k, o in forked.items()} == \
           {k: (o.markdown, o.figures, o.results, o.data_reads) for k, o in fresh.items()}


def _without_table_ids(data: bytes) -> bytes:
    """great_tables gives each table a random 10-letter id (different in every process, forked or not)."""
    for ident in set(re.findall(rb'<div id=\\?"([a-z]{10})\\?" style=\\?"padding-left', data)):  # also in JSON
        data = data.replace(ident, b"GT-TABLE-ID")
    return data


def test_fixture_book_identical_with_fresh_kernels(tmp_path, monkeypatch):
    """results.json and every chapter's intermediate output (markdown, figures) of the whole fixture book, rendered
    with forked kernels (preloading pandas, matplotlib, great_tables) and with one fresh kernel per chapter."""
    snapshot = tmp_path / "package" / "ipsreport"
    shutil.copytree(cache.package_dir(), snapshot, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "package_dir", lambda: snapshot)
    produced = {}
    for mode in ("fork", "fresh"):
        project = tmp_path / mode
        shutil.copytree(FIXTURE, project)
        config = project / "_quarto.yml"
        config.write_text(config.read_text(encoding="utf-8") + textwrap.dedent(f"""
            ipsreport:
              preload: {json.dumps(PRELOAD)}
            """), encoding="utf-8")
        monkeypatch.setenv("IPSREPORT_KERNELS", mode)
        summary = render_book(project, formats=["html"], engine="builtin", use_cache=False)
        assert len(summary.executed) == 3
        entries = {p.relative_to(project / cache.CACHE_DIR).as_posix(): p.read_bytes()
                   for p in sorted((project / cache.CACHE_DIR).rglob("*"))
                   if p.is_file() and p.name not in {cache.MANIFEST, cache.MANIFEST_SUM}
                   and p.parent.name != cache.FORMATS_DIR  # chapter entries only
                   and "_changes" not in p.parts  # the change report's history, not a chapter's output
                   and p.name != cache.TIMES_FILE  # how long chapters took: only orders the next execution
                   and p.suffix != ".svg"}  # SVGs carry matplotlib's date and random ids; the PNGs compare
        results = json.loads((project / "_book" / "results.json").read_text(encoding="utf-8"))
        results.pop("_meta")  # provenance: render time and engine differ by design
        produced[mode] = (results,
                          {name: _without_table_ids(data) for name, data in entries.items()})
    assert any(name.endswith("chapter.md") for name in produced["fork"][1])
    assert produced["fork"][0] == produced["fresh"][0]
    fork, fresh = produced["fork"][1], produced["fresh"][1]
    assert sorted(fork) == sorted(fresh)
    assert [name for name in fork if fork[name] != fresh[name]] == []


def test_preload_list_is_checked():
    from ipsreport.render import RenderError

    assert execute.preload_modules({"ipsreport": {"preload": ["pandas"]}}) == ["pandas"]
    assert execute.preload_modules({}) == []
    with pytest.raises(RenderError, match="ipsreport.preload"):
        execute.preload_modules({"ipsreport": {"preload": "pandas"}})


def test_a_module_that_cannot_be_preloaded_is_reported(leak_book, tmp_path):
    pool = execute.KernelPool(leak_book, tmp_path / "work", ["json", "no_such_module_ipsr"])
    try:
        assert [f.split(":")[0] for f in pool.failed] == ["no_such_module_ipsr"]
    finally:
        pool.close()


WARM_V1 = """\
# A

```{python}
import xml.dom.minidom
from ipsreport.results import register
old_only = "defined by the first version"
register("a.first", 1)
open("data/a.csv").read()
```

First version.
"""

WARM_V2 = """\
# A

```{python}
import sys
state = {
    "old_variable": "old_only" in globals(),
    "imported_ahead": "xml.dom.minidom" in sys.modules,
    "main_names": sorted(n for n in globals() if not n.startswith("_")
                         and n not in {"In", "Out", "get_ipython", "exit", "quit", "open", "sys"}),
}
from ipsreport.results import register, registered
state["registry_before"] = sorted(registered())
register("a.second", 2)
open("data/b.csv").read()
```

Second version sees `{python} json.dumps(state, sort_keys=True)`.

```{python}
import json
```
"""


def test_warm_kernel_runs_an_edited_chapter_in_a_clean_namespace(leak_book, tmp_path):
    """A chapter's warm kernel (started ahead, setup run, the previous run's modules imported) runs the next
    version of the chapter with nothing of the previous run: no variable, no registered value, its own reads."""
    chapter_file = leak_book / "chapters" / "a.qmd"
    chapter_file.write_text(WARM_V1, encoding="utf-8")
    work = tmp_path / "work"
    book = read_book(leak_book)
    ch = next(c for c in book.chapters if c.slug == "a")
    pool = execute.KernelPool(leak_book, work, PRELOAD)
    try:
        first = execute.execute_chapter(book, ch, read_qmd(book.root, ch.path), work, pool)
        assert first.data_reads == ["a.csv"]
        assert pool.prestart(book, ch) and pool.has_spare("a")
        chapter_file.write_text(WARM_V2.replace("`{python} json.dumps", "`{python} __import__('json').dumps"),
                                encoding="utf-8")
        warm_before = execute.WARM_KERNELS
        second = execute.execute_chapter(book, ch, read_qmd(book.root, ch.path), work / "next", pool)
        assert execute.WARM_KERNELS == warm_before + 1 and not pool.has_spare("a")
    finally:
        pool.close()
    shown = second.markdown.split("Second version sees ", 1)[1].strip().rstrip(".")
    state = json.loads(re.sub(r"\\(.)", r"\1", shown))
    assert state == {"old_variable": False, "imported_ahead": True, "main_names": [], "registry_before": []}
    # The registry wrote to this run's results file (work/next), with this run's values only.
    assert {k: v for k, v in second.results.items() if not k.startswith("_")} == {"a.second": 2}
    assert second.data_reads == ["b.csv"]


def test_warm_kernel_output_matches_a_forked_kernel(leak_book, tmp_path):
    book = read_book(leak_book)
    ch = next(c for c in book.chapters if c.slug == "b")
    doc = read_qmd(book.root, ch.path)
    pool = execute.KernelPool(leak_book, tmp_path / "work", PRELOAD)
    try:
        forked = execute.execute_chapter(book, ch, doc, tmp_path / "work" / "1", pool)
        assert pool.prestart(book, ch)
        warm = execute.execute_chapter(book, ch, doc, tmp_path / "work" / "2", pool)
    finally:
        pool.close()
    assert (warm.markdown, warm.figures, warm.results, warm.data_reads) == \
           (forked.markdown, forked.figures, forked.results, forked.data_reads)


def test_discarded_warm_kernels_are_not_used(leak_book, tmp_path):
    book = read_book(leak_book)
    ch = next(c for c in book.chapters if c.slug == "b")
    pool = execute.KernelPool(leak_book, tmp_path / "work", PRELOAD)
    try:
        assert pool.prestart(book, ch)
        pool.discard_spares()
        assert not pool.has_spare("b")
        warm_before = execute.WARM_KERNELS
        execute.execute_chapter(book, ch, read_qmd(book.root, ch.path), tmp_path / "work" / "1", pool)
        assert execute.WARM_KERNELS == warm_before
    finally:
        pool.close()


def test_chapters_run_longest_first_by_their_last_times(leak_book, monkeypatch):
    """With one worker, the chapter that took longest last time starts first; every run records its times."""
    from ipsreport.render import engine

    for name in ("a", "b"):  # chapters without registered values (this book has no post-render script)
        (leak_book / "chapters" / f"{name}.qmd").write_text(f"# {name}\n\n```{{python}}\nx = 1\n```\n",
                                                            encoding="utf-8")
    cache.record_chapter_times(leak_book, {"chapters/a.qmd": 0.5, "chapters/b.qmd": 7.0})
    order = []
    real = execute.execute_chapter

    def recording(book, ch, *args, **kwargs):
        order.append(ch.slug)
        return real(book, ch, *args, **kwargs)

    monkeypatch.setattr(execute, "execute_chapter", recording)
    monkeypatch.setattr(engine.os, "cpu_count", lambda: 1)
    render_book(leak_book, formats=["html"], engine="builtin", use_cache=False)
    assert order == ["b", "a"]
    times = cache.chapter_times(leak_book)
    assert set(times) == {"chapters/a.qmd", "chapters/b.qmd"} and times["chapters/b.qmd"] != 7.0
