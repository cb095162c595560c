"""Write the DOCX: one pandoc call with a reference document, then a pass over the WordprocessingML.

What the pass does, and why pandoc alone does not:

- **Page**: the book's paper (Typst's ``papersize``, A4 by default) in ``w:pgSz``, 1 in margins, unless
  ``format.docx.reference-doc`` is set (Quarto's key: the template's page setup and styles then apply).
- **Tables**: fixed column widths computed from the content, so that no cell breaks inside a number or a word:
  every column is at least as wide as its widest token (text between spaces) measured at the table font with
  DejaVu Sans — wider than Word's Aptos and the font LibreOffice substitutes for it, so the bound holds for both —
  plus the cell margins. A table whose tokens do not fit the text width at 9 pt is set at 8 pt; one that still
  does not fit gets a landscape page of its own. Header rows repeat on every page.
- **Captions** in Word's "Caption" style, kept with their table; the number's last part is a Word ``SEQ`` field
  with one sequence per chapter (see docs/engine.md for what Word can renumber).
- **Figures**: alt text from ``fig-alt`` or the caption (set when the chapter ran); never wider than the text.
- **Metadata**: ``dc:creator`` lists the book's authors; the title block shows each author's affiliation.
"""

from __future__ import annotations

import io
import re
import threading
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree

from . import RenderError, pandoc
from .assemble import book_meta, single_document
from .pdf import fit_images
from .project import Book
from .tables import native_tables

__all__ = ["write_docx", "docx_from_ast", "PAPER_TWIPS", "TableLayout", "table_layout", "token_width_pt", "CELL_MARGIN_PT"]

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_W = f"{{{W}}}"
NS = {"w": W}

# Page sizes (width, height) in twentieths of a point, for the Typst paper names a book is likely to use.
PAPER_TWIPS = {"a4": (11906, 16838), "a5": (8391, 11906), "us-letter": (12240, 15840), "us-legal": (12240, 20160)}
MARGIN_TWIPS = 1440  # 1 in on every side, Word's and pandoc's default
CELL_MARGIN_PT = 108 / 20  # pandoc's reference document: 108 twips left and right in every cell
_SAFETY_PT = 2.0  # rounding in Word's layout
TABLE_FONT_PT = (9.0, 8.0)  # tried in order; landscape at the last one if the tokens still do not fit
MEASURE_FONT = "DejaVu Sans"


def token_width_pt(token: str, size_pt: float) -> float:
    """Width in points of ``token`` set in DejaVu Sans at ``size_pt``.

    The value of matplotlib's ``TextToPath().get_text_width_height_descent`` (the text's extent in subpixels at
    TextToPath's scale, then scaled to ``size_pt``), computed with the same calls on one font object kept for the
    process, and once per token for every size: a book's tables measure thousands of tokens."""
    scale = size_pt / _FONT_SCALE
    return _subpixel_width(token, _measure_font_files(size_pt)) / 64.0 * scale


_FONT_SCALE = 100.0  # matplotlib's TextToPath.FONT_SCALE and DPI: the size the text is laid out at
_FONT_DPI = 72
_measure_lock = threading.Lock()


@lru_cache(maxsize=8)
def _measure_font_files(size_pt: float) -> tuple[str, ...]:
    """The font files (with fallbacks) matplotlib picks for the measuring font, as TextToPath finds them."""
    from matplotlib.font_manager import FontProperties, fontManager

    return tuple(str(f) for f in fontManager._find_fonts_by_props(FontProperties(family=MEASURE_FONT, size=size_pt)))


@lru_cache(maxsize=16384)
def _subpixel_width(token: str, files: tuple[str, ...]) -> float:
    from matplotlib.font_manager import get_font
    from matplotlib.ft2font import LoadFlags

    with _measure_lock:  # one FT2Font object holds the laid-out text: one measurement at a time
        font = get_font(list(files))
        font.set_size(_FONT_SCALE, _FONT_DPI)
        font.set_text(token, 0.0, flags=LoadFlags.NO_HINTING)
        return float(font.get_width_height()[0])


@dataclass(frozen=True)
class TableLayout:
    """How one table is set: column widths in points, font size, and whether it needs a landscape page."""

    widths_pt: tuple[float, ...]
    font_pt: float
    landscape: bool
    min_widths_pt: tuple[float, ...]  # the widest token of each column plus the cell margins


