"""Write the PDF: pandoc's typst writer with our template, then the typst compiler (no LaTeX)."""

from __future__ import annotations

import os
import re
import shutil
import time
import unicodedata
from pathlib import Path
from typing import Any

from . import RenderError, pandoc
from .assemble import book_meta, single_document
from .project import Book
from .tables import native_tables
from .typst_tables import typst_tables

__all__ = ["write_pdf", "text_width_in", "PAPER_WIDTH_IN", "MARGIN_X_IN"]

TEMPLATE = Path(__file__).parent / "templates" / "book.typ"

# A word this long may not fit a line, let alone a table column; Typst breaks words only at hyphenation points
# of its dictionaries, so it would run off the page. Such words get a zero-width space (a break opportunity,
# invisible) after every character. Ordinary words are far shorter; only data or URLs reach this length.
LONG_WORD = 30
_LONG_RUN = re.compile(r"[^\s\u200b]{%d,}" % LONG_WORD)
ZWSP = "\u200b"


def _breakable(run: str) -> str:
    out = []
    for i, ch in enumerate(run):
        out.append(ch)
        following = run[i + 1] if i + 1 < len(run) else ""
        if following and not unicodedata.combining(following):
            out.append(ZWSP)
    return "".join(out)


def break_long_words(ast: dict[str, Any]) -> dict[str, Any]:
    """Let every run of ``LONG_WORD`` or more non-space characters in the text break at any character."""

    def fix(node: dict[str, Any]) -> Any:
        if node["t"] == "Str" and len(node["c"]) >= LONG_WORD:
            return {"t": "Str", "c": _LONG_RUN.sub(lambda m: _breakable(m.group(0)), node["c"])}
        return None

    return pandoc.walk(ast, fix)


def typst_folder(work: Path) -> Path:
    """A fresh folder holding a copy of ``work/figures`` and nothing else: the Typst compiler's root.

    Typst code can read any file under its root, and ``work`` also holds the kernels' connection files and the
    chapters' intermediate files; the PDF must be made from nothing but its source and the figures.
    """
    folder = work / "typst"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    if (work / "figures").is_dir():
        shutil.copytree(work / "figures", folder / "figures")
    return folder


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
    """``work`` holds ``figures/``; the .typ source is compiled in :func:`typst_folder` (image paths resolve
    from its root)."""
    try:
        import typst
    except ImportError:
        raise RenderError("Typst was not found: the PDF is compiled by the Python package typst (reinstall the "
                          "project's environment, e.g. `make .venv/.installed`), or render without the PDF "
                          "(--to html,docx). Nothing was rendered.") from None

    folder = typst_folder(work)
    meta = book_meta(book, notice, abstract, "typst")
    if book.authors:
        names = ", ".join(_typst_string(a["name"]) for a in book.authors)
        meta["pdf-authors"] = {"t": "MetaInlines", "c": [{"t": "RawInline", "c": ["typst", f"({names},)"]}]}
    doc = break_long_words(native_tables(single_document(ast, meta)))
    doc = typst_tables(fit_images(doc, text_width_in(book.papersize)))
    source = pandoc.ast_to(doc, "typst-citations", ["--standalone", f"--template={TEMPLATE}", "--wrap=preserve"],
                           cwd=folder)
    typ = folder / "book.typ"
    typ.write_text(source, encoding="utf-8")
    try:
        typst.compile(str(typ), output=str(target), root=str(folder), timestamp=render_timestamp())
    except Exception as e:  # typst raises its own error type with the compiler diagnostics
        raise RenderError(f"typst could not compile the PDF ({typ}):\n  {str(e).strip()}") from None
    return target
