"""Typesetting of the PDF and the DOCX (page, tables, captions, figures, metadata) and the figures themselves."""

import datetime as dt
import re
import shutil
import zipfile
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pypdf
import pytest
from lxml import etree
from PIL import ImageFont

from ipsreport import figures
from ipsreport.render import RenderError, pandoc
from ipsreport.render.docx import CELL_MARGIN_PT, PAPER_TWIPS, table_layout
from ipsreport.render.engine import render_book
from ipsreport.render.execute import kernel_figure_formats
from ipsreport.render.pdf import fit_images, render_timestamp, text_width_in, write_pdf
from ipsreport.render.project import read_book
from ipsreport.render.qmd import parse_qmd
from conftest import package_snapshot

FIXTURE = Path(__file__).parent / "fixtures" / "book"
PROJECT = Path(__file__).parent.parent
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
WP = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}"
EPOCH = 1_700_000_000  # 2023-11-14T22:13:20Z

# An independent measure of text width: PIL's FreeType binding on the TrueType file (the engine uses matplotlib's).
_FONT = ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"), size=1000)


def _width_pt(text: str, size_pt: float) -> float:
    return _FONT.getlength(text) / 1000 * size_pt


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    project = tmp_path_factory.mktemp("render") / "book"
    shutil.copytree(FIXTURE, project)
    with package_snapshot(tmp_path_factory.mktemp("package")), pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
        render_book(project, engine="builtin")
    return project


def _docx_xml(project, name="word/document.xml"):
    with zipfile.ZipFile(project / "_book" / "book.docx") as z:
        return etree.fromstring(z.read(name))


# --- DOCX -------------------------------------------------------------------------------------------------------


def test_docx_page_size_is_the_configured_paper(rendered):
    sizes = rendered.joinpath("_book").exists() and _docx_xml(rendered).findall(f".//{W}sectPr/{W}pgSz")
    assert sizes, "no w:pgSz in the DOCX"
    width, height = PAPER_TWIPS["a4"]  # the fixture's format.typst.papersize
    assert (width, height) == (11906, 16838)  # A4: 210 × 297 mm in twips
    portrait = [s for s in sizes if s.get(f"{W}orient") != "landscape"]
    assert portrait and all((int(s.get(f"{W}w")), int(s.get(f"{W}h"))) == (width, height) for s in portrait)


def test_no_docx_table_cell_can_break_inside_a_token(rendered):
    root = _docx_xml(rendered)
    tables = root.findall(f".//{W}tbl")
    assert tables
    for tbl in tables:
        grid = [int(g.get(f"{W}w")) / 20 for g in tbl.findall(f"{W}tblGrid/{W}gridCol")]
        assert tbl.find(f"{W}tblPr/{W}tblLayout").get(f"{W}type") == "fixed"
        for tr in tbl.findall(f"{W}tr"):
            col = 0
            for tc in tr.findall(f"{W}tc"):
                span_el = tc.find(f"{W}tcPr/{W}gridSpan")
                span = int(span_el.get(f"{W}val")) if span_el is not None else 1
                width = sum(grid[col:col + span])
                assert int(tc.find(f"{W}tcPr/{W}tcW").get(f"{W}w")) / 20 == pytest.approx(width, abs=0.1)
                for p in tc.findall(f"{W}p"):
                    runs = p.findall(f".//{W}r")
                    text = "".join(t.text or "" for r in runs for t in r.findall(f"{W}t"))
                    sizes = {int(r.find(f"{W}rPr/{W}sz").get(f"{W}val")) / 2 for r in runs}
                    for token in text.split():
                        for size in sizes:
                            assert _width_pt(token, size) + 2 * CELL_MARGIN_PT <= width + 0.01, (token, size, width)
                col += span


