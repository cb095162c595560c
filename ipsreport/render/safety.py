"""Defence in depth against computed values that turn into markup: a check of a chapter's executed markdown.

Values printed by inline expressions and cells should reach the text as literal characters (strings are
escaped by the inline rule, deliberate markdown by the package). Should one slip through, this pass compares
the pandoc AST of the executed chapter with the AST of its source (inline expressions replaced by a
placeholder) and rejects what neither the source nor the engine put there:

- an image whose target is not a figure the engine wrote (``figures/<name>``) nor written in the source —
  pandoc would embed a local file into the DOCX or fetch a URL while writing it;
- a link whose target is not written in the source (``javascript:`` URLs, links to anywhere);
- a raw block or inline of any format (``html``, ``typst``, ``openxml``, ``latex``…) that is not in the source
  nor an HTML output the engine wrapped itself (tables) — raw Typst runs as code in the PDF, raw HTML as
  script in the page, raw OpenXML corrupts the DOCX;
- an event-handler attribute (``onclick=`` on a span) that the source does not hold.

``--resource-path`` and ``--sandbox`` cannot do this: the first does not stop absolute paths, the second also
blocks the book's own figures.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from . import RenderError, pandoc

__all__ = ["Markup", "markup_of", "check_computed_markup"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_ATTR_NODES = {"Div", "Span", "Code", "CodeBlock", "Header", "Link", "Image", "Table", "Figure", "Cell"}


@dataclass(frozen=True)
class Markup:
    """The targets and raw content found in one AST."""

    images: frozenset[str]
    links: frozenset[str]
    raw: frozenset[tuple[str, str]]  # (format, content stripped of surrounding white space)
    handlers: frozenset[tuple[str, str]]  # event-handler attributes (key, value)


def _attr(node: dict[str, Any]) -> list | None:
    t, c = node["t"], node.get("c")
    if t not in _ATTR_NODES or not isinstance(c, list) or not c:
        return None
    if t == "Header":
        return c[1]
    if t == "Cell":
        return c[0]
    return c[0]


def markup_of(ast: Any) -> Markup:
    """Collect image and link targets, raw blocks/inlines and ``on*`` attributes anywhere in ``ast``."""
    images: set[str] = set()
    links: set[str] = set()
    raw: set[tuple[str, str]] = set()
    handlers: set[tuple[str, str]] = set()

    def visit(node: dict[str, Any]) -> None:
        t = node["t"]
        if t == "Image":
            images.add(node["c"][2][0])
        elif t == "Link":
            links.add(node["c"][2][0])
        elif t in {"RawBlock", "RawInline"}:
            raw.add((node["c"][0].lower(), node["c"][1].strip()))
        attr = _attr(node)
        if attr and len(attr) == 3 and isinstance(attr[2], list):
            handlers.update((str(k), str(v)) for k, v in attr[2] if str(k).lower().startswith("on"))

    pandoc.walk(ast, visit)
    return Markup(frozenset(images), frozenset(links), frozenset(raw), frozenset(handlers))


def _shown(text: str, limit: int = 100) -> str:
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_computed_markup(
    executed: str, source: str, figures: Iterable[str], engine_raw_html: Iterable[str], where: str
) -> None:
    """Raise :class:`RenderError` (naming ``where`` and the target) for markup in the ``executed`` chapter
    markdown that neither its ``source`` markdown nor the engine (``figures``, raw HTML outputs) put there."""
    got = markup_of(pandoc.markdown_to_ast(executed))
    allowed = markup_of(pandoc.markdown_to_ast(source))
    figure_targets = {f"figures/{name}" for name in figures}
    engine_raw = {("html", html.strip()) for html in engine_raw_html}
    problems = []
    for target in sorted(got.images - allowed.images - figure_targets):
        problems.append(f"an image with target `{_shown(target)}`")
    for target in sorted(got.links - allowed.links):
        problems.append(f"a link to `{_shown(target)}`")
    for fmt, content in sorted(got.raw - allowed.raw - engine_raw):
        problems.append(f"raw {fmt} `{_shown(content)}`")
    for key, value in sorted(got.handlers - allowed.handlers):
        problems.append(f"an event-handler attribute `{_shown(key)}={_shown(value)}`")
    if problems:
        raise RenderError(
            f"{where}: computed output would put markup into the book that the source does not hold: "
            + "; ".join(problems)
            + ". Text from data must reach the markdown escaped, as literal text."
        )
