"""Book numbering and cross-references, without kernels (chapters given as intermediate markdown)."""

from pathlib import Path

import pytest

from ipsreport.render import RenderError
from ipsreport.render.assemble import assemble_book
from ipsreport.render.execute import ChapterOutput
from ipsreport.render.pandoc import stringify, walk
from ipsreport.render.project import read_book

QUARTO = """project:
  type: book
book:
  title: X
  chapters:
    - index.qmd
    - a.qmd
    - notes.qmd
    - b.qmd
  appendices:
    - app.qmd
"""

CHAPTERS = {
    "index": "# Welcome {.unnumbered}\n\nSee @sec-b-two and @tbl-app.\n",
    "a": "# Alpha {#sec-a}\n\n## One {#sec-a-one}\n\n::::: {#tbl-first .ipsr-float .ipsr-tbl}\n::: {.ipsr-caption}\nFirst\n:::\n\n| x |\n|---|\n| 1 |\n:::::\n",
    "notes": "# Notes {.unnumbered}\n\nUnnumbered chapters take no number.\n",
    "b": "# Beta {#sec-b}\n\n## One\n\n## Two {#sec-b-two}\n\n### Deep {#sec-deep}\n\n"
    "::::: {#fig-plot .ipsr-float .ipsr-fig}\n::: {.ipsr-caption}\nA plot\n:::\n\n![](figures/p.png)\n:::::\n\n"
    "::::: {#tbl-second .ipsr-float .ipsr-tbl}\n::: {.ipsr-caption}\nSecond\n:::\n\ntext\n:::::\n\n"
    "Refs: @sec-a, @sec-a-one, @tbl-first, [-@fig-plot], @sec-deep.\n",
    "app": "# Appendix stuff {#sec-app}\n\n::::: {#tbl-app .ipsr-float .ipsr-tbl}\n::: {.ipsr-caption}\nApp table\n:::\n\ntext\n:::::\n",
}


def _project(tmp_path: Path, chapters: dict[str, str]) -> Path:
    (tmp_path / "_quarto.yml").write_text(QUARTO)
    for slug, text in chapters.items():
        (tmp_path / f"{slug}.qmd").write_text(text)
    return tmp_path


def _assemble(tmp_path, chapters=CHAPTERS):
    book = read_book(_project(tmp_path, chapters))
    outputs = {ch.slug: ChapterOutput(chapters[ch.slug]) for ch in book.chapters}
    work = tmp_path / "work"
    work.mkdir()
    return assemble_book(book, outputs, work)


def _links(ast):
    found = []

    def visit(node):
        if node["t"] == "Link":
            found.append((stringify(node["c"][1]), node["c"][2][0]))

    walk(ast, visit)
    return found


def test_numbers_across_chapters(tmp_path):
    ast, numbering = _assemble(tmp_path)
    assert numbering.chapter_numbers == {"index": None, "a": "1", "notes": None, "b": "2", "app": "A"}
    texts = {k: t.text for k, t in numbering.targets.items()}
    assert texts == {
        "sec-a": "Chapter 1", "sec-a-one": "Section 1.1", "tbl-first": "Table 1.1",
        "sec-b": "Chapter 2", "sec-b-two": "Section 2.2", "sec-deep": "Section 2.2.1",
        "fig-plot": "Figure 2.1", "tbl-second": "Table 2.1",
        "sec-app": "Appendix A", "tbl-app": "Table A.1",
    }
    assert numbering.targets["tbl-app"].slug == "app"
    links = _links(ast)
    assert ("Section 2.2", "#sec-b-two") in links
    assert ("Table A.1", "#tbl-app") in links
    assert ("2.1", "#fig-plot") in links  # [-@fig-plot] suppresses the "Figure" prefix
    assert ("Section 2.2.1", "#sec-deep") in links


def test_captions_above_tables_below_figures(tmp_path):
    ast, _ = _assemble(tmp_path)
    floats = {}

    def visit(node):
        if node["t"] == "Div" and "ipsr-float" in node["c"][0][1]:
            floats[node["c"][0][0]] = [stringify(b["c"][1]) if b["t"] == "Div" else b["t"] for b in node["c"][1]]

    walk(ast, visit)
    assert floats["tbl-first"][0] == "Table 1.1: First"
    assert floats["fig-plot"][-1] == "Figure 2.1: A plot"
    assert floats["tbl-app"][0] == "Table A.1: App table"


def test_headings_carry_numbers(tmp_path):
    ast, numbering = _assemble(tmp_path)
    heads = []
    walk(ast, lambda n: heads.append(stringify(n["c"][2])) if n["t"] == "Header" else None)
    assert heads == ["Welcome", "1 Alpha", "1.1 One", "Notes", "2 Beta", "2.1 One", "2.2 Two", "2.2.1 Deep",
                     "A Appendix stuff"]
    assert numbering.chapter_titles["b"] == "2\u2002Beta"


def test_unknown_cross_reference_names_file_and_line(tmp_path):
    chapters = dict(CHAPTERS, notes="# Notes {.unnumbered}\n\nfine\n\nBroken @tbl-missing here.\n")
    with pytest.raises(RenderError) as err:
        _assemble(tmp_path, chapters)
    assert "notes.qmd:5: unknown cross-reference @tbl-missing" in str(err.value)