def _cells(table: list[Any]) -> list[tuple[int, int, str]]:
    """(first column, colspan, plain text) of every cell, head and bodies (a rowspan only shifts later cells)."""
    _attr, _caption, colspecs, head, bodies, foot = table
    out: list[tuple[int, int, str]] = []
    pending: dict[int, int] = {}  # column -> rows still covered by a rowspan from above

    def visit(rows: list[Any]) -> None:
        for _row_attr, cells in rows:
            col = 0
            for _cell_attr, _align, rowspan, colspan, blocks in cells:
                while pending.get(col, 0) > 0:
                    pending[col] -= 1
                    col += 1
                out.append((col, colspan, pandoc.stringify(blocks)))
                if rowspan > 1:
                    for c in range(col, col + colspan):
                        pending[c] = rowspan - 1
                col += colspan
            for c in list(pending):
                if c >= col and pending[c] > 0:
                    pending[c] -= 1

    visit(head[1])
    for body in bodies:
        visit(body[2])
        visit(body[3])
    visit(foot[1])
    return out


def table_layout(table: list[Any], text_width_pt: float, landscape_width_pt: float) -> TableLayout:
    """Column widths for one pandoc table (the ``c`` of a Table node)."""
    ncols = len(table[2])
    cells = _cells(table)
    pad = 2 * CELL_MARGIN_PT + _SAFETY_PT
    for size in TABLE_FONT_PT:
        need = [pad] * ncols
        want = [pad] * ncols
        for col, span, text in cells:
            tokens = text.split()
            widest = max((token_width_pt(t, size) for t in tokens), default=0.0) + pad
            whole = min(token_width_pt(" ".join(tokens), size), 2.6 * 72) + pad
            if span == 1 and col < ncols:
                need[col] = max(need[col], widest)
                want[col] = max(want[col], whole, widest)
        for col, span, text in cells:  # a spanning cell's widest token must fit across its columns
            if span > 1 and col < ncols:
                cols = list(range(col, min(col + span, ncols)))
                widest = max((token_width_pt(t, size) for t in text.split()), default=0.0) + pad
                short = widest - sum(need[c] for c in cols)
                if short > 0:
                    for c in cols:
                        need[c] += short / len(cols)
                        want[c] = max(want[c], need[c])
        if sum(need) <= text_width_pt or size == TABLE_FONT_PT[-1]:
            break
    landscape = sum(need) > text_width_pt
    avail = landscape_width_pt if landscape else text_width_pt
    if sum(want) <= avail:
        widths = want
    else:
        # Short entries (numbers, estimates with intervals) get their whole width first, so that they stay on one
        # line; what is left is shared by the long text columns, which wrap between words.
        spare = max(avail - sum(need), 0.0)
        widths = list(need)
        order = sorted(range(ncols), key=lambda c: want[c] - need[c])
        for i, c in enumerate(order):
            rest = order[i:]
            share = spare / len(rest)
            give = min(want[c] - need[c], share)
            widths[c] += give
            spare -= give
    return TableLayout(tuple(widths), size, landscape, tuple(need))


# --- captions --------------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"^(?:([0-9]+|[A-Z]+)\.)?([0-9]+):?$")


def _seq_field(kind: str, chapter: str | None, number: str) -> dict[str, Any]:
    # One sequence per chapter and kind ("Table2", "FigureA"): the book numbers floats within chapters, and a
    # per-chapter sequence counts the same way in Word and in LibreOffice (which ignores SEQ's \s restart switch).
    xml = (f'<w:fldSimple w:instr=" SEQ {kind}{chapter or ""} \\* ARABIC "><w:r><w:t>{number}</w:t></w:r>'
           "</w:fldSimple>")
    return {"t": "RawInline", "c": ["openxml", xml]}


def word_captions(ast: dict[str, Any]) -> dict[str, Any]:
    """Captions in Word's "Caption" style, with the float's number within its chapter as a ``SEQ`` field."""

    def visit(node: dict[str, Any]) -> Any:
        if node["t"] != "Div" or not pandoc.has_class(node, "ipsr-caption-text"):
            return None
        (ident, classes, kv), blocks = node["c"]
        kind = "Table" if "ipsr-tbl-caption" in classes else "Figure"
        kv = [[k, v] for k, v in kv if k != "custom-style"] + [["custom-style", "Caption"]]
        new_blocks = []
        for b in blocks:
            inl = b["c"] if b["t"] in {"Para", "Plain"} else None
            if inl and len(inl) >= 3 and inl[0] == {"t": "Str", "c": kind} and inl[1]["t"] == "Space":
                m = _NUMBER.match(inl[2].get("c", "") if inl[2]["t"] == "Str" else "")
                if m:
                    chapter, n = m.group(1), m.group(2)
                    colon = [{"t": "Str", "c": ":"}] if inl[2]["c"].endswith(":") else []
                    prefix = [{"t": "Str", "c": f"{chapter}."}] if chapter else []
                    inl = inl[:2] + prefix + [_seq_field(kind, chapter, n)] + colon + inl[3:]
                    b = {"t": b["t"], "c": inl}
            new_blocks.append(b)
        return {"t": "Div", "c": [[ident, classes, kv], new_blocks]}

    return pandoc.walk(ast, visit)


