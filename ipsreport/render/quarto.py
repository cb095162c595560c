"""The Quarto backend of the render pipeline: ``quarto render`` writes the formats into the pipeline's temporary
output folder (``--output-dir``), and the chapters' registered values arrive in ``IPSREPORT_RESULTS_DIR``.

Quarto ≥ 1.9 is required (Typst books with ``citeproc``, ``book.output-file``). Quarto executes every chapter
once per output format (quarto-cli #5150); the summary says how many times. Quarto's own progress output is
passed through to the terminal. Whatever Quarto does, the previous output folder is replaced only after Quarto
succeeded and the post-render scripts found every chapter's results (see :mod:`.pipeline`).
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import RenderError
from .pipeline import RenderContext

__all__ = ["QuartoBackend", "QUARTO_FORMATS", "MIN_QUARTO", "quarto_version"]

QUARTO_FORMATS = {"html": "html", "pdf": "typst", "docx": "docx"}
MIN_QUARTO = (1, 9)
_CELL = re.compile(r"^\s*```+\s*\{python", re.MULTILINE)
_NAME = re.compile(r"[^A-Za-z0-9_.-]+")  # how the results registry names a document's results file


def _entries(value: Any) -> list[str]:
    """Chapter files of ``book.chapters``/``book.appendices`` (strings, or parts with their own chapters)."""
    out: list[str] = []
    for item in value or []:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            if isinstance(item.get("part"), str) and item["part"].endswith((".qmd", ".md")):
                out.append(item["part"])
            out += _entries(item.get("chapters"))
    return out


def quarto_version(quarto: str) -> tuple[int, ...]:
    try:
        proc = subprocess.run([quarto, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise RenderError(f"{quarto} --version could not be run ({e}); is it a working Quarto?") from None
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", proc.stdout)
    if proc.returncode != 0 or not m:
        raise RenderError(f"{quarto} --version did not print a version (exit {proc.returncode}); is it Quarto?")
    return tuple(int(g) for g in m.groups() if g is not None)


class QuartoBackend:
    name = "quarto"

    def chapters(self, root: Path, config: dict[str, Any]) -> tuple[str, list[tuple[str, bool]]]:
        project = config.get("project") or {}
        book = config.get("book") or {}
        paths = _entries(book.get("chapters")) + _entries(book.get("appendices"))
        if not paths:
            raise RenderError("_quarto.yml: book.chapters lists no chapter")
        chapters = []
        for path in paths:
            try:
                source = (root / path).read_text(encoding="utf-8")
            except OSError as e:
                raise RenderError(f"_quarto.yml: chapter {path}: {e.strerror}") from None
            chapters.append((path, bool(_CELL.search(source))))
        return str(project.get("output-dir") or "_book"), chapters

    def render(self, ctx: RenderContext) -> dict[str, Path | None]:
        quarto = shutil.which("quarto")
        if quarto is None:
            raise RenderError("engine 'quarto' requested but no quarto executable is on PATH")
        version = quarto_version(quarto)
        if version[:2] < MIN_QUARTO:
            raise RenderError(f"{quarto} is Quarto {'.'.join(map(str, version))}; the book needs Quarto "
                              f"{'.'.join(map(str, MIN_QUARTO))} or later (Typst citeproc, book.output-file). "
                              "Upgrade Quarto, or render with --engine builtin.")
        targets = [QUARTO_FORMATS[f] for f in ctx.formats]
        # Quarto resolves --output-dir against the project folder.
        cmd = [quarto, "render", "--to", ",".join(targets), "--output-dir", os.path.relpath(ctx.out, ctx.root)]
        env = {**os.environ, **ctx.env, "QUARTO_PYTHON": sys.executable, "IPSREPORT_RESULTS_DIR": str(ctx.results_dir)}
        env.pop("IPSREPORT_RESULTS_FILE", None)
        stream = ctx.console.file if ctx.console is not None else sys.stderr
        print(f"$ {' '.join(cmd)}", file=stream, flush=True)
        tail: collections.deque[str] = collections.deque(maxlen=15)
        try:
            proc = subprocess.Popen(cmd, cwd=ctx.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, errors="replace")
        except OSError as e:
            raise RenderError(f"{quarto} could not be started ({e.strerror})") from None
        assert proc.stdout is not None
        for line in proc.stdout:  # Quarto's progress, shown as it comes
            stream.write(line)
            stream.flush()
            tail.append(line.rstrip("\n"))
        code = proc.wait()
        kept = f"{ctx.target.name}/ was left as it was (Quarto wrote into a temporary folder, which was discarded)"
        if code != 0:
            last = "\n  ".join(tail) or "(no output)"
            raise RenderError(f"quarto render failed (exit {code}); {kept}. Its last lines:\n  {last}")
        missing = [f for f in ctx.formats if not _wrote(ctx.out, f)]
        if missing:
            raise RenderError(f"quarto render exited 0 but wrote no {', '.join(missing)} output; {kept}")
        runs = len(targets)
        ctx.summary.executed = [path for path, code in ctx.chapters if code]
        ctx.summary.static = [path for path, code in ctx.chapters if not code]
        ctx.summary.notes.append(
            f"Quarto {'.'.join(map(str, version))} executed every chapter with code once per format "
            f"({runs} format{'s' if runs > 1 else ''}: {runs} run{'s' if runs > 1 else ''} per chapter; "
            "quarto-cli #5150)")
        return _results_by_chapter(ctx)


def _wrote(out: Path, fmt: str) -> bool:
    suffix = {"html": ".html", "pdf": ".pdf", "docx": ".docx"}[fmt]
    return any(p.suffix == suffix for p in out.rglob("*") if p.is_file())


def _results_by_chapter(ctx: RenderContext) -> dict[str, Path | None]:
    """Match the registry's per-document files (named after the document's path) to the book's chapters."""
    files = sorted(ctx.results_dir.glob("*.json"))
    found: dict[str, Path | None] = {path: None for path, _ in ctx.chapters}
    for path in sorted(found, key=len, reverse=True):  # longest first: "a/index.qmd" before "index.qmd"
        name = _NAME.sub("_", path.strip("/"))
        for f in files:
            if f.stem == name or f.stem.endswith("_" + name):
                found[path] = f
                files.remove(f)
                break
    return found
