"""The manuscript's pure parts, with hand-made inputs: line locator, word counts, checklist, bundle, includes,
front matter, DOCX layout."""

import zipfile
from pathlib import Path

import pytest

from ipsreport.render import RenderError
from ipsreport.render.bundle import BundleItem, read_manifest, write_bundle
from ipsreport.render.checklist import ChecklistItem, fill_checklist, load_checklists, missing_required, where_text
from ipsreport.render.frontmatter import authors_from_metadata, identifying_strings, normalize_author, placeholders
from ipsreport.render.include import expand_includes, included_files
from ipsreport.render.lines import Anchor, LineMark, Location, locate
from ipsreport.render.wordcount import Paragraph, count_words, journal_word_counts

ROOT = Path(__file__).resolve().parents[1]


def _marks(page, first, n, top=72.0, step=24.0):
    return [LineMark(first + i, page, top + i * step, top + i * step + 10) for i in range(n)]


def test_locate_matches_positions_to_line_number_glyphs():
    marks = _marks(1, 1, 30) + _marks(2, 31, 30)
    # Start just above line 5 (top 168), end below line 8 (mid 245): lines 5–8.
    got = locate([Anchor("a", "start", 1, 166.0), Anchor("a", "end", 1, 262.0)], marks)
    assert got["a"] == Location("a", 1, 1, 5, 8)
    # Across a page break: page 1 line 29 to page 2 line 32.
    got = locate([Anchor("b", "start", 1, 742.0), Anchor("b", "end", 2, 110.0)], marks)
    assert got["b"] == Location("b", 1, 2, 29, 32)
    # A place between numbered lines (a table) takes the next line.
    got = locate([Anchor("t", "start", 1, 90.0), Anchor("t", "end", 1, 91.0)], marks)
    assert (got["t"].first_line, got["t"].last_line) == (2, 2)


def test_count_words_counts_tokens_with_a_letter_or_digit():
    assert count_words("IPS (52.8%) vs – TAU = 0.336; 12-month") == 6


def test_journal_word_counts_skip_headings_tables_captions_and_references():
    paras = [Paragraph("Title", "A title of seven words here ok"), Paragraph("Heading1", "Abstract"),
             Paragraph("BodyText", "one two three"), Paragraph("Heading1", "Introduction"),
             Paragraph("BodyText", "four five"), Paragraph("TableCaption", "Table 1: not counted"),
             Paragraph("Compact", "cell text", in_table=True), Paragraph("Heading2", "Sub"),
             Paragraph("FirstParagraph", "six seven eight"), Paragraph("Heading1", "References"),
             Paragraph("Bibliography", "1. Someone 2020")]
    counts = journal_word_counts(paras)
    assert (counts.abstract, counts.main_text) == (3, 5)


def test_checklist_fill_and_text():
    items = [ChecklistItem("c", "1a", "Title", ("@title",), True), ChecklistItem("c", "6", "Bg", ("x", "y"), True),
             ChecklistItem("c", "8", "PPI", (), True), ChecklistItem("c", "9", "Opt", ("gone",), False)]
    rows = fill_checklist(items, {"y": Location("y", 3, 3, 40, 44)})
    assert [(r.id, r.status, r.page, r.first_line, r.last_line) for r in rows] == [
        ("1a", "reported", 1, None, None), ("6", "reported", 3, 40, 44), ("8", "not reported", None, None, None),
        ("9", "not reported", None, None, None)]
    assert where_text(rows[1]) == "reported on page 3, lines 40\u201344"
    assert [r.id for r in missing_required(rows)] == ["8"]


def test_project_checklist_has_the_30_consort_2025_items_and_places_that_exist():
    heads, items = load_checklists(ROOT / "config" / "consort-checklist.yaml")
    consort = [i for i in items if i.checklist == "consort-2025"]
    assert len({i.id.rstrip("abcd") for i in consort}) == 30
    sources = "\n".join(p.read_text() for p in [*ROOT.glob("chapters/*.qmd"), ROOT / "manuscript.qmd",
                                                 ROOT / "ipsreport" / "declarations.py"])
    for item in items:
        for place in item.places:
            # Section and div ids in the sources; the declarations' ids are written by ipsreport.declarations.
            assert place == "@title" or any(s in sources for s in (f"#{place}", f'"{place}"', f"label: {place}\n")), (
                item.id, place)


