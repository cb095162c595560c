"""Number chapters, sections, tables and figures like a Quarto book and resolve ``@sec-``/``@tbl-``/``@fig-``.

Works on the pandoc AST of the whole book (one top-level ``.ipsr-chapter`` div per chapter), so numbering and
references are global; every other ``@key`` is left as a citation for citeproc.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import RenderError
from .pandoc import attr, has_class, kv_of, stringify, text_inlines, walk

__all__ = ["Target", "Numbering", "number_book", "XREF_PREFIXES"]

XREF_PREFIXES = ("sec-", "tbl-", "fig-")
KIND_NAME = {"tbl": "Table", "fig": "Figure"}


@dataclass(frozen=True)
class Target:
    ident: str
    text: str  # what a reference shows: "Table 2.1", "Section 2.3", "Chapter 2"
    slug: str  # the page (chapter) it lives on


@dataclass
class Numbering:
    chapter_numbers: dict[str, str | None] = field(default_factory=dict)  # slug -> "2", "A" or None
    chapter_titles: dict[str, str] = field(default_factory=dict)  # slug -> plain title (with number)
    targets: dict[str, Target] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # every element id -> slug (for links across pages)


def _letter(i: int) -> str:
    s = ""
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _number_span(number: str) -> list[dict[str, Any]]:
    return [{"t": "Span", "c": [attr("", ["header-section-number"]), [{"t": "Str", "c": number}]]}, {"t": "Space"}]


def _caption_block(kind: str, label_text: str | None, caption: list[dict[str, Any]]) -> dict[str, Any]:
    inlines: list[dict[str, Any]] = []
    if label_text:
        inlines = text_inlines(label_text + (":" if caption else ""))
        if caption:
            inlines.append({"t": "Space"})
    inlines += caption
    style = "Table Caption" if kind == "tbl" else "Image Caption"
    return {
        "t": "Div",
        "c": [attr("", ["ipsr-caption-text", f"ipsr-{kind}-caption"], {"custom-style": style}), [{"t": "Para", "c": inlines}]],
    }


def _line_of(root: Path, rel: str, needle: str) -> str:
    try:
        for i, line in enumerate((root / rel).read_text(encoding="utf-8").split("\n"), 1):
            if re.search(re.escape(needle) + r"(?![\w-])", line):
                return f"{rel}:{i}"
    except OSError:
        pass
    return rel


def number_book(ast: dict[str, Any], root: Path, number_sections: bool = True) -> tuple[dict[str, Any], Numbering]:
    """Return the AST with numbers, captions and resolved cross-references, and the numbering used."""
    numbering = Numbering()
    chapter_no = appendix_no = 0
    blocks = ast["blocks"]

    # Pass 1: number chapters/sections/floats, rewrite headers and captions.
    new_blocks = []
    for div in blocks:
        if not has_class(div, "ipsr-chapter"):
            raise RenderError("internal: book AST has content outside a chapter")
        info = kv_of(div)
        slug, kind = info["slug"], info["kind"]
        first_h1 = next((b for b in div["c"][1] if b.get("t") == "Header" and b["c"][0] == 1), None)
        number: str | None = None
        if kind != "front" and first_h1 is not None and "unnumbered" not in first_h1["c"][1][1]:
            if kind == "chapter":
                chapter_no += 1
                number = str(chapter_no)
            else:
                appendix_no += 1
                number = _letter(appendix_no)
        numbering.chapter_numbers[slug] = number
        counters = [0, 0, 0, 0, 0, 0]
        floats = {"tbl": 0, "fig": 0}

        def visit(node: dict[str, Any], slug: str = slug, kind: str = kind, number: str | None = number) -> Any:
            t = node["t"]
            if t == "Header":
                level, (ident, classes, kv), inlines = node["c"]
                numbered = number is not None and "unnumbered" not in classes
                title = stringify(inlines)
                if numbered:
                    counters[level - 1] += 1
                    for i in range(level, 6):
                        counters[i] = 0
                    sec = ".".join([number] + [str(c) for c in counters[1:level]])
                    if level == 1:
                        text = f"Appendix {number}" if kind == "appendix" else f"Chapter {number}"
                    else:
                        text = f"Section {sec}"
                    if level == 1 and slug not in numbering.chapter_titles:
                        numbering.chapter_titles[slug] = f"{sec}\u2002{title}"
                    if number_sections:
                        inlines = _number_span(sec) + inlines
                else:
                    text = title
                    if level == 1 and slug not in numbering.chapter_titles:
                        numbering.chapter_titles[slug] = title
                if ident:
                    numbering.ids[ident] = slug
                    if ident.startswith("sec-"):
                        numbering.targets[ident] = Target(ident, text, slug)
                return {"t": "Header", "c": [level, [ident, sorted(set(classes) | {"unnumbered"}), kv], inlines]}
            if t == "Div" and has_class(node, "ipsr-float"):
                ident, classes, _ = node["c"][0]
                fkind = "tbl" if "ipsr-tbl" in classes else "fig"
                caption: list[dict[str, Any]] = []
                content = []
                for b in node["c"][1]:
                    if b.get("t") == "Div" and has_class(b, "ipsr-caption"):
                        caption = [i for p in b["c"][1] for i in (p["c"] if p["t"] in {"Para", "Plain"} else [])]
                    else:
                        content.append(b)
                label_text = None
                if ident.startswith(fkind + "-"):
                    floats[fkind] += 1
                    n = f"{number}.{floats[fkind]}" if number else str(floats[fkind])
                    label_text = f"{KIND_NAME[fkind]} {n}"
                    numbering.targets[ident] = Target(ident, label_text, slug)
                    numbering.ids[ident] = slug
                cap = _caption_block(fkind, label_text, caption) if (label_text or caption) else None
                parts = ([cap] if cap and fkind == "tbl" else []) + content + ([cap] if cap and fkind == "fig" else [])
                return {"t": "Div", "c": [node["c"][0], parts]}
            if t in {"Div", "Span"} and node["c"][0][0]:
                numbering.ids[node["c"][0][0]] = slug
            return None

        body = walk(div["c"][1], visit)
        if slug not in numbering.chapter_titles:
            numbering.chapter_titles[slug] = Path(info.get("path", slug)).stem
        new_blocks.append({"t": "Div", "c": [div["c"][0], body]})

    # Pass 2: resolve @sec-/@tbl-/@fig- (they parse as citations); unknown ones are errors.
    problems: list[str] = []
    out_blocks = []
    for div in new_blocks:
        path = kv_of(div).get("path", "?")

        def resolve(node: dict[str, Any], path: str = path) -> Any:
            if node["t"] != "Cite":
                return None
            citations, _ = node["c"]
            refs = [c for c in citations if c["citationId"].startswith(XREF_PREFIXES)]
            if not refs:
                return None
            out: list[dict[str, Any]] = []
            for c in refs:
                ident = c["citationId"]
                target = numbering.targets.get(ident)
                if target is None:
                    problems.append(f"{_line_of(root, path, '@' + ident)}: unknown cross-reference @{ident}")
                    continue
                text = target.text
                if c["citationMode"]["t"] == "SuppressAuthor":
                    text = text.split(" ", 1)[-1]
                if out:
                    out += [{"t": "Str", "c": ","}, {"t": "Space"}] if len(refs) > 1 else []
                out += c.get("citationPrefix", []) + ([{"t": "Space"}] if c.get("citationPrefix") else [])
                out.append({"t": "Link", "c": [attr("", ["quarto-xref"]), text_inlines(text), ["#" + ident, ""]]})
                if c.get("citationSuffix"):
                    out += c["citationSuffix"]
            rest = [c for c in citations if not c["citationId"].startswith(XREF_PREFIXES)]
            if rest:
                out += [{"t": "Space"}, {"t": "Cite", "c": [rest, [{"t": "Str", "c": "[@" + rest[0]["citationId"] + "]"}]]}]
            return out

        out_blocks.append(walk(div, resolve))
    if problems:
        raise RenderError("unresolved cross-references:\n  " + "\n  ".join(problems))
    return {**ast, "blocks": out_blocks}, numbering
