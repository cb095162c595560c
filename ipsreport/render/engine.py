"""Entry point: render the book with Quarto when available, else with the built-in engine, atomically."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import RenderError
from . import cache as _cache
from . import execute as _execute
from .project import Book, read_book, read_notice
from .qmd import Document, read_qmd

__all__ = ["RenderSummary", "render_book", "print_summary", "FORMATS"]

FORMATS = ("html", "pdf", "docx")
_FORMAT_NAMES = {"html": "html", "pdf": "pdf", "typst": "pdf", "docx": "docx"}


@dataclass
class RenderSummary:
    """What a render did."""

    output_dir: Path
    files: list[tuple[str, int]] = field(default_factory=list)  # path relative to the project, size in bytes
    elapsed: float = 0.0
    executed: list[str] = field(default_factory=list)  # chapters run in a kernel
    cached: list[str] = field(default_factory=list)  # chapters taken from .ipsreport-cache
    static: list[str] = field(default_factory=list)  # chapters without code (no kernel needed)
    changed_results: list[tuple[str, Any, Any]] = field(default_factory=list)  # key, old, new printed forms
    change_report: Path | None = None  # the report listing every change (changes.md)
    first_results: bool = False  # no previous results.json to compare with
    engine: str = "builtin"
    kernels_started: int = 0


def _normalize_formats(formats: list[str]) -> list[str]:
    out = []
    for f in formats:
        name = _FORMAT_NAMES.get(str(f).lower())
        if name is None:
            raise RenderError(f"unknown output format {f!r} (choose from html, pdf, docx)")
        if name not in out:
            out.append(name)
    if not out:
        raise RenderError("no output format requested")
    return [f for f in FORMATS if f in out]


def _validation_hook():
    try:
        from ipsreport.data.validate import validate_project_data
    except ImportError:
        return None
    return validate_project_data


def _validate(project_dir: Path) -> None:
    """Run the project's data validation before any chapter; its exception (with ``.problems``) propagates
    unchanged so that the CLI can report the problems (exit code 2) — nothing has been written by then."""
    hook = _validation_hook()
    if hook is not None:
        hook(project_dir)


def _old_results(out_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((out_dir / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _results_hook():
    """The project's results step: merge the chapters' results, add provenance, build the change report
    (``prepare_report``, ``ResultsReport.mark``, ``write_report``, ``save_report``)."""
    from ipsreport import changes

    return changes


def _prepare_results(results: dict[str, dict[str, Any]], project_dir: Path, old: dict[str, Any], engine: str):
    try:
        return _results_hook().prepare_report(project_dir, results, old, engine)
    except ValueError as e:
        raise RenderError(f"results.json: {e}") from None


def _format_of(relative: Path) -> str | None:
    """Which format wrote a file of ``_book/``: html (pages, figures), pdf, docx; None for results.json."""
    if relative.suffix == ".pdf":
        return "pdf"
    if relative.suffix == ".docx":
        return "docx"
    if relative.name in ("results.json", "changes.md"):
        return None
    return "html"


def _keep_other_formats(final: Path, new: Path, formats: list[str]) -> None:
    """Like Quarto, a render of some formats leaves the other formats' outputs of the previous render alone:
    copy them into the new tree before the swap."""
    if not final.is_dir():
        return
    for path in final.rglob("*"):
        relative = path.relative_to(final)
        fmt = _format_of(relative)
        if path.is_file() and fmt is not None and fmt not in formats and not (new / relative).exists():
            (new / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, new / relative)


def swap_into_place(new: Path, final: Path) -> None:
    """Replace ``final`` by ``new`` with two renames; the old tree is deleted only after the swap."""
    old = None
    if final.exists():
        old = Path(tempfile.mkdtemp(prefix=f"{final.name}.old-", dir=final.parent))
        old.rmdir()
        final.rename(old)
    try:
        new.rename(final)
    except OSError:
        if old is not None:
            old.rename(final)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


class _Progress:
    """A rich progress display on a terminal; silent otherwise (CI logs get the summary only)."""

    def __init__(self, console):
        self.console = console
        self.progress = None
        if console is not None and console.is_terminal:
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(bar_width=20),
                                     TimeElapsedColumn(), console=console, transient=False)

    def __enter__(self):
        if self.progress:
            self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        if self.progress:
            self.progress.__exit__(*exc)

    def add(self, description: str) -> Any:
        return self.progress.add_task(description, total=1) if self.progress else None

    def done(self, task: Any, description: str | None = None) -> None:
        if self.progress and task is not None:
            self.progress.update(task, completed=1, **({"description": description} if description else {}))


def render_book(
    project_dir: Path,
    formats: list[str] = ["html", "pdf", "docx"],  # noqa: B006 (the agreed signature; never mutated)
    use_cache: bool = True,
    engine: str = "auto",
    console=None,
) -> RenderSummary:
    """Render the book in ``project_dir`` to ``_book/``; raise :class:`RenderError` with a user-ready message."""
    project_dir = Path(project_dir).resolve()
    fmts = _normalize_formats(formats)
    if engine not in {"auto", "quarto", "builtin"}:
        raise RenderError(f"unknown engine {engine!r} (choose auto, quarto or builtin)")
    if engine == "quarto" or (engine == "auto" and shutil.which("quarto")):
        from .quarto import render_with_quarto

        return render_with_quarto(project_dir, fmts, use_cache=use_cache, console=console)
    return _render_builtin(project_dir, fmts, use_cache, console)


def _render_builtin(project_dir: Path, fmts: list[str], use_cache: bool, console) -> RenderSummary:
    start = time.perf_counter()
    kernels_before = _execute.KERNEL_STARTS
    book = read_book(project_dir)
    docs: dict[str, Document] = {ch.slug: read_qmd(book.root, ch.path) for ch in book.chapters}
    _validate(project_dir)
    notice = read_notice(book.root)
    final = book.root / book.output_dir
    summary = RenderSummary(output_dir=final)
    work = Path(tempfile.mkdtemp(prefix="ipsreport-"))
    out: Path | None = None
    try:
        with _Progress(console) as progress:
            outputs = _chapters(book, docs, work, use_cache, summary, progress)
            from .assemble import assemble_book

            ast, numbering = assemble_book(book, outputs, work)
            report = _prepare_results({s: o.results for s, o in outputs.items()}, book.root, _old_results(final),
                                      "builtin")
            ast = report.mark(ast)
            out = Path(tempfile.mkdtemp(prefix=f"{final.name}.tmp-", dir=final.parent))
            out.chmod(0o755)  # mkdtemp makes it private; _book is meant to be shared/served
            figures = work / "figures"
            figures.mkdir(exist_ok=True)
            for o in outputs.values():
                for name, data in o.figures.items():
                    (figures / name).write_bytes(data)
            _write_formats(book, fmts, ast, numbering, notice, docs, work, out, progress)
            _results_hook().write_report(report, out, book.title)
        summary.first_results, summary.changed_results = report.first, report.changed
        _keep_other_formats(final, out, fmts)
        swap_into_place(out, final)
        out = None
        _results_hook().save_report(report)
        summary.change_report = final / "changes.md"
    finally:
        if out is not None:
            shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    summary.files = sorted(
        (p.relative_to(book.root).as_posix(), p.stat().st_size) for p in final.rglob("*") if p.is_file()
    )
    summary.kernels_started = _execute.KERNEL_STARTS - kernels_before
    summary.elapsed = time.perf_counter() - start
    return summary


def _chapters(book: Book, docs, work: Path, use_cache: bool, summary: RenderSummary, progress) -> dict:
    shared = _cache.shared_key(book)
    outputs: dict[str, _execute.ChapterOutput] = {}
    todo = []
    for ch in book.chapters:
        doc = docs[ch.slug]
        if not doc.needs_kernel:
            outputs[ch.slug] = _execute.static_chapter(book, ch, doc)
            summary.static.append(ch.path)
            continue
        key = _cache.chapter_key(shared, book, ch)
        hit = _cache.load(book.root, ch, key) if use_cache else None
        if hit is not None:
            outputs[ch.slug] = hit
            summary.cached.append(ch.path)
        else:
            todo.append((ch, doc, key))
    if not todo:
        return outputs
    tasks = {ch.slug: progress.add(f"execute {ch.path}") for ch, _, _ in todo}
    pool = ThreadPoolExecutor(max_workers=max(1, min(len(todo), os.cpu_count() or 1)))
    futures: dict[Future, Any] = {pool.submit(_execute.execute_chapter, book, ch, doc, work): (ch, key)
                                  for ch, doc, key in todo}
    errors: dict[int, BaseException] = {}
    order = {ch.slug: i for i, ch in enumerate(book.chapters)}
    try:
        for fut in as_completed(futures):
            ch, key = futures[fut]
            if fut.cancelled():
                continue
            if fut.exception() is not None:
                errors[order[ch.slug]] = fut.exception()
                for other in futures:
                    other.cancel()  # chapters not started yet; running kernels finish their chapter
                continue
            outputs[ch.slug] = fut.result()
            _cache.store(book.root, ch, key, outputs[ch.slug])
            progress.done(tasks[ch.slug])
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if errors:
        raise errors[min(errors)]  # the first failing chapter in book order
    summary.executed.extend(ch.path for ch in book.chapters if ch.slug in {c.slug for c, _, _ in todo})
    return outputs


def _write_formats(book, fmts, ast, numbering, notice, docs, work: Path, out: Path, progress) -> None:
    index_doc = docs[book.chapters[0].slug]
    abstract = book.abstract or index_doc.front_matter.get("abstract")
    jobs = {}
    if "html" in fmts:
        from .html import write_html

        shutil.copytree(work / "figures", out / "figures")

        jobs["html"] = lambda: write_html(book, ast, numbering, notice, out)
    if "pdf" in fmts:
        from .pdf import write_pdf

        jobs["pdf"] = lambda: write_pdf(book, ast, notice, abstract, work, out / "book.pdf")
    if "docx" in fmts:
        from .docx import write_docx

        jobs["docx"] = lambda: write_docx(book, ast, notice, abstract, work, out / "book.docx")
    tasks = {name: progress.add(f"write {name}") for name in jobs}
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
        for name, fut in futures.items():
            fut.result()
            progress.done(tasks[name])


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def print_summary(summary: RenderSummary, console=None, max_lines: int = 40) -> None:
    """Files and sizes, time, chapters executed/cached and changed results, in at most ~``max_lines`` lines."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    budget = max_lines
    files = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    files.add_column("file")
    files.add_column("size", justify="right")
    shown = [f for f in summary.files if "/" not in f[0].split("/", 1)[-1]] or summary.files  # skip figures/*
    for name, size in shown[: budget // 2]:
        files.add_row(name, _size(size))
    hidden = len(summary.files) - min(len(shown), budget // 2)
    console.print(files)
    budget -= min(len(shown), budget // 2) + 1
    if hidden:
        console.print(f"  … {hidden} more files")
        budget -= 1
    console.print(
        f"Rendered with the {summary.engine} engine in {summary.elapsed:.1f} s: "
        f"{len(summary.executed)} chapter(s) executed, {len(summary.cached)} from cache, {len(summary.static)} without code."
    )
    budget -= 1
    changed = summary.changed_results
    if not changed:
        console.print("No reported result changed.")
        return
    if summary.first_results:
        console.print(f"No previous results.json: {len(changed)} reported result(s) written.")
        return
    where = ""
    if summary.change_report is not None:
        try:
            where = f" (every change: {summary.change_report.relative_to(summary.output_dir.parent).as_posix()})"
        except ValueError:
            where = f" (every change: {summary.change_report})"
    console.print(f"{len(changed)} reported result(s) changed their printed value since the previous render{where}:",
                  markup=False)
    limit = max(budget - 2, 5)

    def show(value: Any) -> str:
        # Printed forms, cut short: a long data string must not flood (or slow down) the terminal.
        if value is None:
            return "(absent)"
        text = str(value)[:200]
        text = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
        return text if len(text) <= 60 else text[:59] + "…"

    for key, old, new in changed[:limit]:
        console.print(f"  {key}: {show(old)} → {show(new)}", markup=False, highlight=False)
    if len(changed) > limit:
        console.print(f"  … {len(changed) - limit} more{where}", markup=False)
