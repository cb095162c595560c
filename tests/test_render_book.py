"""Whole-book renders of tests/fixtures/book with the built-in engine (each render takes a few seconds)."""

import json
import shutil
from pathlib import Path

import docx
from docx.oxml.ns import qn
import pypdf
import pytest
from bs4 import BeautifulSoup

from ipsreport.render import RenderError, cache, execute
from ipsreport.render.engine import render_book
from ipsreport.render.pipeline import HookError
from conftest import package_snapshot

FIXTURE = Path(__file__).parent / "fixtures" / "book"
PAGES = ["index.html", "01-methods.html", "02-results.html", "references.html", "appendix-extra.html"]
CODE_CHAPTERS = ["chapters/01-methods.qmd", "chapters/02-results.qmd", "chapters/appendix-extra.qmd"]


@pytest.fixture(scope="module", autouse=True)
def isolated_engine(tmp_path_factory):
    # The cache key hashes the ipsreport package, which may be edited while the tests run: hash a snapshot of it.
    # (The fixture book has no pre-render data validation: its data do not follow the project's dictionary.)
    with package_snapshot(tmp_path_factory.mktemp("package")) as snapshot:
        yield snapshot


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    project = tmp_path_factory.mktemp("render") / "book"
    shutil.copytree(FIXTURE, project)
    summary = render_book(project, engine="builtin")
    return project, summary


@pytest.fixture
def copy_of_rendered(rendered, tmp_path):
    project = tmp_path / "book"
    shutil.copytree(rendered[0], project)
    return project


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _html(project, page):
    return BeautifulSoup((project / "_book" / page).read_text(encoding="utf-8"), "lxml")


def _pdf_text(project) -> str:
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(project / "_book" / "book.pdf").pages)


def _leftovers(project):
    return sorted(p.name for p in project.iterdir() if p.name.startswith(("_book.tmp-", "_book.old-")))


def test_first_render_writes_every_format_and_results(rendered):
    project, summary = rendered
    book = project / "_book"
    for name in [*PAGES, "book.pdf", "book.docx", "results.json", "figures/02-results-1.png"]:
        assert (book / name).is_file(), name
    assert summary.executed == CODE_CHAPTERS
    assert summary.cached == [] and summary.kernels_started == 3
    assert summary.static == ["index.qmd", "chapters/references.qmd"]
    text = (book / "results.json").read_text()
    values = {k: v for k, v in json.loads(text).items() if not k.startswith("_")}  # _meta, _reported: see test_changes
    assert values == {"fixture.employed_ips": 3, "fixture.mean_age": 38.25, "fixture.n_total": 8}
    assert list(json.loads(text)) == sorted(json.loads(text))
    assert summary.changed_results == [  # printed forms
        ("fixture.employed_ips", None, "3"), ("fixture.mean_age", None, "38.25"), ("fixture.n_total", None, "8")
    ]
    assert ("_book/book.pdf", (book / "book.pdf").stat().st_size) in summary.files
    assert _leftovers(project) == []


def test_html_pages_cross_references_and_notice(rendered):
    project, _ = rendered
    for page in PAGES:
        soup = _html(project, page)
        assert soup.select_one(".ipsr-notice").get_text() == "Notice. Fixture notice: these data are synthetic."
        assert [a["href"] for a in soup.select(".ipsr-sidebar li a")] == PAGES
        # Self-contained: inline CSS and script (search), nothing loaded from elsewhere.
        assert not soup.find_all("link") and not soup.find_all("script", src=True)
    methods = _html(project, "01-methods.html")
    assert methods.title.get_text() == "1\u2002Methods – Fixture Trial Report"
    xrefs = {a.get_text(): a["href"] for a in methods.select("a.quarto-xref")}
    assert xrefs == {
        "Table 2.1": "02-results.html#tbl-outcomes", "Figure 2.1": "02-results.html#fig-outcome",
        "Chapter 2": "02-results.html#sec-results", "Appendix A": "appendix-extra.html#sec-extra",
    }
    body = methods.select_one(".ipsr-content").get_text()
    assert "We randomized 8 participants" in body and "16 is twice the sample" in body
    assert '#| label: fig-not-a-cell\nprint("this is shown, never run")' in methods.find("pre").get_text()
    assert methods.select_one("div.callout-note") is not None
    results = _html(project, "02-results.html")
    assert results.select_one("#tbl-outcomes .ipsr-caption-text").get_text(strip=True) == "Table 2.1: Employment by arm"
    fig = results.select_one("#fig-outcome")
    assert fig.find("img")["src"] == "figures/02-results-1.png"
    assert fig.select(".ipsr-caption-text")[-1].get_text(strip=True) == "Figure 2.1: Employment percentage by arm"
    assert results.select_one("#tbl-outcomes style") is not None  # the GT table keeps its own styling in HTML
    appendix = _html(project, "appendix-extra.html")
    assert appendix.select_one("#tbl-ages .ipsr-caption-text").get_text(strip=True) == "Table A.1: Age by arm"
    assert appendix.find("strong", string="Bold from asis output.") is not None
    assert appendix.find("code", string='print("model fitted")') is not None  # echo: true


