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

__all__ = ["clean_table_html", "native_tables"]

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
