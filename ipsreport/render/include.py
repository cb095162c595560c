"""Quarto's ``{{< include file >}}`` shortcode: the file's text in place of the line, recursively.

As in Quarto, a path is relative to the file that contains the shortcode (or to the project when it starts
with ``/``); the shortcode must stand on its own line. An included file's YAML front matter is dropped. A cycle
or a missing file is an error naming the including file and line. Cells and inline code of an included file run
in the including document's kernel, as under Quarto.
"""

from __future__ import annotations

import re
from pathlib import Path

from . import RenderError

__all__ = ["INCLUDE", "expand_includes", "included_files", "include_target"]

INCLUDE = re.compile(r"^\s*\{\{<\s*include\s+(\S+?)\s*>\}\}\s*$")
_FRONT = re.compile(r"\A---\n.*?\n---\n", re.S)


def include_target(root: Path, including: str, target: str) -> str:
    """The included file's path relative to the project (posix)."""
    target = target.strip("\"'")
    if target.startswith("/"):
        return Path(target.lstrip("/")).as_posix()
    base = Path(including).parent
    parts: list[str] = []
    for part in (base / target).as_posix().split("/"):
        if part == "..":
            if not parts:
                raise RenderError(f"{including}: include {target} points outside the project")
            parts.pop()
        elif part not in {"", "."}:
            parts.append(part)
    return "/".join(parts)


def expand_includes(root: Path, rel: str, text: str | None = None, keep=None, _stack: tuple[str, ...] = ()) -> str:
    """``rel``'s text with every include shortcode replaced by the included file's text.

    ``keep(path)`` may return True for an included path that must stay as a shortcode (the manuscript keeps
    includes of book chapters, whose executed output it reuses)."""
    root = Path(root)
    if text is None:
        text = (root / rel).read_text(encoding="utf-8")
    out = []
    for n, line in enumerate(text.split("\n"), 1):
        m = INCLUDE.match(line)
        if not m:
            out.append(line)
            continue
        target = include_target(root, rel, m.group(1))
        if keep is not None and keep(target):
            out.append(line)
            continue
        if target in (rel, *_stack):
            raise RenderError(f"{rel}:{n}: include {target} includes itself")
        path = root / target
        if not path.is_file():
            raise RenderError(f"{rel}:{n}: included file {target} does not exist")
        body = _FRONT.sub("", path.read_text(encoding="utf-8"), count=1)
        out.append(expand_includes(root, target, body, keep, (*_stack, rel)).rstrip("\n"))
    return "\n".join(out)


def included_files(root: Path, rel: str) -> list[str]:
    """Every file ``rel`` includes, directly or not, in order of first inclusion."""
    seen: list[str] = []

    def visit(path: str) -> None:
        for line in (Path(root) / path).read_text(encoding="utf-8").split("\n"):
            m = INCLUDE.match(line)
            if m:
                target = include_target(root, path, m.group(1))
                if target not in seen and (Path(root) / target).is_file():
                    seen.append(target)
                    visit(target)

    visit(rel)
    return seen