# --- reference document ----------------------------------------------------------------------------------------


def _default_reference(papersize: str, work: Path) -> Path:
    """Pandoc's default reference document with the book's page size and 1 in margins."""
    if papersize not in PAPER_TWIPS:
        raise RenderError(f"_quarto.yml: papersize {papersize!r} is not one the DOCX writer knows ({', '.join(PAPER_TWIPS)})")
    target = work / f"reference-{papersize}.docx"
    if target.exists():
        return target
    source = work / "reference-pandoc.docx"
    pandoc.run(["-o", str(source), "--print-default-data-file", "reference.docx"])
    w, h = PAPER_TWIPS[papersize]
    m = MARGIN_TWIPS
    page = (f'<w:pgSz w:w="{w}" w:h="{h}"/><w:pgMar w:top="{m}" w:right="{m}" w:bottom="{m}" w:left="{m}" '
            f'w:header="720" w:footer="720" w:gutter="0"/>')
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "word/document.xml":
                text = data.decode("utf-8")
                # At the end of the section properties: after w:footnotePr, as CT_SectPr orders them.
                text, n = re.subn(r"</w:sectPr>", page + "</w:sectPr>", text, count=1)
                if n != 1:
                    raise RenderError("internal: pandoc's reference.docx has no section properties")
                data = text.encode("utf-8")
            zout.writestr(item, data)
    return target


def _page_geometry(reference: Path) -> float:
    """The text width in points of the reference document's page."""
    with zipfile.ZipFile(reference) as z:
        root = etree.fromstring(z.read("word/document.xml"))
    sect = root.find(".//w:body/w:sectPr", NS)
    size = sect.find("w:pgSz", NS) if sect is not None else None
    mar = sect.find("w:pgMar", NS) if sect is not None else None
    w = int(size.get(_W + "w")) if size is not None else PAPER_TWIPS["us-letter"][0]
    left = int(mar.get(_W + "left")) if mar is not None else MARGIN_TWIPS
    right = int(mar.get(_W + "right")) if mar is not None else MARGIN_TWIPS
    return (w - left - right) / 20


# --- the pass over document.xml -------------------------------------------------------------------------------


def _el(tag: str, **attrs: str) -> etree._Element:
    e = etree.Element(_W + tag)
    for k, v in attrs.items():
        e.set(_W + k, v)
    return e


def _child(parent: etree._Element, tag: str, first: bool = False) -> etree._Element:
    found = parent.find(f"w:{tag}", NS)
    if found is None:
        found = _el(tag)
        if first:
            parent.insert(0, found)
        else:
            parent.append(found)
    return found


# The order CT_RPr's children must keep (ECMA-376 Part 1, 17.3.2.28); Word rejects runs that break it.
_RPR_ORDER = ["rStyle", "rFonts", "b", "bCs", "i", "iCs", "caps", "smallCaps", "strike", "dstrike", "outline",
              "shadow", "emboss", "imprint", "noProof", "snapToGrid", "vanish", "webHidden", "color", "spacing", "w",
              "kern", "position", "sz", "szCs", "highlight", "u", "effect", "bdr", "shd", "fitText", "vertAlign",
              "rtl", "cs", "em", "lang", "eastAsianLayout", "specVanish", "oMath"]


# CT_TblPr's order (17.4.60).
_TBLPR_ORDER = ["tblStyle", "tblpPr", "tblOverlap", "bidiVisual", "tblStyleRowBandSize", "tblStyleColBandSize", "tblW",
                "jc", "tblCellSpacing", "tblInd", "tblBorders", "shd", "tblLayout", "tblCellMar", "tblLook",
                "tblCaption", "tblDescription"]


def _set_ordered(parent: etree._Element, tag: str, order: list[str], **attrs: str) -> None:
    """Set ``w:<tag>`` in ``parent``, replacing any old one, at its place in the schema's child order."""
    for old in parent.findall(f"w:{tag}", NS):
        parent.remove(old)
    rank = order.index(tag)
    at = 0
    for i, child in enumerate(parent):
        name = etree.QName(child).localname
        if name in order and order.index(name) < rank:
            at = i + 1
    parent.insert(at, _el(tag, **attrs))


