"""Live preview of a book's HTML (``ipsreport preview``), as ``quarto preview`` offers for Quarto books.

Serves the output folder on the loopback interface, watches the project (sources, ``_quarto.yml``, data, the
project's package) and re-renders HTML only:

- an edit of the prose of chapters (their cells and inline expressions unchanged) is shown without running any
  code: the chapter's previous cell outputs and inline values are put around the new prose
  (:func:`ipsreport.render.execute.respliced`), then the book is assembled and its pages written again;
- any other change goes through the render pipeline (``render_book``, HTML only): the cache runs again exactly
  the chapters whose code, data or engine changed, in kernels forked from one process that keeps the heavy
  modules imported for the whole session.

Between edits every chapter with code has a *warm kernel* waiting (:meth:`KernelPool.prestart
<ipsreport.render.execute.KernelPool.prestart>`): forked, started, the engine's setup run and the modules of the
chapter's last run imported, but none of its code run. A code edit runs the chapter in it, so the chapter starts
from a clean namespace without paying for the kernel's start or its imports; the run's results file is set by the
run itself. Each warm kernel serves one run; a new one is prepared after every render, in the background. Any
change other than a ``.qmd`` source (the project's code, data, ``_quarto.yml``) ends the waiting kernels first,
since they imported the old code; a change of ``_quarto.yml`` also restarts the process they are forked from
(its list of preloaded modules may have changed).

Pages are served with a small script that asks ``/__preview__/state`` every 300 ms and reloads the page when a
render finished. A render that fails leaves the last good pages in place; the error is printed in the terminal
and shown at the top of every served page (as text) until a render succeeds.
"""

from __future__ import annotations

import html
import http.server
import ipaddress
import json
import os
import shutil
import signal
import tempfile
import threading
import time
import webbrowser
from pathlib import Path
from typing import Any

from . import RenderError
from . import cache as _cache
from . import execute as _execute

__all__ = ["serve_preview", "PreviewState", "is_loopback"]

STATE_PATH = "/__preview__/state"
_IGNORED_DIRS = {".git", ".venv", "__pycache__", ".ipsreport-cache", ".pytest_cache", ".ipynb_checkpoints", "node_modules"}

_RELOAD_SCRIPT = """<script>
(function () {
  var seen = %d;
  function poll() {
    fetch("%s", {cache: "no-store"}).then(function (r) { return r.json(); }).then(function (s) {
      if (s.version !== seen) { window.location.reload(); } else { setTimeout(poll, 300); }
    }).catch(function () { setTimeout(poll, 1000); });
  }
  setTimeout(poll, 300);
})();
</script>"""

