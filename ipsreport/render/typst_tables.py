"""Typeset the book's tables for Typst as a careful typesetter would, from pandoc's table AST.

Pandoc's typst writer puts a table and its caption in separate blocks, so a caption can end a page with its table
overleaf, and a table that spans pages loses its row-group labels. Here each table (with its caption, if it is a
numbered float) becomes one Typst ``table`` written by this module:

- the caption sticks to the table (a sticky block: never alone at a page foot), and the table's header repeats on
  every continuation page, there headed by the caption and "(continued)";
- each row-group label is a second-level header, which Typst repeats at the top of a page while its group goes on;
- the table is wrapped in ``ipsr-table`` (``templates/book.typ``), which lets it break across pages only when it
  is taller than a page, so a table that fits is moved whole to the next page instead of being split after two rows.

Cell contents are converted by pandoc itself (one call for every cell of the book), so escaping stays pandoc's.
"""

from __future__ import annotations

import re
from typing import Any

from . import pandoc

__all__ = ["typst_tables"]

_SPLIT = "// ipsr-cell-split"
_LABEL = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")  # written as <label> in Typst markup
_ALIGN = {"AlignLeft": "left", "AlignRight": "right", "AlignCenter": "center"}


def _cell_blocks(blocks: list[Any]) -> list[Any]:
    return blocks or [{"t": "Plain", "c": []}]


def _convert(fragments: list[list[Any]], like: dict[str, Any]) -> list[str]:
    """Typst markup of each fragment (a list of pandoc blocks), in one pandoc run."""
    if not fragments:
        return []
    blocks: list[Any] = []
    for frag in fragments:
        blocks.append({"t": "RawBlock", "c": ["typst", _SPLIT]})
        blocks.extend(frag)
    blocks.append({"t": "RawBlock", "c": ["typst", _SPLIT]})
    out = pandoc.ast_to(pandoc.document(blocks, like=like), "typst", ["--wrap=none"])
    parts = out.split(_SPLIT)[1:-1]
    if len(parts) != len(fragments):
        raise AssertionError("internal: typst table cells could not be split back")
    return [p.strip() for p in parts]


def _align(node: dict[str, Any]) -> str | None:
    return _ALIGN.get(node.get("t", ""))


def _rows_of(table: list[Any]) -> tuple[list[Any], list[tuple[list[Any], list[Any]]]]:
    """The header rows and, per body, (group-label rows, data rows)."""
    _attr, _caption, _colspecs, head, bodies, _foot = table
    bodies_out = [(body[2], body[3]) for body in bodies]
    return head[1], bodies_out


class _TableWriter:
    """Collects the fragments of every table first (one pandoc call), then writes each table's Typst."""

    def __init__(self) -> None:
        self.fragments: list[list[Any]] = []

    def add(self, blocks: list[Any]) -> int:
        self.fragments.append(_cell_blocks(blocks))
        return len(self.fragments) - 1

    def plan(self, table: list[Any], caption: list[Any] | None, notes: list[Any] | None = None) -> dict[str, Any]:
        head_rows, bodies = _rows_of(table)
        colspecs = table[2]

        def row_plan(rows: list[Any]) -> list[list[dict[str, Any]]]:
            out = []
            for _row_attr, cells in rows:
                out.append([{"frag": self.add(blocks), "align": _align(align), "rowspan": rowspan, "colspan": colspan}
                            for _cell_attr, align, rowspan, colspan, blocks in cells])
            return out

        return {
            "ncols": len(colspecs),
            "aligns": [_align(spec[0]) for spec in colspecs],
            "caption": self.add([{"t": "Plain", "c": caption}]) if caption else None,
            "notes": self.add(notes) if notes else None,
            "head": row_plan(head_rows),
            "bodies": [(row_plan(groups), row_plan(rows)) for groups, rows in bodies],
        }

    @staticmethod
    def _cell(cell: dict[str, Any], text: list[str], extra: str = "") -> str:
        args = []
        if cell["colspan"] > 1:
            args.append(f"colspan: {cell['colspan']}")
        if cell["rowspan"] > 1:
            args.append(f"rowspan: {cell['rowspan']}")
        if cell["align"]:
            args.append(f"align: {cell['align']}")
        body = text[cell["frag"]]
        content = f"[{extra}{body}]" if not extra else f"[{extra}[{body}]]"
        return f"table.cell({', '.join(args)}){content}" if args else content

    def write(self, plan: dict[str, Any], key: str, text: list[str]) -> str:
        n = plan["ncols"]
        aligns = ", ".join(a or "left" for a in plan["aligns"])
        caption = f"[{text[plan['caption']]}]" if plan["caption"] is not None else "none"
        lines = [f"#ipsr-table(\"{key}\", {caption})[#table(", f"  columns: {n},", f"  align: ({aligns},),",
                 "  table.header("]
        if plan["caption"] is not None:
            # Empty where the table starts (the caption stands above it there); the caption and "(continued)"
            # on every later page.
            lines.append(f"    table.cell(colspan: {n}, align: left, inset: 0pt)[#ipsr-continued(\"{key}\", {caption})],")
        lines.append("    table.hline(stroke: 0.8pt),")
        for row in plan["head"]:
            lines.append("    " + ", ".join(self._cell(c, text) for c in row) + ",")
        lines.append("    table.hline(stroke: 0.5pt),")
        lines.append("  ),")
        for groups, rows in plan["bodies"]:
            for row in groups + rows:
                if _is_group_label(row, n):
                    lines.append(f"  table.header(level: 2, {self._cell(row[0], text, '#ipsr-group-label')}),")
                else:
                    lines.append("  " + ", ".join(self._cell(c, text) for c in row) + ",")
        lines.append("  table.hline(stroke: 0.8pt),")
        lines.append(")")
        if plan["notes"] is not None:  # the table's notes travel with it (they would stay behind were it to float)
            lines += ["", text[plan["notes"]]]
        lines.append("]")
        return "\n".join(lines)