def _set_run_property(rPr: etree._Element, tag: str, **attrs: str) -> None:
    _set_ordered(rPr, tag, _RPR_ORDER, **attrs)


def _set_table(tbl: etree._Element, layout: TableLayout) -> None:
    twips = [round(w * 20) for w in layout.widths_pt]
    tblPr = _child(tbl, "tblPr", first=True)
    _set_ordered(tblPr, "tblW", _TBLPR_ORDER, w=str(sum(twips)), type="dxa")
    _set_ordered(tblPr, "tblLayout", _TBLPR_ORDER, type="fixed")
    grid = tbl.find("w:tblGrid", NS)
    if grid is None:
        grid = _el("tblGrid")
        tbl.insert(list(tbl).index(tblPr) + 1, grid)
    for old in list(grid):
        grid.remove(old)
    for t in twips:
        grid.append(_el("gridCol", w=str(t)))
    half_points = str(round(layout.font_pt * 2))
    for tr in tbl.findall("w:tr", NS):
        col = 0
        for tc in tr.findall("w:tc", NS):
            tcPr = _child(tc, "tcPr", first=True)
            span_el = tcPr.find("w:gridSpan", NS)
            span = int(span_el.get(_W + "val")) if span_el is not None else 1
            for old in tcPr.findall("w:tcW", NS):
                tcPr.remove(old)
            tcPr.insert(0, _el("tcW", w=str(sum(twips[col:col + span])), type="dxa"))
            col += span
        group_label = len(twips) > 1 and len(tr.findall("w:tc", NS)) == 1 and col == len(twips)
        for r in tr.iter(_W + "r"):
            rPr = _child(r, "rPr", first=True)
            if group_label:  # a row-group label, set off as in the PDF
                _set_run_property(rPr, "i")
            _set_run_property(rPr, "sz", val=half_points)
            _set_run_property(rPr, "szCs", val=half_points)
        # Paragraph marks too, so empty cells are no taller than the text.
        for p in tr.iter(_W + "p"):
            pPr = _child(p, "pPr", first=True)
            _set_run_property(_child(pPr, "rPr"), "sz", val=half_points)


def _style_of(p: etree._Element) -> str | None:
    s = p.find("w:pPr/w:pStyle", NS)
    return s.get(_W + "val") if s is not None else None


def _keep_next(p: etree._Element) -> None:
    pPr = _child(p, "pPr", first=True)
    if pPr.find("w:keepNext", NS) is None:
        style = pPr.find("w:pStyle", NS)
        pPr.insert(list(pPr).index(style) + 1 if style is not None else 0, _el("keepNext"))


def _section_break(landscape: bool, page: tuple[int, int]) -> etree._Element:
    """An empty paragraph ending a section (portrait or landscape)."""
    w, h = page
    sect = _el("sectPr")
    if landscape:
        sect.append(_el("pgSz", w=str(h), h=str(w), orient="landscape"))
    else:
        sect.append(_el("pgSz", w=str(w), h=str(h)))
    m = str(MARGIN_TWIPS)
    sect.append(_el("pgMar", top=m, right=m, bottom=m, left=m, header="720", footer="720", gutter="0"))
    p = _el("p")
    pPr = _el("pPr")
    pPr.append(sect)
    p.append(pPr)
    return p