_ERROR_BANNER = (
    '<div id="ipsreport-preview-error" role="alert" style="position:sticky;top:0;z-index:1000;background:#fff0f0;'
    'border-bottom:3px solid #b00020;color:#3a0008;padding:0.8em 1.2em;font-family:sans-serif">'
    "<strong>The last change did not render; this is the last good page.</strong>"
    '<pre style="white-space:pre-wrap;margin:0.5em 0 0">%s</pre></div>'
)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class PreviewState:
    """What the served pages show: a version that changes after every render, and the last render's error."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.version = 0
        self.error: str | None = None

    def finished(self, error: str | None) -> None:
        with self._lock:
            self.version += 1
            self.error = error

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"version": self.version, "error": self.error}


def _decorate(page: bytes, state: dict[str, Any]) -> bytes:
    text = page.decode("utf-8", errors="replace")
    script = _RELOAD_SCRIPT % (state["version"], STATE_PATH)
    text = text.replace("</body>", script + "</body>", 1) if "</body>" in text else text + script
    if state["error"]:
        banner = _ERROR_BANNER % html.escape(state["error"])
        if "<body" in text:
            start = text.index(">", text.index("<body")) + 1
            text = text[:start] + banner + text[start:]
        else:
            text = banner + text
    return text.encode("utf-8")


def _handler(folder: Path, state: PreviewState) -> type[http.server.SimpleHTTPRequestHandler]:
    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
            pass

        def end_headers(self) -> None:
            self.send_header("Cache-Control", "no-store")
            super().end_headers()

        def do_GET(self) -> None:  # noqa: N802 (the base class's name)
            path = self.path.split("?", 1)[0].split("#", 1)[0]
            if path == STATE_PATH:
                return self._send(json.dumps(state.snapshot()).encode(), "application/json")
            local = Path(self.translate_path(path))
            if local.is_dir():
                local = local / "index.html"
            if local.suffix == ".html" and local.is_file():
                try:
                    page = local.read_bytes()
                except OSError:
                    return self.send_error(404)
                return self._send(_decorate(page, state.snapshot()), "text/html; charset=utf-8")
            if local.suffix == ".html" and state.snapshot()["error"]:
                page = b"<!DOCTYPE html><html><head><title>Render failed</title></head><body></body></html>"
                return self._send(_decorate(page, state.snapshot()), "text/html; charset=utf-8")
            return super().do_GET()

        def _send(self, body: bytes, kind: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


class _Renderer:
    """Re-renders the HTML of the book for a set of changed files; remembers each chapter's last output."""

    def __init__(self, root: Path, console: Any) -> None:
        self.root = root
        self.console = console
        self.scratch = Path(tempfile.mkdtemp(prefix="ipsreport-preview-"))
        self.pool: _execute.KernelPool | None = None
        self.outputs: dict[str, _execute.ChapterOutput] = {}
        self.output_dir: Path | None = None
        self._warmer: _Warmer | None = None

    def close(self) -> None:
        if self._warmer is not None:
            self._warmer.stop(wait=30)
        if self.pool is not None:
            self.pool.close()
        _execute.SHARED_POOL = None
        shutil.rmtree(self.scratch, ignore_errors=True)

    def _forget_kernels(self, changed: set[Path]) -> None:
        """Warm kernels imported the project's code as it was: any change but a ``.qmd`` source ends them."""
        if self.pool is None or all(p.suffix == ".qmd" for p in changed):
            return
        if self._warmer is not None:
            self._warmer.stop()
            self._warmer = None
        if any(p.name == "_quarto.yml" for p in changed):
            self.pool.close()
            self.pool = _execute.SHARED_POOL = None
        else:
            self.pool.discard_spares()

    def _warm(self, first: list[str]) -> None:
        """Prepare a warm kernel for every chapter with code, those just executed first (in the background)."""
        from .project import read_book
        from .qmd import read_qmd

        if self.pool is None:
            return
        book = read_book(self.root)
        chapters = [ch for ch in book.chapters if read_qmd(book.root, ch.path).needs_kernel]
        chapters.sort(key=lambda ch: ch.path not in first)
        if self._warmer is None or self._warmer.pool is not self.pool:
            if self._warmer is not None:
                self._warmer.stop()
            self._warmer = _Warmer(self.pool, lambda n: self._say(f"warm kernels ready for {n} chapters", "dim"))
        self._warmer.want(book, chapters)

    def _say(self, message: str, style: str = "") -> None:
        if self.console is not None:
            self.console.print(f"[{style}]{message}[/]" if style else message, highlight=False)

    def full(self) -> None:
        """The render pipeline, HTML only (the cache decides which chapters run)."""
        from .engine import render_book
        from .pipeline import read_config
        from .project import read_book
        from .qmd import read_qmd

        if self.pool is None:
            self.pool = _execute.kernel_pool(self.root, self.scratch, read_config(self.root))
            _execute.SHARED_POOL = self.pool
        warm_before = _execute.WARM_KERNELS
        if self._warmer is not None:
            self._warmer.pause()
        try:
            summary = render_book(self.root, formats=["html"], engine="builtin")
        finally:
            if self._warmer is not None:
                self._warmer.resume()
        warm = _execute.WARM_KERNELS - warm_before
        self.output_dir = summary.output_dir
        book = read_book(self.root)
        shared = _cache.shared_key(book)
        self.outputs = {}
        for ch in book.chapters:
            doc = read_qmd(book.root, ch.path)
            if not doc.needs_kernel:
                self.outputs[ch.slug] = _execute.static_chapter(book, ch, doc)
                continue
            hit, _ = _cache.load(self.root, ch, _cache.chapter_key(shared, book, ch))
            if hit is not None:
                self.outputs[ch.slug] = hit
        ran = ", ".join(summary.executed) or "none"
        in_warm = f"; {warm} of them in a warm kernel" if warm else ""
        self._warm(summary.executed)  # first, so that any "ready" message after the next line is about these
        self._say(f"rendered in {summary.elapsed:.1f} s (chapters executed: {ran}{in_warm})", "green")

    def prose_only(self, changed: set[Path]) -> bool:
        """Show an edit of chapters' prose without running code; False when that is not possible."""
        from .assemble import assemble_book
        from .html import write_html
        from .project import read_book, read_notice
        from .qmd import read_qmd

        if self.output_dir is None or not (self.output_dir / "index.html").exists():
            return False
        book = read_book(self.root)
        by_path = {(self.root / ch.path).resolve(): ch for ch in book.chapters}
        if not changed or not all(p.resolve() in by_path for p in changed):
            return False
        start = time.perf_counter()
        outputs = dict(self.outputs)
        for path in changed:
            ch = by_path[path.resolve()]
            doc = read_qmd(book.root, ch.path)
            if not doc.needs_kernel:
                outputs[ch.slug] = _execute.static_chapter(book, ch, doc)
                continue
            previous = self.outputs.get(ch.slug)
            new = _execute.respliced(book, ch, doc, previous) if previous is not None else None
            if new is None:
                return False
            outputs[ch.slug] = new
        if set(outputs) != {ch.slug for ch in book.chapters}:
            return False
        work = Path(tempfile.mkdtemp(dir=self.scratch))
        try:
            ast, numbering = assemble_book(book, outputs, work)
            pages = work / "pages"
            pages.mkdir()
            written = write_html(book, ast, numbering, read_notice(book.root), pages)
            for page in written:
                target = self.output_dir / page.relative_to(pages)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(page, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        self.outputs = outputs
        names = ", ".join(sorted(by_path[p.resolve()].path for p in changed))
        self._say(f"prose of {names} shown in {time.perf_counter() - start:.2f} s (no code ran)", "green")
        return True

    def update(self, changed: set[Path]) -> None:
        if self._warmer is not None:
            self._warmer.pause()  # the edit being shown comes first
        try:
            if not self.prose_only(changed):
                self._forget_kernels(changed)
                self.full()
        finally:
            if self._warmer is not None:
                self._warmer.resume()


class _Warmer:
    """A background thread that keeps one warm kernel per chapter ready in ``pool``; paused while an edit is being
    shown and for a moment after it (the edit being shown needs the processor more than the next edit's kernel
    does; an author often saves again soon)."""

    QUIET = 1.0  # seconds after an edit was shown before the next kernel is warmed

    def __init__(self, pool: _execute.KernelPool, ready: Any = None) -> None:
        self.pool = pool
        self._ready = ready  # called with the number of chapters once every wanted kernel is warm
        self._cond = threading.Condition()
        self._queue: list[tuple[Any, Any]] = []
        self._wanted: list[str] = []
        self._round = 0  # raised by every want(): only the round that finishes says so
        self._paused = 0  # pause() calls not yet resumed
        self._quiet_until = time.monotonic() + self.QUIET  # the first render was just shown, too
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="preview-warm-kernels", daemon=True)
        self._thread.start()

    def want(self, book: Any, chapters: list[Any]) -> None:
        with self._cond:
            self._queue = [(book, ch) for ch in chapters]
            self._wanted = [ch.slug for ch in chapters]
            self._round += 1
            self._cond.notify_all()

    def pause(self) -> None:
        with self._cond:
            self._paused += 1

    def resume(self) -> None:
        with self._cond:
            self._paused = max(0, self._paused - 1)
            self._quiet_until = time.monotonic() + self.QUIET
            self._cond.notify_all()

    def stop(self, wait: float = 0.0) -> None:
        """Stop after the kernel being warmed (which the pool then discards, or its owner closes it); wait for
        that at most ``wait`` seconds."""
        with self._cond:
            self._stopped = True
            self._queue = []
            self._cond.notify_all()
        if wait:
            self._thread.join(timeout=wait)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (self._paused or not self._queue
                                             or time.monotonic() < self._quiet_until):
                    wait = self._quiet_until - time.monotonic()
                    self._cond.wait(timeout=wait if wait > 0 and not self._paused and self._queue else None)
                if self._stopped:
                    return
                book, chapter = self._queue.pop(0)
                this_round = self._round
            if not self.pool.has_spare(chapter.slug):
                try:
                    self.pool.prestart(book, chapter)
                except Exception:  # noqa: BLE001 (a kernel not warmed is forked when its chapter runs)
                    pass
            with self._cond:
                done = not self._queue and this_round == self._round and not self._stopped
                wanted = list(self._wanted)
            if done and self._ready is not None:
                self._ready(sum(self.pool.has_spare(slug) for slug in wanted))