def test_table_layout_widens_columns_to_the_widest_token_and_shrinks_the_font_before_going_landscape():
    def cell(text):
        return [["", [], []], {"t": "AlignDefault"}, 1, 1, [{"t": "Plain", "c": pandoc.text_inlines(text)}]]

    def table(rows, ncols):
        specs = [[{"t": "AlignDefault"}, {"t": "ColWidthDefault"}]] * ncols
        body = [["", [], []], 0, [], [[["", [], []], [cell(t) for t in r]] for r in rows]]
        return [["", [], []], [None, []], specs, [["", [], []], []], [body], [["", [], []], []]]

    narrow = table_layout(table([["Outcome", "0.298 (0.120 to 0.476)", "<0.001"]], 3), 450, 700)
    assert narrow.font_pt == 9 and not narrow.landscape
    assert narrow.widths_pt[1] >= _width_pt("0.298 (0.120 to 0.476)", 9)  # room for the whole entry
    wide_row = ["12345678.912"] * 6
    smaller = table_layout(table([wide_row], 6), 450, 700)
    assert smaller.font_pt == 8 and not smaller.landscape
    assert all(w >= _width_pt("12345678.912", 8) + 2 * CELL_MARGIN_PT for w in smaller.widths_pt)
    landscape = table_layout(table([["123456789.123456"] * 11], 11), 450, 700)
    assert landscape.landscape and sum(landscape.min_widths_pt) > 450


def test_docx_images_have_alt_text_and_fit_the_text_width(rendered):
    root = _docx_xml(rendered)
    docprs = root.findall(f".//{WP}docPr")
    assert docprs
    assert all(d.get("descr", "").strip() for d in docprs)
    assert any("percentage employed" in d.get("descr") for d in docprs)  # the fixture figure's fig-alt
    text_emu = (11906 - 2 * 1440) / 20 * 12700
    assert all(int(e.get("cx")) <= text_emu for e in root.findall(f".//{WP}extent"))


def test_docx_captions_use_word_caption_style_with_seq_fields(rendered):
    root = _docx_xml(rendered)
    captions = [p for p in root.iter(f"{W}p") if (s := p.find(f"{W}pPr/{W}pStyle")) is not None
                and s.get(f"{W}val") == "Caption"]
    texts = ["".join(t.text or "" for t in p.iter(f"{W}t")) for p in captions]
    assert "Table 2.1: Employment by arm" in texts  # the number as text, its last part a field
    assert any(re.match(r"Figure 2\.1: ", t) for t in texts)
    fields = [f.get(f"{W}instr") for p in captions for f in p.iter(f"{W}fldSimple")]
    assert " SEQ Table2 \\* ARABIC " in fields and " SEQ Figure2 \\* ARABIC " in fields
    table_captions = [p for p in captions if p.getnext() is not None and p.getnext().tag == f"{W}tbl"]
    assert table_captions and all(p.find(f"{W}pPr/{W}keepNext") is not None for p in table_captions)


def test_docx_headings_use_word_heading_styles(rendered):
    styles = {s.get(f"{W}val") for s in _docx_xml(rendered).iter(f"{W}pStyle")}
    assert {"Heading1", "Heading2"} <= styles


def test_docx_author_block_and_creator_come_from_quarto_yml(rendered):
    core = _docx_xml(rendered, "docProps/core.xml")
    assert core.find("{http://purl.org/dc/elements/1.1/}creator").text == "Test Author"
    authors = [p for p in _docx_xml(rendered).iter(f"{W}p")
               if (s := p.find(f"{W}pPr/{W}pStyle")) is not None and s.get(f"{W}val") == "Author"]
    text = " ".join("".join(t.text or "" for t in p.iter(f"{W}t")) for p in authors)
    assert "Test Author" in text and "Test Unit" in text


def test_reference_doc_is_honoured(tmp_path):
    project = tmp_path / "book"
    shutil.copytree(FIXTURE, project)
    cfg = (project / "_quarto.yml").read_text()
    (project / "_quarto.yml").write_text(cfg.replace("  docx:\n", "  docx:\n    reference-doc: missing.docx\n"))
    with pytest.raises(RenderError, match="reference-doc missing.docx does not exist"):
        read_book(project)


