"""Entry point: render the book with Quarto or with the built-in engine, through the one render pipeline.

:func:`render_book` chooses the backend; :mod:`.pipeline` does what both share (output-folder checks, lock,
the project's pre-/post-render scripts, results, atomic swap). :class:`BuiltinBackend` executes the chapters in
Jupyter kernels (with a per-chapter cache) and writes HTML, PDF (Typst) and DOCX itself.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from . import RenderError
from . import cache as _cache
from . import execute as _execute
from .pipeline import RenderContext, _format_of, run_pipeline, write_chapter_results
from .project import Book, read_book, read_notice
from .qmd import Document, read_qmd
from .summary import RenderSummary, print_summary

__all__ = ["RenderSummary", "render_book", "print_summary", "FORMATS", "BuiltinBackend"]

FORMATS = ("html", "pdf", "docx")
_FORMAT_NAMES = {"html": "html", "pdf": "pdf", "typst": "pdf", "docx": "docx"}


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
    force: bool = False,
) -> RenderSummary:
    """Render the book in ``project_dir`` to its output folder; raise :class:`RenderError` with a user-ready
    message (the previous output is then untouched)."""
    fmts = _normalize_formats(formats)
    if engine not in {"auto", "quarto", "builtin"}:
        raise RenderError(f"unknown engine {engine!r} (choose auto, quarto or builtin)")
    if engine == "quarto" or (engine == "auto" and shutil.which("quarto")):
        from .quarto import QuartoBackend

        backend: Any = QuartoBackend()
    else:
        backend = BuiltinBackend()
    return run_pipeline(Path(project_dir), backend, fmts, use_cache=use_cache, force=force, console=console)


class BuiltinBackend:
    """Chapters run in Jupyter kernels (cached per chapter); pandoc and Typst write the formats."""

    name = "builtin"

    def __init__(self) -> None:
        self.book: Book | None = None
        self.docs: dict[str, Document] = {}
        self._kernels: _execute.KernelPool | None = None  # started in prepare(), while the pre-render scripts run

    def prepare(self, ctx: RenderContext) -> None:
        """Start the kernel pool now when a chapter will run: importing the preloaded modules then overlaps the
        pre-render scripts (data validation) instead of following them."""
        book = self.book
        if book is None or _execute.SHARED_POOL is not None:
            return
        code = [ch for ch in book.chapters if self.docs[ch.slug].needs_kernel]
        if not code:
            return
        if ctx.use_cache:
            shared = _cache.shared_key(book)
            if all(_cache.load(book.root, ch, _cache.chapter_key(shared, book, ch))[0] is not None for ch in code):
                return  # (a pre-render script may still change what a chapter reads: the pool then starts later)
        self._kernels = _execute.kernel_pool(book.root, ctx.work, ctx.config)

    def finish(self) -> None:
        if self._kernels is not None:
            self._kernels.close()
            self._kernels = None

    def chapters(self, root: Path, config: dict[str, Any]) -> tuple[str, list[tuple[str, bool]]]:
        self.book = read_book(root)
        self.docs = {ch.slug: read_qmd(self.book.root, ch.path) for ch in self.book.chapters}
        return self.book.output_dir, [(ch.path, self.docs[ch.slug].needs_kernel) for ch in self.book.chapters]

    def render(self, ctx: RenderContext) -> dict[str, Path | None]:
        book, docs, work, out, summary = self.book, self.docs, ctx.work, ctx.out, ctx.summary
        assert book is not None
        kernels_before = _execute.KERNEL_STARTS
        notice = read_notice(book.root)
        summary.notes.append(_tools_note())
        with _Progress(ctx.console) as progress:
            outputs = _chapters(book, docs, work, ctx.use_cache, summary, progress, ctx.config, self._kernels)
            todo = _reuse_formats(ctx, book, outputs, notice)
            if todo:
                from .assemble import assemble_book

                ast, numbering = assemble_book(book, outputs, work)
                figures = work / "figures"
                figures.mkdir(exist_ok=True)
                for o in outputs.values():
                    for name, data in o.figures.items():
                        (figures / name).write_bytes(data)
                _write_formats(book, list(todo), ast, numbering, notice, docs, work, out, progress)
                written = [p.relative_to(out).as_posix() for p in sorted(out.rglob("*")) if p.is_file()]
                for fmt, key in todo.items():
                    _cache.record_format(book.root, fmt, key, out,
                                         [n for n in written if _format_of(Path(n)) == fmt])
        summary.kernels_started = _execute.KERNEL_STARTS - kernels_before
        return write_chapter_results(ctx.results_dir,
                                     [(ch.path, ch.slug, outputs[ch.slug].results) for ch in book.chapters])


def _reuse_formats(ctx: RenderContext, book: Book, outputs: dict, notice: str | None) -> dict[str, str]:
    """Copy the previous render's files of every format whose inputs did not change (no pandoc, no Typst);
    return the formats still to write, with their output keys."""
    shared = _cache.shared_key(book)
    keys = {fmt: _cache.output_key(book, shared, outputs, notice, fmt) for fmt in ctx.formats}
    reused = []
    for fmt, key in keys.items():
        files = _cache.reusable_format(book.root, fmt, key, ctx.target) if ctx.use_cache else None
        if files is None:
            continue
        for name in files:
            (ctx.out / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ctx.target / name, ctx.out / name)
        reused.append(fmt)
    if reused:
        ctx.summary.notes.append(f"{', '.join(reused)}: nothing it is made from changed; the previous files were kept")
    return {fmt: key for fmt, key in keys.items() if fmt not in reused}


def _tools_note() -> str:
    from . import pandoc

    return f"pandoc: {pandoc.describe()}"


def _chapters(book: Book, docs, work: Path, use_cache: bool, summary: RenderSummary, progress,
              config: dict[str, Any] | None = None, started: _execute.KernelPool | None = None) -> dict:
    """Every chapter's output: from the cache, or executed (chapters in parallel, the longest first). A pool
    given as ``started`` is used and left open (its owner closes it)."""
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
        hit, problem = _cache.load(book.root, ch, key) if use_cache else (None, None)
        if problem:
            summary.notes.append(f"cache entry of {ch.path} {problem}; the chapter was executed again")
        if hit is not None:
            outputs[ch.slug] = hit
            summary.cached.append(ch.path)
        else:
            todo.append((ch, doc, key))
    if not todo:
        return outputs
    tasks = {ch.slug: progress.add(f"execute {ch.path}") for ch, _, _ in todo}
    # One helper process imports the heavy modules once; every chapter's kernel is forked from it.
    shared_pool = _execute.SHARED_POOL or started
    kernels = shared_pool or _execute.kernel_pool(book.root, work, config or {})
    pool = ThreadPoolExecutor(max_workers=max(1, min(len(todo), os.cpu_count() or 1)))
    # Longest first (by the last run's times): the book ends sooner when its slowest chapter does not start last.
    took = _cache.chapter_times(book.root)
    todo.sort(key=lambda item: -took.get(item[0].path, math.inf))
    started_at = {}

    def run(ch, doc):
        started_at[ch.slug] = time.perf_counter()
        return _execute.execute_chapter(book, ch, doc, work, kernels)

    futures: dict[Future, Any] = {pool.submit(run, ch, doc): (ch, key) for ch, doc, key in todo}
    durations: dict[str, float] = {}
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
            durations[ch.path] = time.perf_counter() - started_at[ch.slug]
            _cache.store(book.root, ch, key, outputs[ch.slug])
            progress.done(tasks[ch.slug])
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if kernels is not None and kernels is not shared_pool:
            kernels.close()
    _cache.record_chapter_times(book.root, durations)
    if errors:
        raise errors[min(errors)]  # the first failing chapter in book order
    summary.executed.extend(ch.path for ch in book.chapters if ch.slug in {c.slug for c, _, _ in todo})
    return outputs


def _write_formats(book, fmts, ast, numbering, notice, docs, work: Path, out: Path, progress) -> None:
    index_doc = docs[book.chapters[0].slug]
    abstract = book.abstract or index_doc.front_matter.get("abstract")
    from .assemble import use_figure_format

    tasks = {name: progress.add(f"write {name}") for name in fmts}
    with ThreadPoolExecutor(max_workers=len(fmts) + 1) as pool:
        tables: Future | None = None
        if "pdf" in fmts or "docx" in fmts:
            # The HTML tables of the cells as native tables, converted once for both the PDF and the DOCX (their
            # writers then find nothing left to convert), while the HTML is written.
            from .tables import native_tables

            tables = pool.submit(native_tables, ast)

        def ast_for(fmt: str) -> dict:
            source = tables.result() if tables is not None and fmt in {"typst", "docx"} else ast
            return use_figure_format(source, book.figure_format(fmt)[0])

        jobs = {}
        if "html" in fmts:
            from .html import write_html

            wanted = ".svg" if book.figure_format("html")[0] == "svg" else ".png"
            shutil.copytree(work / "figures", out / "figures",
                            ignore=lambda _d, names: [n for n in names if not n.endswith(wanted)])
            jobs["html"] = lambda: write_html(book, ast_for("html"), numbering, notice, out)
        if "pdf" in fmts:
            from .pdf import write_pdf

            jobs["pdf"] = lambda: write_pdf(book, ast_for("typst"), notice, abstract, work,
                                            out / f"{book.output_file}.pdf")
        if "docx" in fmts:
            from .docx import write_docx

            jobs["docx"] = lambda: write_docx(book, ast_for("docx"), notice, abstract, work,
                                              out / f"{book.output_file}.docx")
        futures = {name: pool.submit(job) for name, job in jobs.items()}
        for name, fut in futures.items():
            fut.result()
            progress.done(tasks[name])