def test_bad_checklist_is_a_located_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("checklists:\n  - id: c\n    items:\n      - {id: '1'}\n")
    with pytest.raises(RenderError, match=r"items\[0\]: needs an id and a title"):
        load_checklists(path)


def test_bundle_manifest_lists_files_roles_and_sha256(tmp_path):
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.7 a")
    (tmp_path / "b.png").write_bytes(b"png")
    target = tmp_path / "s.zip"
    write_bundle(target, [BundleItem(tmp_path / "a.pdf", "a.pdf", "manuscript"),
                          BundleItem(tmp_path / "b.png", "figures/b.png", "figure")])
    rows = read_manifest(target)
    # sha256 of b"png" from coreutils: `printf png | sha256sum`.
    assert rows[1] == {"file": "figures/b.png", "role": "figure", "media_type": "image/png",
                       "sha256": "8f8cbb7dcf46e0bc7d53265749a6c17d116093a6ba95e442764060c76fd4a86c", "bytes": 3}
    with zipfile.ZipFile(target) as z:
        assert 'item-type="figure"' in z.read("manifest.xml").decode()
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in z.infolist())
    with pytest.raises(ValueError, match="duplicate"):
        write_bundle(target, [BundleItem(tmp_path / "a.pdf", "a.pdf", "x")] * 2)


def test_includes_expand_relative_to_the_including_file(tmp_path):
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "_part.qmd").write_text("---\ntitle: x\n---\nPART {{< include _inner.qmd >}}\n")
    (tmp_path / "chapters" / "_inner.qmd").write_text("INNER\n")
    (tmp_path / "chapters" / "a.qmd").write_text("before\n{{< include _part.qmd >}}\nafter\n")
    # The include inside _part.qmd is not alone on its line, so it stays text (Quarto's rule here).
    assert expand_includes(tmp_path, "chapters/a.qmd") == "before\nPART {{< include _inner.qmd >}}\nafter\n"
    (tmp_path / "chapters" / "_part.qmd").write_text("{{< include /chapters/_inner.qmd >}}\n")
    assert expand_includes(tmp_path, "chapters/a.qmd") == "before\nINNER\nafter\n"
    assert included_files(tmp_path, "chapters/a.qmd") == ["chapters/_part.qmd", "chapters/_inner.qmd"]
    (tmp_path / "chapters" / "_inner.qmd").write_text("{{< include a.qmd >}}\n")
    with pytest.raises(RenderError, match="includes itself"):
        expand_includes(tmp_path, "chapters/a.qmd")
    (tmp_path / "chapters" / "a.qmd").write_text("x\n{{< include nope.qmd >}}\n")
    with pytest.raises(RenderError, match=r"chapters/a.qmd:2: included file chapters/nope.qmd does not exist"):
        expand_includes(tmp_path, "chapters/a.qmd")


def test_author_schema_placeholders_and_identifying_strings():
    meta = [{"name": "Ada Lovelace", "email": "TO BE SUPPLIED: e-mail", "orcid": "0000-0001-2345-6789",
             "corresponding": True, "affiliations": [{"id": "u", "name": "Analytical Unit"}]},
            {"name": {"given": "Charles", "family": "Babbage"}, "affiliations": ["u"]}]
    authors = authors_from_metadata(meta, [{"id": "u", "name": "Analytical Unit"}])
    assert authors[0].email is None and authors[0].corresponding and authors[1].name == "Charles Babbage"
    assert authors[1].affiliations == ("Analytical Unit",)
    assert placeholders({"author": meta}) == ["author[0].email"]
    assert normalize_author(meta[0]) == {"name": "Ada Lovelace", "affiliation": "Analytical Unit"}
    assert identifying_strings(meta, [{"id": "u", "name": "Analytical Unit"}]) == [
        "0000-0001-2345-6789", "Analytical Unit", "Charles Babbage", "Ada Lovelace"]


def test_the_projects_author_metadata_keeps_the_book_title_page(tmp_path):
    from ipsreport.render.project import read_book

    book = read_book(ROOT)
    assert book.authors == [{"name": "ipsreport contributors", "affiliation": "ipsreport project"}]


