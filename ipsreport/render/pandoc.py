"""Run the bundled pandoc and build/walk its JSON AST."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from . import RenderError

READER = "markdown-implicit_figures"


def _bundled() -> Path | None:
    """The pandoc shipped inside pypandoc-binary, if that package is installed."""
    try:
        import pypandoc
    except ImportError:
        return None
    path = Path(pypandoc.__file__).resolve().parent / "files" / "pandoc"
    return path if path.is_file() and os.access(path, os.X_OK) else None


@lru_cache(maxsize=1)
def _choose() -> tuple[str, str]:
    """(path, where from). The bundled pandoc is preferred, because the engine's AST handling is tested with
    it; ``PYPANDOC_PANDOC`` overrides it; a ``pandoc`` on PATH is used only when nothing is bundled."""
    explicit = os.environ.get("PYPANDOC_PANDOC")
    if explicit:
        return explicit, "PYPANDOC_PANDOC"
    bundled = _bundled()
    if bundled is not None:
        return str(bundled), "bundled with pypandoc-binary"
    on_path = shutil.which("pandoc")
    if on_path:
        return on_path, "found on PATH (no bundled pandoc installed)"
    raise RenderError(
        "pandoc was not found: the built-in engine needs the pandoc bundled with the Python package "
        "pypandoc-binary (reinstall the project's environment, e.g. `make .venv/.installed`), or a pandoc on PATH, "
        "or PYPANDOC_PANDOC naming one. Nothing was rendered."
    )


def pandoc_path() -> str:
    return _choose()[0]


def describe() -> str:
    """Which pandoc runs, for the render summary."""
    path, origin = _choose()
    return f"{path} ({origin})"


def run(args: list[str], stdin: str | None = None, cwd: Path | None = None) -> str:
    exe = pandoc_path()
    try:
        proc = subprocess.run(
            [exe, *args], input=stdin, capture_output=True, text=True, encoding="utf-8", cwd=cwd
        )
    except OSError as e:
        raise RenderError(f"pandoc could not be started ({exe}: {e.strerror}); check that it is installed and "
                          "executable (see the render summary for which pandoc is used). Nothing was rendered.") \
            from None
    if proc.returncode != 0:
        raise RenderError(f"pandoc {' '.join(args[:4])} failed:\n  {proc.stderr.strip()}")
    return proc.stdout


def markdown_to_ast(markdown: str) -> dict[str, Any]:
    return json.loads(run(["-f", READER, "-t", "json"], markdown))


def ast_to(doc: dict[str, Any], to: str, extra: list[str] | None = None, cwd: Path | None = None) -> str:
    return run(["-f", "json", "-t", to, *(extra or [])], json.dumps(doc), cwd=cwd)


def document(blocks: list[Any], meta: dict[str, Any] | None = None, like: dict[str, Any] | None = None) -> dict:
    version = (like or {}).get("pandoc-api-version") or _api_version()
    return {"pandoc-api-version": version, "meta": meta or {}, "blocks": blocks}


@lru_cache(maxsize=1)
def _api_version() -> list[int]:
    return json.loads(run(["-f", "markdown", "-t", "json"], ""))["pandoc-api-version"]


# --- AST construction -------------------------------------------------------------------------------------


def attr(ident: str = "", classes: list[str] | None = None, kv: dict[str, str] | None = None) -> list:
    return [ident, classes or [], [[k, v] for k, v in (kv or {}).items()]]


def text_inlines(text: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, word in enumerate(text.split(" ")):
        if i:
            out.append({"t": "Space"})
        if word:
            out.append({"t": "Str", "c": word})
    return out


def meta_inlines(text: str) -> dict[str, Any]:
    return {"t": "MetaInlines", "c": text_inlines(text)}


def stringify(node: Any) -> str:
    if isinstance(node, list):
        return "".join(stringify(n) for n in node)
    if not isinstance(node, dict):
        return ""
    t = node.get("t")
    if t == "Str":
        return node["c"]
    if t in {"Space", "SoftBreak", "LineBreak"}:
        return " "
    if t in {"Code", "Math", "RawInline"}:
        return node["c"][-1]
    if t in {"Emph", "Strong", "Strikeout", "Superscript", "Subscript", "SmallCaps", "Underline"}:
        return stringify(node["c"])
    if t in {"Span", "Link", "Quoted", "Cite", "Image"}:
        return stringify(node["c"][1])
    if t in {"Para", "Plain"}:
        return stringify(node["c"])
    return ""


def walk(node: Any, fn: Callable[[dict[str, Any]], Any]) -> Any:
    """Bottom-up walk; ``fn`` may return a replacement node, a list of nodes (spliced) or None (keep)."""
    if isinstance(node, list):
        out = []
        for item in node:
            new = walk(item, fn)
            if isinstance(item, dict) and "t" in item and isinstance(new, list):
                out.extend(new)
            else:
                out.append(new)
        return out
    if isinstance(node, dict):
        if "c" in node:
            node = {**node, "c": walk(node["c"], fn)}
        elif "t" not in node:
            node = {k: walk(v, fn) for k, v in node.items()}
        if "t" in node:
            res = fn(node)
            return node if res is None else res
        return node
    return node


def has_class(node: dict[str, Any], cls: str) -> bool:
    return node.get("t") in {"Div", "Span", "Header", "CodeBlock"} and cls in _attr_of(node)[1]


def _attr_of(node: dict[str, Any]) -> list:
    return node["c"][1] if node["t"] == "Header" else node["c"][0]


def kv_of(node: dict[str, Any]) -> dict[str, str]:
    return dict(_attr_of(node)[2])