def _is_group_label(row: list[dict[str, Any]], ncols: int) -> bool:
    """A row-group label: one cell across the whole table (great_tables writes every group heading so, and pandoc
    reads only the first of a body as an intermediate head)."""
    return ncols > 1 and len(row) == 1 and row[0]["colspan"] == ncols


def _caption_inlines(block: dict[str, Any]) -> list[Any]:
    return [i for p in block["c"][1] for i in (p["c"] if p["t"] in {"Para", "Plain"} else [])]


def typst_tables(ast: dict[str, Any]) -> dict[str, Any]:
    """Replace every pandoc Table (and the caption of its float) by raw Typst written by this module."""
    writer = _TableWriter()
    plans: list[dict[str, Any]] = []

    labels: dict[int, str] = {}

    def marker(table: dict[str, Any], caption: list[Any] | None, ident: str = "",
               notes: list[Any] | None = None) -> dict[str, Any]:
        plans.append(writer.plan(table["c"], caption, notes))
        if ident:
            labels[len(plans) - 1] = ident
        return {"t": "RawBlock", "c": ["typst", f"// ipsr-table {len(plans) - 1}"]}

    def visit(node: dict[str, Any]) -> Any:
        if node["t"] == "Div" and pandoc.has_class(node, "ipsr-float") and pandoc.has_class(node, "ipsr-tbl"):
            blocks = node["c"][1]
            captions = [b for b in blocks if b.get("t") == "Div" and pandoc.has_class(b, "ipsr-caption-text")]
            tables = [i for i, b in enumerate(blocks) if b.get("t") == "Table"]
            if len(tables) == 1 and len(captions) <= 1:
                caption = _caption_inlines(captions[0]) if captions else None
                ident = node["c"][0][0]
                rest = [b for b in blocks if not (b.get("t") == "Div" and pandoc.has_class(b, "ipsr-caption-text"))]
                if _LABEL.fullmatch(ident):
                    # The float's blocks stand at the top level, the label on the table: inside pandoc's #block for
                    # the div, a table could not float to the next page with the text after it filling this one.
                    # The blocks after the table (source notes, footnotes) go inside it.
                    at = next(i for i, b in enumerate(rest) if b.get("t") == "Table")
                    return rest[:at] + [marker(rest[at], caption, ident, rest[at + 1:])]
                rest = [marker(b, caption) if b.get("t") == "Table" else b for b in rest]
                return {"t": "Div", "c": [node["c"][0], rest]}
            return None
        if node["t"] == "Table":
            return marker(node, None)
        return None

    # Floats first (walk is bottom-up, so bare tables inside a float would be taken before their float):
    ast = pandoc.walk(ast, lambda n: visit(n) if n["t"] == "Div" else None)
    ast = pandoc.walk(ast, lambda n: visit(n) if n["t"] == "Table" else None)
    if not plans:
        return ast
    text = _convert(writer.fragments, ast)
    sources = [writer.write(plan, f"ipsr-table-{i}", text) + (f" <{labels[i]}>" if i in labels else "")
               for i, plan in enumerate(plans)]

    def fill(node: dict[str, Any]) -> Any:
        if node["t"] == "RawBlock" and node["c"][0] == "typst" and node["c"][1].startswith("// ipsr-table "):
            return {"t": "RawBlock", "c": ["typst", sources[int(node["c"][1].split()[-1])]]}
        return None

    return pandoc.walk(ast, fill)