def test_citations_numbered_once_for_the_book(rendered):
    project, _ = rendered
    index = _html(project, "index.html").select_one(".citation")
    assert index.get_text() == "[1]" and index.a["href"] == "references.html#ref-bond2012"
    assert _html(project, "01-methods.html").select_one(".citation").get_text() == "[1,2]"
    entries = [e.get_text(" ", strip=True) for e in _html(project, "references.html").select("#refs .csl-entry")]
    assert len(entries) == 2  # the uncited entry is not listed
    assert entries[0].startswith("1. Bond GR, Drake RE, Becker DR.") and entries[1].startswith("2. Reme SE")
    pdf = _pdf_text(project)
    assert "1. Bond GR, Drake RE, Becker DR." in pdf and "arms [2]" in pdf
    paragraphs = [p.text for p in docx.Document(project / "_book" / "book.docx").paragraphs]
    assert any(p.startswith("1.") and "Bond GR" in p for p in paragraphs)


def test_every_html_table_is_a_native_table_in_docx_and_text_in_pdf(rendered):
    project, _ = rendered
    html_tables = [t for page in PAGES for t in _html(project, page).find_all("table")]
    document = docx.Document(project / "_book" / "book.docx")
    assert len(html_tables) == len(document.tables) == 2
    pdf = " ".join(_pdf_text(project).split())
    for html_table, docx_table in zip(html_tables, document.tables):
        docx_cells = {c.text.strip() for row in docx_table.rows for c in row.cells}
        for cell in html_table.find_all(["td", "th"]):
            text = cell.get_text(" ", strip=True)
            if text and cell.find_parent("tfoot") is None:
                assert text in docx_cells
                assert text in pdf
            elif text:  # source notes become a paragraph after the table (said once, not on every page)
                assert text in {p.text for p in document.paragraphs}
                assert text in pdf
    outcomes = document.tables[0]
    spanner = outcomes.rows[0].cells
    assert spanner[2].text == "Employment" and spanner[2]._tc is spanner[3]._tc  # colspan kept
    assert "Source: fixture trial data" not in {c.text for row in outcomes.rows for c in row.cells}
    assert [c.paragraphs[0].alignment for c in outcomes.rows[2].cells][1:] == [2, 2, 2]  # right-aligned numbers
    # Word's Caption style; the number's last part is a SEQ field, whose text python-docx's p.text leaves out.
    styles = {"".join(t.text or "" for t in p._p.iter(qn("w:t"))): p.style.name for p in document.paragraphs}
    assert styles["Table 2.1: Employment by arm"] == "Caption"
    assert styles["Figure 2.1: Employment percentage by arm"] == "Caption"
    for caption in ["Table 2.1: Employment by arm", "Figure 2.1: Employment percentage by arm", "Table A.1: Age by arm"]:
        assert caption in pdf
    assert "Figure 1:" not in pdf and "Table 1:" not in pdf  # typst's own figure numbering is off


def test_title_page_and_front_matter(rendered):
    project, _ = rendered
    first = pypdf.PdfReader(project / "_book" / "book.pdf").pages[0].extract_text()
    for text in ["Fixture Trial Report", "A tiny book for the render tests", "Test Author", "2024-05-01",
                 "Fixture notice: these data are synthetic.", "We report a tiny fixture trial"]:
        assert text in first
    paragraphs = [(p.style.name, p.text) for p in docx.Document(project / "_book" / "book.docx").paragraphs]
    assert paragraphs[0] == ("Title", "Fixture Trial Report")
    assert ("Notice", "Notice. Fixture notice: these data are synthetic.") in paragraphs
    assert ("Heading 1", "Preface") in paragraphs and ("Heading 1", "2 Results") in paragraphs
    assert ("Heading 1", "A Extra details") in paragraphs


def test_unchanged_rerender_starts_no_kernel(copy_of_rendered):
    before = _tree(copy_of_rendered / "_book")
    data = copy_of_rendered / "data" / "trial.csv"
    data.write_bytes(data.read_bytes())  # new mtime, same content: not a change
    summary = render_book(copy_of_rendered, engine="builtin")
    assert summary.kernels_started == 0 and summary.executed == []
    assert summary.cached == CODE_CHAPTERS
    assert summary.changed_results == []
    after = _tree(copy_of_rendered / "_book")
    assert after.keys() == before.keys()
    for name in ["index.html", "02-results.html", "figures/02-results-1.png"]:
        assert after[name] == before[name], name
    old, new = json.loads(before["results.json"]), json.loads(after["results.json"])
    assert old.pop("_meta")["rendered_at"] <= new.pop("_meta")["rendered_at"]  # only the provenance differs
    assert new == old


def test_package_change_changes_every_code_chapter_key(rendered, isolated_engine):
    from ipsreport.render.project import read_book

    book = read_book(rendered[0])
    before = cache.shared_key(book)
    (isolated_engine / "figures_extra.py").write_text("# a new module\n")
    try:
        assert cache.shared_key(book) != before
    finally:
        (isolated_engine / "figures_extra.py").unlink()
    assert cache.shared_key(book) == before


