"""Join the chapters' intermediate markdown into one book AST, number it and run citeproc once for the book."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import pandoc
from .crossref import Numbering, number_book
from .execute import ChapterOutput
from .project import Book

__all__ = ["assemble_book"]

_WRAP = ":" * 12  # longer than any fence a chapter uses, for readability only (pandoc nests divs anyway)


def book_markdown(book: Book, outputs: dict[str, ChapterOutput]) -> str:
    parts = []
    for ch in book.chapters:
        md = outputs[ch.slug].markdown
        parts.append(
            f'\n{_WRAP} {{#ipsr-chapter-{ch.slug} .ipsr-chapter slug="{ch.slug}" kind="{ch.kind}" path="{ch.path}"}}\n\n'
            f"{md.rstrip()}\n\n{_WRAP}\n"
        )
    return "".join(parts)


def assemble_book(book: Book, outputs: dict[str, ChapterOutput], work: Path) -> tuple[dict[str, Any], Numbering]:
    """The numbered, cross-referenced, cited AST of the whole book (citations numbered once, book-wide)."""
    md = book_markdown(book, outputs)
    (work / "book.md").write_text(md, encoding="utf-8")
    ast = pandoc.markdown_to_ast(md)
    number_sections = all(o.get("number-sections", True) for o in book.formats.values())
    ast, numbering = number_book(ast, book.root, number_sections)
    if book.bibliography:
        args = ["--citeproc", "-M", "link-citations=true", "-M", "link-bibliography=true"]
        for bib in book.bibliography:
            args += ["--bibliography", str(book.root / bib)]
        if book.csl:
            args += ["--csl", str(book.root / book.csl)]
        ast = json.loads(pandoc.ast_to(ast, "json", args))
        # Bibliography entries live on the page that holds #refs.
        for div in ast["blocks"]:
            slug = pandoc.kv_of(div)["slug"]

            def note(node: dict[str, Any], slug: str = slug) -> None:
                if node["t"] in {"Div", "Span"} and node["c"][0][0]:
                    numbering.ids.setdefault(node["c"][0][0], slug)

            pandoc.walk(div, note)
    return ast, numbering


def book_meta(book: Book, notice: str | None, abstract: str | None, fmt: str) -> dict[str, Any]:
    """Pandoc metadata for a single-document format (title block, notice, abstract, options)."""
    opts = book.format_options(fmt)
    meta: dict[str, Any] = {"title": pandoc.meta_inlines(book.title), "lang": pandoc.meta_inlines(book.lang)}
    if book.subtitle:
        meta["subtitle"] = pandoc.meta_inlines(book.subtitle)
    if book.authors:
        meta["author"] = {
            "t": "MetaList",
            "c": [{"t": "MetaMap", "c": {k: pandoc.meta_inlines(v) for k, v in a.items()}} for a in book.authors],
        }
    if book.date:
        meta["date"] = pandoc.meta_inlines(book.date)
    if notice:
        meta["notice"] = pandoc.meta_inlines(notice)
    if abstract:
        meta["abstract"] = {"t": "MetaBlocks", "c": pandoc.markdown_to_ast(abstract)["blocks"]}
    if opts.get("toc"):
        meta["toc"] = {"t": "MetaBool", "c": True}
    if opts.get("papersize"):
        meta["papersize"] = pandoc.meta_inlines(str(opts["papersize"]))
    return meta


def single_document(ast: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """The book as one document: chapter wrappers removed, metadata set."""
    blocks = [b for div in ast["blocks"] for b in div["c"][1]]
    return {**ast, "meta": meta, "blocks": blocks}


def use_figure_format(ast: dict[str, Any], kind: str) -> dict[str, Any]:
    """The AST with every executed figure (``figures/x.png``) pointing at the variant of figure format ``kind``
    (``svg`` → ``figures/x.svg``; ``png``/``retina`` keep the PNG)."""
    from .execute import figure_variant

    def swap(node: dict[str, Any]) -> Any:
        if node["t"] != "Image":
            return None
        attr, alt, (src, title) = node["c"]
        if not src.startswith("figures/"):
            return None
        return {"t": "Image", "c": [attr, alt, [figure_variant(src, kind), title]]}

    return pandoc.walk(ast, swap)
