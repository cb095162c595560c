"""Write the DOCX: one pandoc call, native tables, captions styled "Table Caption"/"Image Caption"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import pandoc
from .assemble import book_meta, single_document
from .project import Book
from .tables import native_tables, proportional_column_widths

__all__ = ["write_docx"]


def write_docx(book: Book, ast: dict[str, Any], notice: str | None, abstract: str | None, work: Path, target: Path) -> Path:
    doc = single_document(ast, book_meta(book, notice, abstract, "docx"))
    doc.get("meta", {}).pop("notice", None)
    if notice:
        # On the title page, right under the title block.
        para = {"t": "Para", "c": [{"t": "Strong", "c": pandoc.text_inlines("Notice.")}, {"t": "Space"},
                                   *pandoc.text_inlines(notice)]}
        doc["blocks"].insert(0, {"t": "Div", "c": [pandoc.attr("", ["ipsr-notice"], {"custom-style": "Notice"}), [para]]})
    doc = proportional_column_widths(native_tables(doc))
    # Highlighting costs ~0.5 s of pandoc start-up per run and echo is off in a report; code keeps "Source Code".
    args = ["-o", str(target), f"--resource-path={work}", "--syntax-highlighting=none"]
    if book.format_options("docx").get("toc"):
        args.append("--toc")
    pandoc.ast_to(doc, "docx", args, cwd=work)
    return target
