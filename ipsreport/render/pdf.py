"""Write the PDF: pandoc's typst writer with our template, then the typst compiler (no LaTeX)."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from . import RenderError, pandoc
from .assemble import book_meta, single_document
from .project import Book
from .tables import native_tables
from .typst_tables import typst_tables

__all__ = ["write_pdf", "text_width_in", "PAPER_WIDTH_IN", "MARGIN_X_IN"]

TEMPLATE = Path(__file__).parent / "templates" / "book.typ"

# Page widths of the Typst paper sizes a book is likely to use, and the template's left/right margin (2.4 cm).
PAPER_WIDTH_IN = {"a4": 210 / 25.4, "a5": 148 / 25.4, "us-letter": 8.5, "us-legal": 8.5, "us-executive": 7.25}
MARGIN_X_IN = 2.4 / 2.54


def text_width_in(papersize: str) -> float:
    """The text width of the PDF template on ``papersize`` (a Typst paper name)."""
    try:
        return PAPER_WIDTH_IN[papersize] - 2 * MARGIN_X_IN
    except KeyError:
        raise RenderError(
            f"_quarto.yml: format.typst.papersize {papersize!r} is not one the built-in engine knows "
            f"({', '.join(PAPER_WIDTH_IN)})"
        ) from None


_LENGTH = re.compile(r"^\s*([\d.]+)\s*(in|cm|mm|pt|px)?\s*$")
_PER_INCH = {"in": 1.0, "cm": 2.54, "mm": 25.4, "pt": 72.0, "px": 96.0, None: 96.0}


def fit_images(ast: dict[str, Any], width_in: float) -> dict[str, Any]:
    """No image wider than the text: a width above ``width_in`` (or none at all) becomes 100% of the text width,
    with the height left to the aspect ratio."""

    def fit(node: dict[str, Any]) -> Any:
        if node["t"] != "Image":
            return None
        (ident, classes, kv), alt, target = node["c"]
        attrs = dict(kv)
        m = _LENGTH.match(attrs.get("width", ""))
        if m and float(m.group(1)) / _PER_INCH[m.group(2)] <= width_in:
            return None
        if attrs.get("width", "").strip().endswith("%") and float(attrs["width"].strip()[:-1] or 0) <= 100:
            return None
        attrs["width"] = "100%"
        attrs.pop("height", None)
        return {"t": "Image", "c": [[ident, classes, list(attrs.items())], alt, target]}

    return pandoc.walk(ast, fit)


def _typst_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_timestamp() -> int:
    """The PDF's creation date: ``SOURCE_DATE_EPOCH`` when set (byte-reproducible builds), else now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return int(epoch)
        except ValueError:
            raise RenderError(f"SOURCE_DATE_EPOCH must be a whole number of seconds, not {epoch!r}") from None
    return int(time.time())


def write_pdf(book: Book, ast: dict[str, Any], notice: str | None, abstract: str | None, work: Path, target: Path) -> Path:
    """``work`` holds ``figures/``; the .typ source is written there so image paths resolve from the root."""
    import typst

    meta = book_meta(book, notice, abstract, "typst")
    if book.authors:
        names = ", ".join(_typst_string(a["name"]) for a in book.authors)
        meta["pdf-authors"] = {"t": "MetaInlines", "c": [{"t": "RawInline", "c": ["typst", f"({names},)"]}]}
    doc = native_tables(single_document(ast, meta))
    doc = typst_tables(fit_images(doc, text_width_in(book.papersize)))
    source = pandoc.ast_to(doc, "typst-citations", ["--standalone", f"--template={TEMPLATE}", "--wrap=preserve"], cwd=work)
    typ = work / "book.typ"
    typ.write_text(source, encoding="utf-8")
    try:
        typst.compile(str(typ), output=str(target), root=str(work), timestamp=render_timestamp())
    except Exception as e:  # typst raises its own error type with the compiler diagnostics
        raise RenderError(f"typst could not compile the PDF ({typ}):\n  {str(e).strip()}") from None
    return target