def _postprocess(docx: Path, layouts: list[TableLayout], authors: list[str], page: tuple[int, int]) -> None:
    with zipfile.ZipFile(docx) as z:
        items = [(i, z.read(i.filename)) for i in z.infolist()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item, data in items:
            if item.filename == "word/document.xml":
                data = _document_pass(data, layouts, page)
            elif item.filename == "docProps/core.xml":
                data = _core_pass(data, authors)
            zout.writestr(item, data)
    docx.write_bytes(out.getvalue())


def _document_pass(data: bytes, layouts: list[TableLayout], page: tuple[int, int]) -> bytes:
    root = etree.fromstring(data)
    body = root.find("w:body", NS)
    tables = root.findall(".//w:tbl", NS)
    if len(tables) != len(layouts):
        raise RenderError(f"internal: the DOCX has {len(tables)} tables, the book {len(layouts)}")
    for tbl, layout in zip(tables, layouts):
        _set_table(tbl, layout)
        # Header rows repeat on every page a table spans (pandoc marks them; make sure of it).
        prev = tbl.getprevious()
        while prev is not None and prev.tag == _W + "p" and _style_of(prev) == "Caption":
            _keep_next(prev)
            prev = prev.getprevious()
        if layout.landscape and tbl.getparent() is body:
            start = tbl
            before = tbl.getprevious()
            if before is not None and before.tag == _W + "p" and _style_of(before) == "Caption":
                start = before
            start.addprevious(_section_break(False, page))
            tbl.addnext(_section_break(True, page))
    # The picture inside each drawing carries the same description as the drawing (pandoc puts the file name there).
    pic_ns = "http://schemas.openxmlformats.org/drawingml/2006/picture"
    wp_ns = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
    for drawing in root.iter(_W + "drawing"):
        doc_pr = drawing.find(f".//{{{wp_ns}}}docPr")
        c_nv_pr = drawing.find(f".//{{{pic_ns}}}cNvPr")
        if doc_pr is not None and c_nv_pr is not None and doc_pr.get("descr"):
            c_nv_pr.set("descr", doc_pr.get("descr"))
    # A figure (a paragraph holding a drawing) stays with its caption below it.
    for p in root.iter(_W + "p"):
        nxt = p.getnext()
        if p.find(".//w:drawing", NS) is not None and nxt is not None and _style_of(nxt) == "Caption":
            _keep_next(p)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _core_pass(data: bytes, authors: list[str]) -> bytes:
    root = etree.fromstring(data)
    creator = root.find("{http://purl.org/dc/elements/1.1/}creator")
    if creator is not None and authors:
        creator.text = "; ".join(authors)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


# --- writer ---------------------------------------------------------------------------------------------------


def _author_meta(book: Book) -> dict[str, Any]:
    """Each author as name, then affiliation on a new line in italics (pandoc's "Author" paragraphs)."""
    items = []
    for a in book.authors:
        inl = pandoc.text_inlines(a["name"])
        if a.get("affiliation"):
            inl += [{"t": "LineBreak"}, {"t": "Emph", "c": pandoc.text_inlines(a["affiliation"])}]
        items.append({"t": "MetaInlines", "c": inl})
    return {"t": "MetaList", "c": items}


def write_docx(book: Book, ast: dict[str, Any], notice: str | None, abstract: str | None, work: Path, target: Path) -> Path:
    meta = book_meta(book, notice, abstract, "docx")
    meta.pop("notice", None)
    if book.authors:
        meta["author"] = _author_meta(book)
    doc = single_document(ast, meta)
    if notice:
        # On the title page, right under the title block.
        para = {"t": "Para", "c": [{"t": "Strong", "c": pandoc.text_inlines("Notice.")}, {"t": "Space"},
                                   *pandoc.text_inlines(notice)]}
        doc["blocks"].insert(0, {"t": "Div", "c": [pandoc.attr("", ["ipsr-notice"], {"custom-style": "Notice"}), [para]]})
    ref_opt = book.format_options("docx").get("reference-doc")
    return docx_from_ast(word_captions(native_tables(doc)), target, work, papersize=book.papersize,
                         reference_doc=(book.root / str(ref_opt)) if ref_opt else None,
                         authors=[a["name"] for a in book.authors], toc=bool(book.format_options("docx").get("toc")))


def docx_from_ast(doc: dict[str, Any], target: Path, work: Path, *, papersize: str, reference_doc: Path | None = None,
                  authors: list[str] | None = None, toc: bool = False) -> Path:
    """Write ``doc`` as a DOCX with the book's table and page handling: native tables with column widths from
    their content (landscape when too wide), images within the text width, the page size of ``papersize`` (or
    the reference document's), and ``authors`` as the document's creator."""
    papersize = {"letter": "us-letter", "legal": "us-legal"}.get(papersize, papersize)  # the manuscript's names
    reference = reference_doc or _default_reference(papersize, work)
    text_w = _page_geometry(reference)
    page = PAPER_TWIPS.get(papersize, PAPER_TWIPS["a4"])
    landscape_w = page[1] / 20 - 2 * MARGIN_TWIPS / 20
    doc = fit_images(native_tables(doc), text_w / 72)
    layouts: list[TableLayout] = []

    def plan(node: dict[str, Any]) -> None:
        if node["t"] == "Table":
            layouts.append(table_layout(node["c"], text_w, landscape_w))

    # Document order, as the tables appear in document.xml (walk is bottom-up; tables do not nest here).
    pandoc.walk(doc, plan)
    # Highlighting costs ~0.5 s of pandoc start-up per run and echo is off in a report; code keeps "Source Code".
    args = ["-o", str(target), f"--resource-path={work}", "--syntax-highlighting=none", f"--reference-doc={reference}"]
    if toc:
        args.append("--toc")
    pandoc.ast_to(doc, "docx", args, cwd=work)
    _postprocess(target, layouts, list(authors or []), page)
    return target
