"""Turn raw HTML tables (great_tables, pandas) into native pandoc tables for DOCX and Typst.

great_tables styles its tables with a ``<style>`` block and classes; pandoc's HTML reader needs plain markup, so
alignment classes become ``align`` attributes, footnote marks become superscripts and styling is dropped. The
spanners (colspan) and row groups survive as table structure; the ``<tfoot>`` (source notes, footnotes)
becomes paragraphs right after the table.
"""

from __future__ import annotations

import json
from typing import Any

from bs4 import BeautifulSoup

from . import pandoc

__all__ = ["clean_table_html", "native_tables", "proportional_column_widths"]

_DROP_ATTRS = ("id", "headers", "style", "scope", "class")


def clean_table_html(html: str) -> str | None:
    """The ``<table>`` of an HTML output, cleaned for pandoc; None if there is no table."""
    soup = BeautifulSoup(html, "lxml")
    for tag in soup.find_all(["style", "script"]):
        tag.decompose()
    table = soup.find("table")
    if table is None:
        return None
    for tag in table.find_all(True):
        classes = tag.get("class") or []
        if "gt_footnote_marks" in classes:
            tag.name = "sup"
        for align in ("left", "right", "center"):
            if f"gt_{align}" in classes and tag.name in {"td", "th"}:
                tag["align"] = align
        for name in _DROP_ATTRS:
            tag.attrs.pop(name, None)
    for name in _DROP_ATTRS:
        table.attrs.pop(name, None)
    for name in [a for a in table.attrs if a.startswith("data-")]:
        del table[name]
    # Source notes and footnotes become paragraphs after the table: as a table foot, Typst would repeat them
    # on every page a long table spans.
    notes = []
    tfoot = table.find("tfoot")
    if tfoot is not None:
        for cell in tfoot.find_all(["td", "th"]):
            inner = cell.decode_contents().strip()
            if inner:
                notes.append(f"<p>{inner}</p>")
        tfoot.decompose()
    return str(table) + "".join(notes)


def native_tables(ast: dict[str, Any]) -> dict[str, Any]:
    """Replace every raw HTML block holding a table by pandoc blocks (one pandoc call for the whole book)."""
    raws: list[str] = []

    def collect(node: dict[str, Any]) -> Any:
        if node["t"] == "RawBlock" and node["c"][0] == "html":
            cleaned = clean_table_html(node["c"][1])
            if cleaned is not None:
                raws.append(cleaned)
                return {"t": "Div", "c": [pandoc.attr("", ["ipsr-native-table"], {"n": str(len(raws) - 1)}), []]}
            return []  # other raw HTML has no meaning outside HTML
        return None

    ast = pandoc.walk(ast, collect)
    if not raws:
        return ast
    html = "".join(f'<div id="ipsr-raw-{i}">{t}</div>' for i, t in enumerate(raws))
    converted = json.loads(pandoc.run(["-f", "html", "-t", "json"], html))
    by_id = {b["c"][0][0]: b["c"][1] for b in converted["blocks"] if b["t"] == "Div"}

    def fill(node: dict[str, Any]) -> Any:
        if node["t"] == "Div" and pandoc.has_class(node, "ipsr-native-table"):
            return by_id.get(f"ipsr-raw-{pandoc.kv_of(node)['n']}", [])
        return None

    return pandoc.walk(ast, fill)


def _text(node: Any) -> str:
    """The plain text of a pandoc JSON fragment (Str and spaces)."""
    if isinstance(node, list):
        return "".join(_text(n) for n in node)
    if isinstance(node, dict):
        if node.get("t") == "Str":
            return node["c"]
        if node.get("t") in ("Space", "SoftBreak", "LineBreak"):
            return " "
        return _text(node.get("c", []))
    return ""


def proportional_column_widths(ast: dict[str, Any], cap: int = 28, padding: int = 4) -> dict[str, Any]:
    """Give every table explicit column widths, proportional to its longest body entry (header words count
    too), spanning the text width. Word processors then lay tables out across the page instead of squeezing
    'auto' tables; Typst lays out auto columns well, so this is for DOCX only."""

    def widths(node: dict[str, Any]) -> Any:
        if node.get("t") != "Table":
            return None
        attr, caption, colspecs, head, bodies, foot = node["c"]
        n = len(colspecs)
        need = [6] * n

        def visit(rows, header: bool) -> None:
            for _row_attr, cells in rows:
                col = 0
                for _cell_attr, _align, _rowspan, colspan, blocks in cells:
                    text = _text(blocks).strip()
                    if colspan == 1 and col < n:
                        longest = max((len(w) for w in text.split()), default=0) if header else len(text)
                        need[col] = max(need[col], min(longest, cap))
                    col += colspan

        visit(head[1], header=True)
        for _body_attr, _rowhead, head_rows, body_rows in bodies:
            visit(head_rows, header=True)
            visit(body_rows, header=False)
        need = [w + padding for w in need]  # cell margins take room too
        total = float(sum(need))
        new_specs = [[spec[0], {"t": "ColWidth", "c": need[i] / total}] for i, spec in enumerate(colspecs)]
        return {"t": "Table", "c": [attr, caption, new_specs, head, bodies, foot]}

    return pandoc.walk(ast, widths)