# --- PDF --------------------------------------------------------------------------------------------------------


def test_pdf_metadata_author_and_creation_date(rendered):
    info = pypdf.PdfReader(rendered / "_book" / "book.pdf").metadata
    assert info.author == "Test Author"
    assert info.creation_date.astimezone(dt.timezone.utc) == dt.datetime.fromtimestamp(EPOCH, dt.timezone.utc)


def test_render_timestamp_is_now_without_source_date_epoch(monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert abs(render_timestamp() - dt.datetime.now(dt.timezone.utc).timestamp()) < 60
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(RenderError, match="SOURCE_DATE_EPOCH"):
        render_timestamp()


def test_pdf_figures_never_exceed_the_text_width():
    assert text_width_in("a4") == pytest.approx((210 - 48) / 25.4)
    ast = pandoc.markdown_to_ast("![a](x.png){width=7.20in}\n\n![b](y.png){width=5in}\n\n![c](z.png)\n")
    widths = []
    pandoc.walk(fit_images(ast, text_width_in("a4")), lambda n: widths.append(dict(n["c"][0][2]).get("width"))
                if n["t"] == "Image" else None)
    assert widths == ["100%", "5in", "100%"]


def _chapter(md: str):
    """A one-chapter book AST, as the assembler makes it."""
    return pandoc.markdown_to_ast(f'::::::::: {{.ipsr-chapter slug="x"}}\n{md}\n:::::::::\n')


def test_long_pdf_table_repeats_caption_header_and_group_label_with_continued(tmp_path):
    book = read_book(FIXTURE)

    def rows(name):
        return "".join(f"<tr><td>{name} {i}</td><td align='right'>{i}.5</td></tr>" for i in range(70))

    html = (f"<table><thead><tr><th>Item</th><th>Value</th></tr></thead><tbody>"
            f"<tr><th colspan='2'>First group</th></tr>{rows('Alpha')}"
            f"<tr><th colspan='2'>Second group</th></tr>{rows('Beta')}</tbody></table>")
    md = (f"Before.\n\n::::: {{#tbl-long .ipsr-float .ipsr-tbl}}\n::: {{.ipsr-caption-text .ipsr-tbl-caption}}\n"
          f"Table 1.1: A long table.\n:::\n\n```{{=html}}\n{html}\n```\n:::::\n")
    (tmp_path / "figures").mkdir()
    target = write_pdf(book, _chapter(md), None, None, tmp_path, tmp_path / "long.pdf")
    pages = [" ".join(p.extract_text().split()) for p in pypdf.PdfReader(target).pages]
    table_pages = [p for p in pages if re.search(r"(Alpha|Beta) \d", p)]
    assert len(table_pages) >= 3
    assert "Before. Table 1.1: A long table. Item Value First group Alpha 0 0.5" in table_pages[0]
    assert "(continued)" not in table_pages[0]
    for page in table_pages[1:]:
        # The caption with "(continued)", the column heads, then the label of the group the page continues.
        first = re.search(r"(Alpha|Beta) \d+", page).group(1)
        group = "First group" if first == "Alpha" else "Second group"
        assert page.startswith(f"Table 1.1: A long table. (continued) Item Value {group} {first} "), page[:120]


def test_short_pdf_table_is_not_split(tmp_path):
    book = read_book(FIXTURE)
    filler = "\n\n".join(["Text of the page. " * 40] * 5)
    rows = "".join(f"<tr><td>Row {i}</td><td>{i}</td></tr>" for i in range(20))
    md = (f"{filler}\n\n::::: {{#tbl-short .ipsr-float .ipsr-tbl}}\n::: {{.ipsr-caption-text .ipsr-tbl-caption}}\n"
          f"Table 1.1: A short table.\n:::\n\n```{{=html}}\n<table><thead><tr><th>A</th><th>B</th></tr></thead>"
          f"<tbody>{rows}</tbody></table>\n```\n:::::\n")
    (tmp_path / "figures").mkdir()
    target = write_pdf(book, _chapter(md), None, None, tmp_path, tmp_path / "short.pdf")
    pages = [p.extract_text() for p in pypdf.PdfReader(target).pages]
    holding = [i for i, p in enumerate(pages) if "Row " in p or "A short table" in p]
    assert len(holding) == 1, "the caption and all rows of a table that fits on a page share one page"


# --- figure options as Quarto's Jupyter engine reads them ------------------------------------------------------


@pytest.mark.parametrize("option", ["fig-width: 7", "fig-height: 4", "fig-dpi: 300", "fig-format: svg"])
def test_knitr_only_cell_figure_options_are_errors(option):
    src = f"```{{python}}\n#| label: fig-x\n#| {option}\nx = 1\n```\n"
    with pytest.raises(RenderError, match=r"ch\.qmd:1: .*knitr-only"):
        parse_qmd(src, "ch.qmd")


def test_project_figure_formats_svg_for_pdf_and_html_png_300_for_docx():
    book = read_book(PROJECT)
    assert book.figure_format("html") == ("svg", book.fig_dpi)
    assert book.figure_format("pdf")[0] == "svg"
    assert book.figure_format("docx") == ("png", 300)
    assert kernel_figure_formats(book) == (["png", "svg"], 300)


def test_chapters_size_figures_in_code_not_in_cell_options():
    for qmd in sorted((PROJECT / "chapters").glob("*.qmd")):
        assert not re.search(r"^#\|\s*fig-(width|height)\s*:", qmd.read_text(), re.M), qmd.name


# --- the figures ------------------------------------------------------------------------------------------------


def _saved_width_in(fig) -> float:
    """Width of the figure as the notebook backend saves it (tight bounding box)."""
    from IPython.core.pylabtools import print_figure

    svg = print_figure(fig, "svg", bbox_inches="tight")
    return float(re.search(r'width="([\d.]+)pt"', svg).group(1)) / 72


def _employment():
    return pd.DataFrame({"month": [6, 12, 24], "ips_percent": [32.4, 52.8, 59.5], "ips_ci_low": [19.0, 37.0, 43.0],
                         "ips_ci_high": [49.0, 68.0, 74.0], "tau_percent": [31.6, 38.9, 41.2],
                         "tau_ci_low": [15.0, 20.0, 21.0], "tau_ci_high": [54.0, 61.0, 64.0]})


def _trajectories():
    rows = []
    for outcome in ["odi", "eq_vas", "hscl", "bpi_worst"]:
        for arm in ["IPS", "TAU"]:
            for month in [0, 6, 12]:
                rows.append({"outcome": outcome, "arm": arm, "month": month, "n": 30, "mean": 40.0 + month,
                             "ci_low": 35.0 + month, "ci_high": 45.0 + month})
    return pd.DataFrame(rows)


def _power():
    n = np.arange(10, 801, 5)
    return pd.concat([pd.DataFrame({"scenario": name, "n_per_group": n, "power": 1 - np.exp(-n / k)})
                      for name, k in [("A", 50), ("B observed", 150), ("C observed", 300)]])


def _figures():
    retention = pd.DataFrame({"month": [3, 3, 6, 6], "arm": ["IPS", "TAU"] * 2, "percent": [70.0, 80, 70, 85],
                              "ci_low": [50.0, 60, 50, 65], "ci_high": [85.0, 92, 85, 95]})
    funnel = pd.DataFrame({"label": ["Mail-out", "Posters"], "approached": [1017, np.nan], "enquiries": [57, 2],
                           "recruited": [26, 0]})
    flow = {"randomized": 67, "randomized.ips": 41, "randomized.tau": 26, "withdrawn.ips": 3, "withdrawn.tau": 6,
            "analysed.ips": 38, "analysed.tau": 20}
    return {
        "flow": figures.fig_consort_flow(flow),
        "employment": figures.fig_employment_rates(_employment()),
        "trajectories": figures.fig_trajectories(_trajectories(), {"odi": "ODI"}),
        "funnel": figures.fig_recruitment_funnel(funnel),
        "retention": figures.fig_retention(retention),
        "power": figures.fig_power_curve(_power()),
    }


@pytest.mark.parametrize("name", ["flow", "employment", "trajectories", "funnel", "retention", "power"])
def test_figures_fit_the_narrowest_text_width(name):
    narrowest = min(text_width_in("a4"), (PAPER_TWIPS["a4"][0] - 2 * 1440) / 1440)
    assert _saved_width_in(_figures()[name]) <= narrowest


def test_every_value_axis_says_which_direction_is_better():
    for name, fig in _figures().items():
        if name == "flow":
            continue
        for ax in fig.axes:
            if not ax.axison:
                continue
            labels = ax.get_ylabel() + " " + ax.get_xlabel()
            assert re.search(r"(higher|lower|more) .*is better", labels), (name, labels)
            assert ax.get_ylabel(), name


def test_trajectory_panels_name_the_better_direction_per_outcome():
    fig = figures.fig_trajectories(_trajectories(), {})
    labels = {ax.get_title(): ax.get_ylabel() for ax in fig.axes if ax.axison}
    assert labels["eq_vas"] == "Mean (higher is better)" and labels["odi"] == "Mean (lower is better)"
    with pytest.raises(ValueError, match="unknown_score"):
        figures.fig_trajectories(_trajectories().assign(outcome="unknown_score"), {})


def _line_signature(line):
    return (str(line.get_linestyle()), str(line.get_marker()), str(line.get_markerfacecolor()))


def test_curves_differ_in_more_than_colour():
    power = figures.fig_power_curve(_power())
    curves = [ln for ln in power.axes[0].get_lines() if len(ln.get_xdata()) > 2]
    assert len(curves) == 3
    assert len({(ln.get_dashes() if hasattr(ln, "get_dashes") else None, ln.get_marker()) for ln in curves}) == 3
    assert len({ln.get_marker() for ln in curves}) == 3
    employment = figures.fig_employment_rates(_employment())
    arms = [ln for ln in employment.axes[0].get_lines() if ln.get_marker() not in ("_", "None", "")]
    assert len({_line_signature(ln) for ln in arms}) == 2
    assert len({ln.get_marker() for ln in arms}) == 2


def test_legends_sit_outside_the_plotting_area():
    for name, fig in _figures().items():
        fig.draw_without_rendering()
        for legend in fig.legends:
            box = legend.get_window_extent()
            for ax in fig.axes:
                if ax.axison:
                    assert not box.overlaps(ax.get_window_extent()), name
        assert all(ax.get_legend() is None for ax in fig.axes), name


def test_pdf_typst_source_sets_every_figure_within_the_text_width(tmp_path):
    book = read_book(FIXTURE)
    (tmp_path / "figures").mkdir()
    fig = figures.fig_employment_rates(_employment(), width=9.0)  # wider than any page's text
    fig.savefig(tmp_path / "figures" / "wide.svg")
    md = "![Employment by arm](figures/wide.svg){width=9.00in}\n\n![Narrow](figures/wide.svg){width=3.00in}\n"
    write_pdf(book, _chapter(md), None, None, tmp_path, tmp_path / "fig.pdf")
    source = (tmp_path / "typst" / "book.typ").read_text(encoding="utf-8")
    widths = re.findall(r'image\("figures/wide\.svg"[^)]*width: ([^,)]+)', source)
    assert widths == ["100.0%", "3in"]


def test_docx_figures_are_pngs_at_the_configured_resolution(rendered):
    import struct

    book = read_book(rendered)
    kind, dpi = book.figure_format("docx")
    assert kind == "png"
    root = _docx_xml(rendered)
    with zipfile.ZipFile(rendered / "_book" / "book.docx") as z:
        media = [n for n in z.namelist() if n.startswith("word/media/")]
        assert media and all(n.endswith(".png") for n in media)
        widths_px = sorted(struct.unpack(">I", z.read(n)[16:20])[0] for n in media)
    widths_in = sorted(int(e.get("cx")) / 914400 for e in root.findall(f".//{WP}extent"))
    # One PNG serves every PNG format: at the highest resolution any asks for (here the HTML's retina, 2 × 80).
    assert kernel_figure_formats(book) == (["png", "svg"], 160) and dpi == 80
    assert [round(px / w) for px, w in zip(widths_px, widths_in)] == [160] * len(media)


def test_docx_table_too_wide_for_a_portrait_page_gets_a_landscape_page(tmp_path):
    from ipsreport.render.docx import write_docx

    book = read_book(FIXTURE)
    head = "".join(f"<th>Column {i}</th>" for i in range(9))
    row = "".join("<td>1234567.891 (1234.5 to 9876.5)</td>" for _ in range(9))
    md = ("Before.\n\n::::: {#tbl-wide .ipsr-float .ipsr-tbl}\n::: {.ipsr-caption-text .ipsr-tbl-caption}\n"
          f"Table 1.1: A wide table.\n:::\n\n```{{=html}}\n<table><thead><tr>{head}</tr></thead><tbody><tr>{row}</tr>"
          "</tbody></table>\n```\n:::::\n\nAfter.\n")
    (tmp_path / "figures").mkdir()
    target = write_docx(book, _chapter(md), None, None, tmp_path, tmp_path / "wide.docx")
    with zipfile.ZipFile(target) as z:
        root = etree.fromstring(z.read("word/document.xml"))
    body = root.find(f"{W}body")
    children = list(body)
    table = body.find(f"{W}tbl")
    at = children.index(table)
    sizes = [(s.get(f"{W}w"), s.get(f"{W}h"), s.get(f"{W}orient")) for s in root.iter(f"{W}pgSz")]
    assert sizes == [("11906", "16838", None), ("16838", "11906", "landscape"), ("11906", "16838", None)]
    # The portrait section ends just before the caption, the landscape one just after the table.
    assert children[at - 2].find(f"{W}pPr/{W}sectPr") is not None
    assert children[at - 1].find(f"{W}pPr/{W}pStyle").get(f"{W}val") == "Caption"
    assert children[at + 1].find(f"{W}pPr/{W}sectPr/{W}pgSz").get(f"{W}orient") == "landscape"
    grid = sum(int(g.get(f"{W}w")) for g in table.iter(f"{W}gridCol")) / 20
    assert grid <= (16838 - 2 * 1440) / 20 + 0.1


def test_token_widths_are_matplotlibs_text_extents():
    """The DOCX layout measures tokens on one kept font object, once per token for every size: the widths must be
    exactly those of matplotlib's TextToPath (the measure the column widths were defined with), so that the
    layout, and the DOCX, do not change."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    from ipsreport.render.docx import MEASURE_FONT, token_width_pt

    tokens = ["Outcome", "0.298", "(0.120", "to", "0.476)", "<0.001", "−1.5", "±", "AVAWAY", "ﬁnal", "Ærø",
              "12345678.912", "n = 58 (100%)", "Tolerance of pain–relief", "‑", "x" * 40]
    for size in (9.0, 8.0):
        for token in tokens:
            expected = TextToPath().get_text_width_height_descent(
                token, FontProperties(family=MEASURE_FONT, size=size), ismath=False)[0]
            assert token_width_pt(token, size) == expected, (token, size)