def _watch_filter(root: Path):
    def keep(change: Any, path: str) -> bool:
        parts = Path(path).relative_to(root).parts if path.startswith(str(root)) else Path(path).parts
        if not parts or any(p in _IGNORED_DIRS for p in parts):
            return False
        first = parts[0]
        if first.startswith(("_book", ".")) or first.endswith((".tmp", ".lock")):
            return False
        return not parts[-1].startswith((".", "#")) and not parts[-1].endswith(("~", ".swp", ".pyc"))

    return keep


def serve_preview(root: Path, port: int = 4848, host: str = "127.0.0.1", open_browser: bool = True,
                  console: Any = None, stop: threading.Event | None = None) -> None:
    """Render the book's HTML, serve it on ``host:port`` and re-render on every change until interrupted."""
    import watchfiles

    root = Path(root).resolve()
    state = PreviewState()
    renderer = _Renderer(root, console)

    def report(error: str | None) -> None:
        state.finished(error)
        if error and console is not None:
            console.print("[bold red]Render failed; the last good pages stay.[/]")
            console.print(error, highlight=False, markup=False, soft_wrap=True)

    def attempt(action) -> None:
        try:
            action()
        except RenderError as e:
            report(str(e))
        else:
            report(None)

    attempt(renderer.full)
    folder = renderer.output_dir or root / "_book"
    folder.mkdir(parents=True, exist_ok=True)
    server = http.server.ThreadingHTTPServer((host, port), _handler(folder, state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="preview-server", daemon=True)
    thread.start()
    url = f"http://{host if ':' not in host else f'[{host}]'}:{server.server_address[1]}/"
    if console is not None:
        console.print(f"Preview at [bold]{url}[/] (Ctrl+C to stop); watching {root}", highlight=False)
    if open_browser:
        webbrowser.open(url)
    stop = stop or threading.Event()
    previous = signal.getsignal(signal.SIGTERM) if threading.current_thread() is threading.main_thread() else None
    if previous is not None:
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        for changes in watchfiles.watch(root, watch_filter=_watch_filter(root), debounce=400, step=30,
                                        stop_event=stop, raise_interrupt=False):
            changed = {Path(p) for _, p in changes}
            if console is not None:
                names = ", ".join(sorted(Path(p).relative_to(root).as_posix() for p in changed))
                console.print(f"changed: {names}", highlight=False, markup=False)
            attempt(lambda: renderer.update(changed))
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        server.shutdown()
        server.server_close()
        renderer.close()
