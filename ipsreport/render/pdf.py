"""Write the PDF: pandoc's typst writer with our template, then the typst compiler (no LaTeX)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import RenderError, pandoc
from .assemble import book_meta, single_document
from .project import Book
from .tables import native_tables

__all__ = ["write_pdf"]

TEMPLATE = Path(__file__).parent / "templates" / "book.typ"


def write_pdf(book: Book, ast: dict[str, Any], notice: str | None, abstract: str | None, work: Path, target: Path) -> Path:
    """``work`` holds ``figures/``; the .typ source is written there so image paths resolve from the root."""
    try:
        import typst
    except ImportError:
        raise RenderError("Typst was not found: the PDF is compiled by the Python package typst (reinstall the "
                          "project's environment, e.g. `make .venv/.installed`), or render without the PDF "
                          "(--to html,docx). Nothing was rendered.") from None

    doc = native_tables(single_document(ast, book_meta(book, notice, abstract, "typst")))
    source = pandoc.ast_to(doc, "typst-citations", ["--standalone", f"--template={TEMPLATE}", "--wrap=preserve"], cwd=work)
    typ = work / "book.typ"
    typ.write_text(source, encoding="utf-8")
    try:
        typst.compile(str(typ), output=str(target), root=str(work), timestamp=0)
    except Exception as e:  # typst raises its own error type with the compiler diagnostics
        raise RenderError(f"typst could not compile the PDF ({typ}):\n  {str(e).strip()}") from None
    return target