def test_docx_journal_layout(tmp_path):
    from ipsreport.render import pandoc
    from ipsreport.render.docxlayout import apply_journal_layout

    target = tmp_path / "x.docx"
    pandoc.ast_to(pandoc.markdown_to_ast("Hello world."), "docx", ["-o", str(target)])
    apply_journal_layout(target, paper="a4", font_pt=12, double=True, line_numbers=True)
    with zipfile.ZipFile(target) as z:
        doc = z.read("word/document.xml").decode()
        assert '<w:pgSz w:w="11906" w:h="16838"/>' in doc and 'w:restart="continuous"' in doc
        assert "PAGE" in z.read("word/footer-ipsr.xml").decode()
        assert 'w:line="480"' in z.read("word/styles.xml").decode()
    import docx

    assert docx.Document(str(target)).paragraphs[0].text == "Hello world."


def test_headings_shift_tables_move_to_the_end_and_blinding_removes_identifying_divs():
    from ipsreport.render import pandoc
    from ipsreport.render.manuscript import _shift_headings, _strip_identifying, _tables_to_end

    ast = pandoc.markdown_to_ast(
        "# Results\n\n::: {shift-heading-level-by=\"1\"}\n# Primary {#sec-p}\n\n## Sub\n\ntext\n:::\n\n"
        "::: {#tbl-a .ipsr-float .ipsr-tbl}\nT\n:::\n\nafter [@me; @other]\n\n"
        "::: {#fig-a .ipsr-float .ipsr-fig}\n![](x.png)\n\n::: {.ipsr-caption-text}\nFigure 1: Legend.\n:::\n:::\n\n"
        "::: {#decl-funding .identifying}\nFunded by X.\n:::\n")
    blocks = _shift_headings(ast["blocks"])
    levels = [(b["c"][0], pandoc.stringify(b["c"][2])) for b in blocks if b["t"] == "Header"]
    assert levels == [(1, "Results"), (2, "Primary"), (3, "Sub")]
    moved = _tables_to_end(blocks, "end")
    assert moved[-1]["c"][0][0] == "tbl-a" and [b["t"] for b in moved[-3:-1]] == ["RawBlock", "RawBlock"]
    assert _tables_to_end(blocks, "inline") == blocks
    legends = [i for i, b in enumerate(moved) if b["t"] == "Header" and b["c"][1][0] == "figure-legends"]
    legend = moved[legends[0] + 1]
    assert legend["c"][0][0] == "fig-a" and pandoc.stringify(legend["c"][1][0]["c"][1]) == "Figure 1: Legend."
    images = []
    pandoc.walk(moved, lambda n: images.append(n) if n["t"] == "Image" else None)
    assert images == []  # the figure itself is submitted as a file
    blind = _strip_identifying(blocks, {"me"})
    text = " ".join(pandoc.stringify(b) for b in blind if b["t"] == "Para")
    assert "Funded" not in text and "[reference removed for blind review]" in text
    cites = [c["citationId"] for b in blind if b["t"] == "Para" for i in b["c"] if i["t"] == "Cite" for c in i["c"][0]]
    assert cites == ["other"]  # the other reference of the same citation stays
    assert any(b["t"] == "Div" and b["c"][0][0] == "tbl-a" for b in blind)


def test_an_included_file_is_part_of_the_chapter_cache_key(tmp_path):
    import shutil

    from ipsreport.render import cache
    from ipsreport.render.project import read_book

    shutil.copytree(ROOT / "tests" / "fixtures" / "book", tmp_path / "book")
    project = tmp_path / "book"
    (project / "chapters" / "_part.qmd").write_text("Shared text.\n")
    methods = project / "chapters" / "01-methods.qmd"
    methods.write_text(methods.read_text() + "\n{{< include _part.qmd >}}\n")
    book = read_book(project)
    chapter = next(ch for ch in book.chapters if ch.path == "chapters/01-methods.qmd")
    before = cache.chapter_key("shared", book, chapter)
    (project / "chapters" / "_part.qmd").write_text("Changed text.\n")
    assert cache.chapter_key("shared", book, chapter) != before