def test_data_change_reexecutes_and_reports_changed_results(copy_of_rendered):
    data = copy_of_rendered / "data" / "trial.csv"
    data.write_text(data.read_text().replace("P02,IPS,41,0", "P02,IPS,41,1"))
    summary = render_book(copy_of_rendered, engine="builtin")
    assert "chapters/02-results.qmd" in summary.executed and summary.kernels_started == 3
    assert summary.changed_results == [("fixture.employed_ips", "3", "4")]
    assert "5 participants were employed" in (copy_of_rendered / "_book" / "02-results.html").read_text()


def test_failing_cell_names_chapter_label_and_error_and_keeps_old_book(copy_of_rendered):
    before = _tree(copy_of_rendered / "_book")
    chapter = copy_of_rendered / "chapters" / "02-results.qmd"
    source = chapter.read_text()
    chapter.write_text(source.replace("#| tbl-cap: \"Employment by arm\"\n",
                                      "#| tbl-cap: \"Employment by arm\"\nraise ValueError('bad arm coding')\n"))
    with pytest.raises(RenderError) as err:
        render_book(copy_of_rendered, engine="builtin")
    assert str(err.value) == (
        "chapters/02-results.qmd:17: cell 'tbl-outcomes' failed:\n  ValueError: bad arm coding"
    )
    assert _tree(copy_of_rendered / "_book") == before
    assert _leftovers(copy_of_rendered) == []
    # An unlabelled cell is named by the line of its fence.
    chapter.write_text(source.replace("import pandas as pd\n", "import pandas as pd\nimport no_such_module\n", 1))
    with pytest.raises(RenderError) as err:
        render_book(copy_of_rendered, engine="builtin")
    assert str(err.value).startswith("chapters/02-results.qmd:3: cell failed:\n  ModuleNotFoundError: No module named")
    assert _tree(copy_of_rendered / "_book") == before


def test_no_cache_render_swaps_a_fresh_book_in(copy_of_rendered):
    stale = copy_of_rendered / "_book" / "stale.txt"
    stale.write_text("from an old render")
    summary = render_book(copy_of_rendered, formats=["html"], use_cache=False, engine="builtin")
    assert summary.kernels_started == 3 and summary.cached == []
    assert not stale.exists()
    assert (copy_of_rendered / "_book" / "book.pdf").exists()  # formats not asked for are kept, as Quarto does
    assert (copy_of_rendered / "_book" / "index.html").exists()
    assert _leftovers(copy_of_rendered) == []


PRE_RENDER_FAILING = """import sys
print("data/trial.csv, line 3, column age: value -1 below 18", file=sys.stderr)
sys.exit(2)
"""


def test_validation_failure_renders_nothing(copy_of_rendered):
    project = copy_of_rendered
    (project / "_scripts" / "check.py").write_text(PRE_RENDER_FAILING)
    config = project / "_quarto.yml"
    config.write_text(config.read_text().replace("  post-render:", "  pre-render: _scripts/check.py\n  post-render:"))
    before = _tree(project / "_book")
    kernels = execute.KERNEL_STARTS
    with pytest.raises(HookError) as err:
        render_book(project, use_cache=False, engine="builtin")
    assert err.value.exit_code == 2
    assert "_scripts/check.py (pre-render script of _quarto.yml) failed (exit 2)" in str(err.value)
    assert "data/trial.csv, line 3, column age: value -1 below 18" in str(err.value)
    assert execute.KERNEL_STARTS == kernels  # no chapter ran
    assert _tree(project / "_book") == before
    assert _leftovers(project) == []


def test_rendering_one_format_keeps_the_others(copy_of_rendered):
    project = copy_of_rendered
    before = _tree(project / "_book")
    render_book(project, formats=["docx"], engine="builtin")
    after = _tree(project / "_book")
    assert set(after) == set(before)  # the HTML pages, figures and PDF of the previous render are still there
    assert after["book.pdf"] == before["book.pdf"] and after["index.html"] == before["index.html"]
    assert not _leftovers(project)


def test_cache_follows_the_data_files_each_chapter_read(copy_of_rendered):
    project = copy_of_rendered
    render_book(project, engine="builtin")  # warm the cache of this copy
    # No chapter opens dataset.yaml (the engine reads it for the notice): nothing is re-executed.
    facts = project / "data" / "ips-pain" / "dataset.yaml"
    facts.write_text(facts.read_text().replace("Fixture notice", "Changed notice"))
    summary = render_book(project, engine="builtin")
    assert summary.kernels_started == 0
    assert "Changed notice" in (project / "_book" / "index.html").read_text()
    # A new file under data/ might be read by any chapter (e.g. one listing the folder): all re-run.
    (project / "data" / "extra.csv").write_text("a\n1\n")
    summary = render_book(project, engine="builtin")
    assert summary.kernels_started == 3
    manifest = json.loads((project / ".ipsreport-cache" / "02-results" / "manifest.json").read_text())
    assert manifest["data_reads"] == ["trial.csv"]
