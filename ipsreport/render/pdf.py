"""Write the PDF: pandoc's typst writer with our template, then the typst compiler (no LaTeX)."""

from __future__ import annotations

import re
import shutil
import unicodedata
from pathlib import Path
from typing import Any

from . import RenderError, pandoc
from .assemble import book_meta, single_document
from .project import Book
from .tables import native_tables

__all__ = ["write_pdf"]

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
    doc = break_long_words(native_tables(single_document(ast, book_meta(book, notice, abstract, "typst"))))
    source = pandoc.ast_to(doc, "typst-citations", ["--standalone", f"--template={TEMPLATE}", "--wrap=preserve"],
                           cwd=folder)
    typ = folder / "book.typ"
    typ.write_text(source, encoding="utf-8")
    try:
        typst.compile(str(typ), output=str(target), root=str(folder), timestamp=0)
    except Exception as e:  # typst raises its own error type with the compiler diagnostics
        raise RenderError(f"typst could not compile the PDF ({typ}):\n  {str(e).strip()}") from None
    return target
