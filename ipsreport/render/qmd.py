"""Parse a ``.qmd`` file into front matter, prose and executable ``{python}`` cells.

Only the Quarto subset documented in ``docs/engine.md`` is accepted; anything else raises RenderError with the
file and line, so an option is never silently dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import RenderError

__all__ = ["Cell", "InlineExpr", "Markdown", "Document", "parse_qmd", "SUPPORTED_CELL_OPTIONS"]

SUPPORTED_CELL_OPTIONS = {
    "label", "echo", "output", "include", "warning", "message",
    "tbl-cap", "fig-cap", "fig-alt",
}
# Figure options that Quarto's Jupyter engine ignores in a cell (knitr-only, quarto-cli
# src/resources/schema/cell-figure.yml): accepting them would make the two engines' figures differ.
KNITR_ONLY_CELL_OPTIONS = {"fig-width", "fig-height", "fig-format", "fig-dpi", "fig-asp", "out-width", "out-height"}
SUPPORTED_FRONT_MATTER = {"title", "execute", "abstract"}
KNOWN_ENGINES = {"python"}

_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
_CELL_INFO = re.compile(r"^\s*\{\s*([A-Za-z0-9_-]+)(.*)\}\s*$")
_LITERAL_CELL_INFO = re.compile(r"^\s*\{\{\s*([A-Za-z0-9_-]+)(.*)\}\}\s*$")
_INLINE_ENGINE = re.compile(r"^\{([A-Za-z0-9_-]+)\}\s+(.*)$", re.S)


@dataclass(frozen=True)
class InlineExpr:
    """An inline `` `{python} expr` `` in prose."""

    expr: str
    line: int


@dataclass(frozen=True)
class Markdown:
    """Prose between cells: literal text and inline expressions, in document order."""

    parts: tuple[str | InlineExpr, ...]
    line: int


@dataclass(frozen=True)
class Cell:
    """A ``{python}`` code cell; ``line`` is the line of its opening fence (1-based)."""

    source: str  # code without the #| option lines
    options: dict[str, Any]
    line: int

    @property
    def label(self) -> str | None:
        return self.options.get("label")


@dataclass(frozen=True)
class Document:
    path: str
    front_matter: dict[str, Any]
    blocks: tuple[Markdown | Cell, ...] = field(default_factory=tuple)

    @property
    def cells(self) -> list[Cell]:
        return [b for b in self.blocks if isinstance(b, Cell)]

    @property
    def inline_exprs(self) -> list[InlineExpr]:
        return [p for b in self.blocks if isinstance(b, Markdown) for p in b.parts if isinstance(p, InlineExpr)]

    @property
    def needs_kernel(self) -> bool:
        return bool(self.cells or self.inline_exprs)


def _front_matter(lines: list[str], path: str) -> tuple[dict[str, Any], int]:
    if not lines or lines[0].rstrip() != "---":
        return {}, 0
    for i in range(1, len(lines)):
        if lines[i].rstrip() in {"---", "..."}:
            try:
                meta = yaml.safe_load("\n".join(lines[1:i])) or {}
            except yaml.YAMLError as e:
                raise RenderError(f"{path}:1: invalid YAML front matter: {e}") from None
            if not isinstance(meta, dict):
                raise RenderError(f"{path}:1: front matter must be a YAML mapping")
            extra = sorted(set(meta) - SUPPORTED_FRONT_MATTER)
            if extra:
                raise RenderError(
                    f"{path}:1: front matter option(s) {', '.join(extra)} not supported "
                    f"(supported: {', '.join(sorted(SUPPORTED_FRONT_MATTER))})"
                )
            return meta, i + 1
    raise RenderError(f"{path}:1: front matter is not closed with ---")


def _cell_options(body: list[str], path: str, line: int) -> tuple[dict[str, Any], list[str]]:
    opt_lines = []
    i = 0
    while i < len(body) and body[i].lstrip().startswith("#|"):
        opt_lines.append(body[i].lstrip()[2:])
        i += 1
    try:
        options = yaml.safe_load("\n".join(l[1:] if l.startswith(" ") else l for l in opt_lines)) or {}
    except yaml.YAMLError as e:
        raise RenderError(f"{path}:{line}: invalid #| cell options: {e}") from None
    if not isinstance(options, dict):
        raise RenderError(f"{path}:{line}: #| cell options must be `key: value` lines")
    knitr = sorted(set(options) & KNITR_ONLY_CELL_OPTIONS)
    if knitr:
        raise RenderError(
            f"{path}:{line}: cell option(s) {', '.join(knitr)} are knitr-only: Quarto's Jupyter engine ignores them "
            "in a cell; size the figure in code (e.g. Figure(figsize=...)) or set fig-width/fig-height, fig-format "
            "and fig-dpi in _quarto.yml"
        )
    extra = sorted(set(options) - SUPPORTED_CELL_OPTIONS)
    if extra:
        raise RenderError(
            f"{path}:{line}: cell option(s) {', '.join(extra)} not supported by the built-in engine "
            f"(supported: {', '.join(sorted(SUPPORTED_CELL_OPTIONS))})"
        )
    out = options.get("output", True)
    if out not in (True, False, "asis"):
        raise RenderError(f"{path}:{line}: cell option output must be true, false or asis, not {out!r}")
    return options, body[i:]


def _inline_parts(text: str, first_line: int, path: str) -> list[str | InlineExpr]:
    """Split prose into literal text and inline ``{python}`` expressions (code spans per CommonMark)."""
    parts: list[str | InlineExpr] = []
    pos = 0
    literal_start = 0
    while True:
        m = re.compile(r"`+").search(text, pos)
        if not m:
            break
        ticks = m.group(0)
        closer = re.compile(r"(?<!`)" + ticks + r"(?!`)")
        end = closer.search(text, m.end())
        if not end:
            pos = m.end()
            continue
        content = text[m.end() : end.start()]
        eng = _INLINE_ENGINE.match(content) if len(ticks) == 1 else None
        if eng:
            line = first_line + text.count("\n", 0, m.start())
            if eng.group(1) not in KNOWN_ENGINES:
                raise RenderError(f"{path}:{line}: inline code engine {{{eng.group(1)}}} not supported (only python)")
            parts.append(text[literal_start : m.start()])
            parts.append(InlineExpr(eng.group(2).strip(), line))
            literal_start = end.end()
        pos = end.end()
    parts.append(text[literal_start:])
    return [p for p in parts if p != ""]


def parse_qmd(text: str, path: str = "<qmd>") -> Document:
    """Parse Quarto markdown text; ``path`` is used in error messages."""
    lines = text.split("\n")
    meta, i = _front_matter(lines, path)
    blocks: list[Markdown | Cell] = []
    prose: list[str] = []  # lines of the current prose chunk
    prose_line = i + 1
    segments: list[tuple[str, int, bool]] = []  # (text, first line, is_literal_code) for the current chunk

    def flush_segment(literal: bool) -> None:
        nonlocal prose
        if prose:
            segments.append(("\n".join(prose) + "\n", prose_line, literal))
            prose = []

    def flush_chunk() -> None:
        flush_segment(False)
        parts: list[str | InlineExpr] = []
        for seg_text, seg_line, literal in segments:
            parts.extend([seg_text] if literal else _inline_parts(seg_text, seg_line, path))
        if parts:
            merged: list[str | InlineExpr] = []
            for p in parts:
                if isinstance(p, str) and merged and isinstance(merged[-1], str):
                    merged[-1] += p
                else:
                    merged.append(p)
            blocks.append(Markdown(tuple(merged), segments[0][1]))
        segments.clear()

    n = len(lines)
    while i < n:
        line = lines[i]
        m = _FENCE.match(line)
        if not m or (m.group(2)[0] == "`" and "`" in m.group(3)):
            if not prose:
                prose_line = i + 1
            prose.append(line)
            i += 1
            continue
        fence, info = m.group(2), m.group(3)
        close = re.compile(r"^ {0,3}" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}\s*$")
        j = i + 1
        while j < n and not close.match(lines[j]):
            j += 1
        if j >= n:
            raise RenderError(f"{path}:{i + 1}: code fence {fence} is never closed")
        body = lines[i + 1 : j]
        cell = _CELL_INFO.match(info) if fence[0] == "`" else None
        literal = _LITERAL_CELL_INFO.match(info) if fence[0] == "`" else None
        if cell:
            engine, rest = cell.group(1), cell.group(2).strip()
            if engine not in KNOWN_ENGINES:
                raise RenderError(
                    f"{path}:{i + 1}: code cell engine {{{engine}}} not supported by the built-in engine (only python)"
                )
            if rest:
                raise RenderError(
                    f"{path}:{i + 1}: attributes in the cell fence ({rest}) are not supported; use #| options"
                )
            flush_chunk()
            options, code = _cell_options(body, path, i + 1)
            blocks.append(Cell("\n".join(code).strip("\n"), options, i + 1))
            prose_line = j + 2
        else:
            # Ordinary fenced code (possibly showing cells): kept verbatim, no inline evaluation inside.
            flush_segment(False)
            opening, closing = line, lines[j]
            if literal:
                # Quarto's {{python}} shows a cell literally, fences included.
                outer = fence[0] * (len(fence) + 1)
                opening, closing = f"{outer}markdown", outer
                body = [f"{fence}{{{literal.group(1)}{literal.group(2)}}}", *body, fence]
            prose_line = i + 1
            prose.extend([opening, *body, closing])
            flush_segment(True)
            prose_line = j + 2
        i = j + 1
    flush_chunk()
    return Document(path, meta, tuple(blocks))


def read_qmd(root: Path, rel: str) -> Document:
    path = Path(root) / rel
    return parse_qmd(path.read_text(encoding="utf-8"), rel)
