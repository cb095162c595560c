"""Execute one chapter in its own Jupyter kernel and turn its outputs into pandoc markdown.

The result is the chapter's *intermediate markdown*: prose with inline values filled in, cell outputs as markdown
(raw HTML for tables, image links for figures) and floats wrapped in ``.ipsr-float`` divs that the cross-reference
step numbers later (numbers depend on the book's chapter order, so they are not baked in here and the markdown
can be cached per chapter).
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import struct
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from . import RenderError
from .inline import quarto_inline_markdown
from .project import Book, Chapter
from .qmd import Cell, Document, InlineExpr, Markdown
from .safety import check_computed_markup

__all__ = ["ChapterOutput", "execute_chapter", "static_chapter", "KERNEL_STARTS", "WARM_KERNELS",
           "kernel_figure_formats", "figure_variant",
           "KernelPool", "kernel_pool"]

INLINE_MIME = "text/x-ipsreport-inline"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

# Every kernel start is counted so that tests (and the summary) can prove a cached render starts none.
KERNEL_STARTS = 0
# Of those, the kernels that were started ahead of their run (KernelPool.prestart): the preview's warm kernels.
WARM_KERNELS = 0
_lock = threading.Lock()


@dataclass
class ChapterOutput:
    """What a chapter produced: its intermediate markdown, figure files and registered results."""

    markdown: str
    figures: dict[str, bytes] = field(default_factory=dict)  # file name under figures/ -> PNG or SVG bytes
    results: dict[str, Any] = field(default_factory=dict)
    # Files under data/ the chapter's kernel opened (relative to data/); the cache re-runs the chapter only
    # when one of these changes. None means unknown: any data change re-runs it.
    data_reads: list[str] | None = field(default_factory=list)
    # The markdown each cell and inline expression produced, in document order, with what produced it
    # (:func:`code_identity`); lets a prose-only edit be shown without running the chapter (:func:`respliced`).
    code_pieces: list[tuple[str, str]] | None = None


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def _fence(content: str, char: str = "`") -> str:
    longest = max((len(m) for m in re.findall(re.escape(char) + "+", content)), default=0)
    return char * max(3, longest + 1)


def _code_block(content: str, classes: str) -> str:
    f = _fence(content)
    return f"{f} {{{classes}}}\n{content.rstrip(chr(10))}\n{f}\n"


def _raw_html(content: str) -> str:
    f = _fence(content)
    return f"{f}{{=html}}\n{content.strip()}\n{f}\n"


def _png_size(data: bytes) -> tuple[int, int]:
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return 0, 0
    return struct.unpack(">II", data[16:24])


def _svg_size_in(data: bytes) -> tuple[float, float]:
    """Width and height in inches of a matplotlib SVG (``width="432pt"``); (0, 0) if they cannot be read."""
    head = data[:2000].decode("utf-8", "replace")
    w, h = re.search(r'<svg[^>]*\swidth="([\d.]+)pt"', head), re.search(r'<svg[^>]*\sheight="([\d.]+)pt"', head)
    return (float(w.group(1)) / 72, float(h.group(1)) / 72) if w and h else (0.0, 0.0)


def kernel_figure_formats(book: Book) -> tuple[list[str], int]:
    """The figure formats the kernel produces and the PNG resolution, for every output format of the book at once.

    Quarto executes a chapter once per output format with that format's ``fig-format``/``fig-dpi``; the built-in
    engine executes it once, so it asks matplotlib for each format any output needs (SVG and/or PNG, the PNG at
    the highest dpi any output asks for, doubled for ``retina``) and each writer picks its own
    (:func:`figure_variant`)."""
    formats: list[str] = []
    dpi = 0
    for fmt in book.formats or {"html": {}}:
        kind, fmt_dpi = book.figure_format(fmt)
        if kind == "svg":
            formats.append("svg")
        else:
            formats.append("png")
            dpi = max(dpi, fmt_dpi * (2 if kind == "retina" else 1))
    return sorted(set(formats)), dpi or book.fig_dpi


def figure_variant(target: str, kind: str) -> str:
    """The file a writer whose figure format is ``kind`` uses for the figure ``target`` (``figures/x.png``)."""
    return target[: -len(".png")] + ".svg" if kind == "svg" and target.endswith(".png") else target


def _options(book: Book, doc: Document, cell: Cell) -> dict[str, Any]:
    chapter_execute = doc.front_matter.get("execute") or {}
    return {**book.execute, **chapter_execute, **cell.options}


def _reads_file(work: Path, chapter: Chapter) -> Path:
    return work / "reads" / f"{chapter.slug}.json"


def _audit_code(book: Book) -> str:
    """Record every file under data/ the chapter opens (Python's audit hooks see each open() call)."""
    # Reads are recorded under the path the project names (data/...), not the resolved one: a data folder that
    # is a symlink to elsewhere must still be seen (the cache fingerprints the files through the same names).
    root = os.path.abspath(book.root / "data") + "/"
    # The hook is installed once per process (a warm kernel ran this code before its chapter did, see
    # KernelPool.prestart); it records into a set kept on ``sys`` so that reads made by the modules the warm-up
    # imported count as the chapter's reads, as they would in a fresh kernel.
    return (
        "import os as _ipsr_os, sys as _ipsr_sys\n"
        f"_ipsr_data_root = {root!r}\n"
        "if not hasattr(_ipsr_sys, '_ipsr_reads'):\n"
        "    _ipsr_sys._ipsr_reads = set()\n"
        "    def _ipsr_audit(event, args, _reads=_ipsr_sys._ipsr_reads, _root=_ipsr_data_root, _os=_ipsr_os):\n"
        "        if event == 'open' and args and isinstance(args[0], (str, bytes, _os.PathLike)):\n"
        "            try:\n"
        "                path = _os.path.abspath(_os.fsdecode(args[0]))\n"
        "            except Exception:\n"
        "                return\n"
        "            if path.startswith(_root):\n"
        "                _reads.add(path[len(_root):])\n"
        "    _ipsr_sys.addaudithook(_ipsr_audit)\n"
        "_ipsr_reads = _ipsr_sys._ipsr_reads\n"
    )


def _teardown_code(path: Path) -> str:
    # Besides the data reads: the modules the chapter ended with, in import order (a warm kernel for its next
    # run imports them ahead; see KernelPool.prestart).
    return (
        "import json as _ipsr_json\n"
        f"with open({str(path)!r}, 'w', encoding='utf-8') as _ipsr_f:\n"
        "    _ipsr_json.dump(sorted(_ipsr_reads), _ipsr_f)\n"
        f"with open({str(_modules_file(path))!r}, 'w', encoding='utf-8') as _ipsr_f:\n"
        "    _ipsr_json.dump(list(_ipsr_sys.modules), _ipsr_f)\n"
    )


def _modules_file(reads_file: Path) -> Path:
    return reads_file.with_name(reads_file.stem + ".modules.json")


def _setup_code(book: Book, env: dict[str, str] | None = None) -> str:
    formats, dpi = kernel_figure_formats(book)
    # The run's environment (e.g. the results file) is set here, not only when the process starts: a warm kernel
    # was started before the run it serves existed.
    environment = f"_ipsr_os.environ.update({dict(env)!r})\n" if env else ""
    return _audit_code(book) + environment + (
        # As Quarto does (resources/jupyter/lang/python/setup.py): activate the inline backend first, so Figure
        # objects display even when built without pyplot; then the document-level figure size, dpi and formats
        # (the backend would otherwise reset the dpi). Cells cannot change them, under Quarto either.
        "get_ipython().run_line_magic('matplotlib', 'inline')\n"
        "import matplotlib as _ipsr_mpl\n"
        "from matplotlib_inline.backend_inline import set_matplotlib_formats as _ipsr_formats\n"
        f"_ipsr_mpl.rcParams.update({{'figure.dpi': {dpi}, 'savefig.dpi': 'figure',"
        f" 'figure.figsize': ({book.fig_width}, {book.fig_height}), 'svg.fonttype': 'path'}})\n"
        f"_ipsr_formats(*{formats!r})\n"
        # Inline values as Quarto evaluates them: a Jupyter user expression, formatted by IPython into a MIME
        # bundle (see ipsreport/render/inline.py for how the bundle becomes markdown).
        "def _ipsr_inline(expr):\n"
        "    import json\n"
        "    from IPython.display import display\n"
        "    result = get_ipython().user_expressions({'0': expr})['0']\n"
        "    if result.get('status') != 'ok':\n"
        "        raise type(str(result.get('ename') or 'Error'), (Exception,), {})(result.get('evalue', ''))\n"
        f"    display({{{INLINE_MIME!r}: json.dumps(result['data'])}}, raw=True)\n"
    )


def _kernel_spec(work: Path, slug: str, env: dict[str, str]) -> Path:
    """A private kernelspec pointing at this interpreter, so no global 'python3' kernelspec is needed."""
    kdir = work / "kernels" / slug
    kdir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"ipsreport {slug}",
        "language": "python",
        "env": env,
    }
    (kdir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return kdir.parent


def _build_notebook(book: Book, doc: Document, reads_file: Path,
                    env: dict[str, str] | None = None) -> tuple[nbformat.NotebookNode, list[dict[str, Any]]]:
    """One notebook cell per qmd cell and per inline expression, in document order; ``roles`` maps them back."""
    nb = nbformat.v4.new_notebook()
    roles: list[dict[str, Any]] = []

    def add(source: str, role: dict[str, Any]) -> None:
        nb.cells.append(nbformat.v4.new_code_cell(source))
        roles.append(role)

    add(_setup_code(book, env), {"kind": "setup"})
    for block in doc.blocks:
        if isinstance(block, Cell):
            add(block.source, {"kind": "cell", "cell": block})
        else:
            for part in block.parts:
                if isinstance(part, InlineExpr):
                    add(f"_ipsr_inline({part.expr!r})", {"kind": "inline", "expr": part})
    add(_teardown_code(reads_file), {"kind": "setup"})
    return nb, roles


def _describe(doc: Document, role: dict[str, Any]) -> str:
    if role["kind"] == "cell":
        cell: Cell = role["cell"]
        where = f"cell '{cell.label}'" if cell.label else "cell"
        return f"{doc.path}:{cell.line}: {where}"
    if role["kind"] == "inline":
        expr: InlineExpr = role["expr"]
        return f"{doc.path}:{expr.line}: inline expression `{expr.expr}`"
    return f"{doc.path}: engine setup code"


def _error_line(output: dict[str, Any]) -> str:
    ename, evalue = output.get("ename", "Error"), strip_ansi(str(output.get("evalue", "")))
    return f"{ename}: {evalue}" if evalue else ename


# A Unix socket path holds at most 107 bytes; jupyter appends "-<port>" to the IPC base name.
_MAX_IPC_PATH = 100


def _transport(ipc_base: Path) -> dict[str, str]:
    """IPC sockets in the scratch folder (no TCP ports, no "running over TCP" warning) unless its path is too
    long for a socket (a long TMPDIR); then TCP on the loopback interface."""
    if len(os.fsencode(str(ipc_base))) + len("-65535") <= _MAX_IPC_PATH:
        return {"transport": "ipc", "ip": str(ipc_base)}
    return {"transport": "tcp", "ip": "127.0.0.1"}


def _kernel_env(book: Book, results_file: Path | None) -> dict[str, str]:
    """The environment of a chapter's kernel; ``results_file`` None for a warm kernel started ahead of its run
    (the run's setup cell sets it)."""
    env = {
        # The built-in engine prints the synthetic-data notice on every page itself.
        "IPSREPORT_ENGINE": "builtin",
        # data/ and config/ are found from here (ipsreport.paths), whichever copy of the package is imported.
        "IPSREPORT_PROJECT_DIR": str(book.root),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    return {"IPSREPORT_RESULTS_FILE": str(results_file), **env} if results_file is not None else env


def _results_file(work: Path, chapter: Chapter) -> Path:
    return work / "results" / f"{chapter.slug}.json"


def _run(book: Book, chapter: Chapter, doc: Document, nb, roles, work: Path, pool: "KernelPool | None") -> None:
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    global KERNEL_STARTS, WARM_KERNELS
    env = _kernel_env(book, _results_file(work, chapter))
    if pool is not None:
        km: Any = pool.start(chapter.slug, env, book.root)
    else:
        kdirs = _kernel_spec(work, chapter.slug, env)
        km = KernelManager(
            kernel_name=chapter.slug,
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kdirs)]),
            **_transport(work / "kernels" / chapter.slug / "ipc"),
        )
    client = NotebookClient(
        nb, km=km, timeout=None, allow_errors=False, record_timing=False,
        resources={"metadata": {"path": str(book.root)}},
    )
    with _lock:
        KERNEL_STARTS += 1
        WARM_KERNELS += int(bool(getattr(km, "warm", False)))
    try:
        client.execute()
    except CellExecutionError as e:
        for cell, role in zip(nb.cells, roles):
            errs = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if errs:
                raise RenderError(f"{_describe(doc, role)} failed:\n  {_error_line(errs[-1])}") from None
        raise RenderError(f"{doc.path}: execution failed: {strip_ansi(str(e)).strip().splitlines()[-1]}") from None
    except DeadKernelError as e:
        raise RenderError(f"{doc.path}: the kernel died while executing the chapter ({e})") from None
    except RuntimeError as e:
        if "Kernel" not in str(e):
            raise
        log = km.log if isinstance(km, _ForkedKernel) else None
        detail = log.read_text(encoding="utf-8", errors="replace").strip()[-2000:] if log and log.exists() else ""
        raise RenderError(f"{doc.path}: the chapter's kernel did not start ({e})"
                          + (f":\n{detail}" if detail else "")) from None
    finally:
        # nbclient only shuts down kernels it created itself; this one is ours.
        if km.has_kernel:
            km.shutdown_kernel(now=True)


def _alt_text(opts: dict[str, Any]) -> str:
    """A figure's description: its ``fig-alt``, else its caption (markdown, so that it reads as the caption does)."""
    text = str(opts.get("fig-alt") or opts.get("fig-cap") or "").strip()
    return " ".join(text.split()).replace("[", "\\[").replace("]", "\\]")


def _output_markdown(
    outputs: list[dict[str, Any]], opts: dict[str, Any], chapter: Chapter, figures: dict[str, bytes], dpi: int,
    raw_html: list[str],
) -> list[str]:
    pieces: list[str] = []
    asis = opts.get("output") == "asis"
    for out in outputs:
        kind = out.get("output_type")
        if kind == "stream":
            text = out.get("text", "")
            if out.get("name") == "stderr":
                if opts.get("warning", True) and opts.get("message", True) and text.strip():
                    pieces.append(_code_block(strip_ansi(text), ".cell-output-stderr"))
            elif asis:
                pieces.append(text)
            elif text.strip():
                pieces.append(_code_block(text, ".cell-output"))
            continue
        if kind not in {"display_data", "execute_result"}:
            continue
        data = out.get("data", {})
        if "text/markdown" in data:
            pieces.append(data["text/markdown"].strip() + "\n")
        elif "image/png" in data or "image/svg+xml" in data:
            # One figure, stored as every variant the kernel made (figures/x.png, figures/x.svg); the markdown
            # names the PNG and each writer swaps in its own format (figure_variant).
            stem = f"{chapter.slug}-{len({n.rsplit('.', 1)[0] for n in figures}) + 1}"
            width_in = 0.0
            if "image/svg+xml" in data:
                svg = data["image/svg+xml"]
                figures[f"{stem}.svg"] = svg.encode("utf-8") if isinstance(svg, str) else bytes(svg)
                width_in = _svg_size_in(figures[f"{stem}.svg"])[0]
            if "image/png" in data:
                raw = base64.b64decode(data["image/png"])
                figures[f"{stem}.png"] = raw
                width_in = width_in or _png_size(raw)[0] / dpi
            width = f"{{width={width_in:.2f}in}}" if width_in else ""
            pieces.append(f"![{_alt_text(opts)}](figures/{stem}.png){width}\n")
        elif "text/html" in data:
            # A raw HTML block even in an asis cell: HTML read as markdown would let its text become markup.
            raw_html.append(data["text/html"])
            pieces.append(_raw_html(data["text/html"]))
        elif "text/plain" in data:
            text = data["text/plain"]
            pieces.append(text + "\n" if asis else _code_block(text, ".cell-output"))
    return pieces


def _float_kind(opts: dict[str, Any]) -> str | None:
    label = str(opts.get("label") or "")
    if label.startswith("tbl-") or "tbl-cap" in opts:
        return "tbl"
    if label.startswith("fig-") or "fig-cap" in opts:
        return "fig"
    return None


def _cell_markdown(
    cell: Cell, nb_cell, opts, chapter: Chapter, figures: dict[str, bytes], dpi: int, raw_html: list[str]
) -> str:
    if opts.get("include", True) is False:
        return ""
    pieces: list[str] = []
    if opts.get("echo", False):
        pieces.append(_code_block(cell.source, ".python .cell-code"))
    body: list[str] = []
    if opts.get("output", True) is not False:
        body = _output_markdown(nb_cell.get("outputs", []), opts, chapter, figures, dpi, raw_html)
    kind = _float_kind(opts)
    if kind and body:
        label = str(opts.get("label") or "")
        ident = f"#{label} " if label.startswith(kind + "-") else ""
        caption = str(opts.get(f"{kind}-cap") or "").strip()
        cap = f"::: {{.ipsr-caption}}\n{caption}\n:::\n" if caption else ""
        # Quarto's fig-alt rides on the float as an attribute (HTML: data-fig-alt, read by html_structure).
        alt = " ".join(str(opts.get("fig-alt") or "").split()).replace("\\", "\\\\").replace('"', '\\"')
        alt_attr = f' fig-alt="{alt}"' if kind == "fig" and alt else ""
        pieces.append(f"::::: {{{ident}.ipsr-float .ipsr-{kind}{alt_attr}}}\n{cap}\n" + "\n".join(body) + "\n:::::\n")
    else:
        pieces.extend(body)
    return "\n" + "\n".join(pieces) + "\n" if pieces else "\n"


def _title_heading(doc: Document) -> str:
    title = doc.front_matter.get("title")
    return f"# {title}\n\n" if title else ""


def _source_markdown(doc: Document) -> str:
    """What the chapter's author wrote as markdown: the prose, each inline expression replaced by a placeholder
    number, and the cells' captions."""
    parts = (p if isinstance(p, str) else "0" for b in doc.blocks if isinstance(b, Markdown) for p in b.parts)
    captions = [str(c.options[k]) for c in doc.cells for k in ("tbl-cap", "fig-cap") if c.options.get(k)]
    return _title_heading(doc) + "".join(parts) + "".join(f"\n\n{cap}\n" for cap in captions)


def static_chapter(book: Book, chapter: Chapter, doc: Document) -> ChapterOutput:
    """A chapter without code: its markdown as is, no kernel."""
    text = "".join(p for b in doc.blocks if isinstance(b, Markdown) for p in b.parts)  # type: ignore[misc]
    return ChapterOutput(_title_heading(doc) + text)


def execute_chapter(book: Book, chapter: Chapter, doc: Document, work: Path,
                    pool: "KernelPool | None" = None) -> ChapterOutput:
    """Run the chapter's cells and inline expressions in a fresh kernel (forked from ``pool`` when given, else
    started from scratch); return its intermediate markdown."""
    if not doc.needs_kernel:
        return static_chapter(book, chapter, doc)
    reads_file = _reads_file(work, chapter)
    reads_file.parent.mkdir(parents=True, exist_ok=True)
    nb, roles = _build_notebook(book, doc, reads_file, _kernel_env(book, _results_file(work, chapter)))
    _run(book, chapter, doc, nb, roles, work, pool)
    if pool is not None and _modules_file(reads_file).exists():
        pool.remember_modules(chapter.slug, json.loads(_modules_file(reads_file).read_text(encoding="utf-8")))
    by_cell = {id(r["cell"]): c for c, r in zip(nb.cells, roles) if r["kind"] == "cell"}
    by_inline = {id(r["expr"]): c for c, r in zip(nb.cells, roles) if r["kind"] == "inline"}
    figures: dict[str, bytes] = {}
    raw_html: list[str] = []  # the HTML outputs the engine wrapped as raw blocks
    md: list[str] = [_title_heading(doc)]
    pieces: list[tuple[str, str]] = []
    for block in doc.blocks:
        if isinstance(block, Cell):
            md.append(_cell_markdown(block, by_cell[id(block)], _options(book, doc, block), chapter, figures,
                                     kernel_figure_formats(book)[1], raw_html))
            pieces.append((code_identity(book, doc, block), md[-1]))
            continue
        for part in block.parts:
            if isinstance(part, str):
                md.append(part)
                continue
            outs = by_inline[id(part)].get("outputs", [])
            bundles = [json.loads(o["data"][INLINE_MIME]) for o in outs if INLINE_MIME in o.get("data", {})]
            md.append(quarto_inline_markdown(bundles[-1] if bundles else {}, part.expr, f"{doc.path}:{part.line}"))
            pieces.append((code_identity(book, doc, part), md[-1]))
    check_computed_markup("".join(md), _source_markdown(doc), figures, raw_html, doc.path)
    results_file = _results_file(work, chapter)
    results = json.loads(results_file.read_text(encoding="utf-8")) if results_file.exists() else {}
    reads = json.loads(reads_file.read_text(encoding="utf-8")) if reads_file.exists() else None
    return ChapterOutput("".join(md), figures, results, reads, pieces)


def code_identity(book: Book, doc: Document, item: Cell | InlineExpr) -> str:
    """What a cell's or inline expression's markdown is made from (its code and the options that shape it)."""
    if isinstance(item, Cell):
        return json.dumps(["cell", item.source, _options(book, doc, item)], sort_keys=True, default=str)
    return json.dumps(["inline", item.expr])


def respliced(book: Book, chapter: Chapter, doc: Document, previous: ChapterOutput) -> ChapterOutput | None:
    """The chapter's output after an edit of its prose only: the previous outputs of its cells and inline values
    around the new prose. None when any code changed (or the previous output does not say what made it); the
    chapter must then run. The caller makes sure nothing else the code depends on (data, package) changed."""
    if previous.code_pieces is None:
        return None
    items: list[Cell | InlineExpr] = []
    for block in doc.blocks:
        items.extend([block] if isinstance(block, Cell) else [p for p in block.parts if isinstance(p, InlineExpr)])
    if [code_identity(book, doc, i) for i in items] != [ident for ident, _ in previous.code_pieces]:
        return None
    produced = iter(md for _, md in previous.code_pieces)
    md: list[str] = [_title_heading(doc)]
    for block in doc.blocks:
        if isinstance(block, Cell):
            md.append(next(produced))
            continue
        md.extend(part if isinstance(part, str) else next(produced) for part in block.parts)
    raw_html = re.findall(r"(?ms)^(`{3,})\{=html\}\n(.*?)\n\1$", "".join(md))
    check_computed_markup("".join(md), _source_markdown(doc), previous.figures, [h for _, h in raw_html],
                          doc.path)
    return ChapterOutput("".join(md), dict(previous.figures), dict(previous.results), previous.data_reads,
                         list(previous.code_pieces))


# --- Kernels forked from one process that has paid the heavy imports --------------------------------------------
#
# Starting a kernel and importing a book's libraries (pandas, statsmodels, matplotlib …) costs seconds per
# chapter, and that cost was paid once per chapter. A *kernel pool* is one helper process that imports the modules
# the project lists (``_quarto.yml``: ``ipsreport: preload: [...]``) and then forks one child per chapter; each
# child becomes an ordinary IPython kernel. A fork copies the process, so every chapter still gets a process of
# its own: no variable, module global, registry or rcParams change of one chapter reaches another, and the
# chapter's audit hook (installed by its setup cell, after the fork) sees exactly that chapter's file reads.
# Nothing of the project is imported before the fork unless the project lists it.

# The helper's program. Everything lives inside a function so that the kernels' ``__main__`` carries nothing.
_POOL_PROGRAM = r'''
def _ipsr_pool():
    import json, os, signal, sys, traceback
    failed = []
    for name in json.loads(sys.argv[1]):
        try:
            __import__(name)
        except Exception as e:  # a module that cannot be preloaded is imported by the chapter itself
            failed.append(f"{name}: {type(e).__name__}: {e}")
    out = sys.stdout
    out.write(json.dumps({"ready": True, "failed": failed}) + "\n")
    out.flush()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the system
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the chapter's subprocesses must be waitable
                if "numpy.random" in sys.modules:
                    # As in a fresh process (Python's own random module reseeds itself after a fork).
                    sys.modules["numpy.random"].seed()
                null = os.open(os.devnull, os.O_RDONLY)
                os.dup2(null, 0)
                log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(log, 1)
                os.dup2(log, 2)
                os.chdir(request["cwd"])
                os.environ.update(request["env"])
                sys.argv = ["ipykernel_launcher", "-f", request["connection_file"],
                            "--HistoryManager.hist_file=:memory:"]
                from ipykernel.kernelapp import IPKernelApp
                IPKernelApp.launch_instance()
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 0
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(code)
        out.write(json.dumps({"pid": pid}) + "\n")
        out.flush()


_ipsr_pool()
'''


# The kernel's own modules, imported before any fork: a forked kernel is then ready in a fraction of the time.
# Importing them creates no sockets, threads or event loops (those start in the child, with the kernel).
_KERNEL_MODULES = ["IPython", "ipykernel.kernelapp"]


class _ForkedKernel:
    """Enough of jupyter_client's KernelManager for nbclient to drive a kernel the pool forked."""

    ipykernel = False  # nbclient would add its own history option; the pool sets it already

    def __init__(self, pid: int, connection_file: Path, log: Path, cwd: Path | None = None):
        self.pid: int | None = pid
        self.connection_file = connection_file
        self.log = log
        self.cwd = cwd
        self.kernel_id = f"forked-{pid}"
        self._clients: list[Any] = []
        self.warm = False  # started ahead of its run (KernelPool.prestart)

    @property
    def has_kernel(self) -> bool:
        return self.pid is not None

    def client(self, **kwargs: Any) -> Any:
        from jupyter_client.blocking import BlockingKernelClient

        manager = self

        class _Client(BlockingKernelClient):
            # Without a KernelManager as parent the client judges liveness by heartbeats, which a kernel still
            # starting on a loaded machine has not sent yet; the process itself is the truth.
            async def _async_is_alive(self) -> bool:
                return manager.is_alive()

            def is_alive(self) -> bool:
                return manager.is_alive()

        kc = _Client(**kwargs)
        kc.load_connection_file(str(self.connection_file))
        self._clients.append(kc)
        return kc

    def is_alive(self) -> bool:
        if self.pid is None:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def interrupt_kernel(self) -> None:
        if self.pid is not None:
            os.kill(self.pid, signal.SIGINT)

    def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        for kc in self._clients:
            kc.stop_channels()
        self._clients.clear()
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.pid = None
        self.cleanup_resources()

    def cleanup_resources(self, restart: bool = False) -> None:
        self.connection_file.unlink(missing_ok=True)


class KernelPool:
    """One helper process with the project's heavy modules imported; :meth:`start` forks a fresh kernel from it.

    Thread-safe (chapters start their kernels from several threads). :meth:`close` ends the helper and any warm
    kernel still waiting; kernels already started keep running until their chapter shuts them down.

    *Warm kernels* (the preview keeps one per chapter between edits, as Quarto's kernel daemon does):
    :meth:`prestart` forks a chapter's next kernel ahead of time, lets it start, runs the engine's setup code in
    it and imports the modules the chapter's previous run ended with; :meth:`start` then hands it out instead of
    forking. The kernel has run none of the chapter's code, so its namespace is as clean as a fresh kernel's;
    each warm kernel serves one run only.
    """

    def __init__(self, root: Path, work: Path, preload: list[str]):
        self.work = work
        self.preload = list(preload)
        self._lock = threading.Lock()
        self._ready: dict[str, Any] | None = None
        self._spares: dict[str, _ForkedKernel] = {}
        self._modules: dict[str, list[str]] = {}
        self._generation = 0  # raised by discard_spares: a warm kernel started before that is not kept
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _POOL_PROGRAM, json.dumps([*_KERNEL_MODULES, *self.preload])],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=root, text=True,
            env={**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline",
                 "PYDEVD_DISABLE_FILE_VALIDATION": "1"},
        )

    def _reply(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RenderError("the kernel pool ended unexpectedly (set IPSREPORT_KERNELS=fresh to start every "
                              "kernel from scratch)")
        return json.loads(line)

    @property
    def failed(self) -> list[str]:
        """Modules the helper could not preload (the chapters import them themselves)."""
        with self._lock:
            if self._ready is None:
                self._ready = self._reply()
            return list(self._ready.get("failed", []))

    def start(self, slug: str, env: dict[str, str], cwd: Path) -> _ForkedKernel:
        """The chapter's warm kernel when one is ready (see :meth:`prestart`), else a newly forked one."""
        with self._lock:
            spare = self._spares.pop(slug, None)
        if spare is not None:
            if spare.is_alive() and spare.cwd == Path(cwd):
                spare.warm = True
                return spare
            spare.shutdown_kernel(now=True)
        return self._fork(slug, env, cwd)

    def _fork(self, slug: str, env: dict[str, str], cwd: Path, name: str | None = None) -> _ForkedKernel:
        from jupyter_client.connect import write_connection_file

        folder = self.work / "kernels" / (name or slug)
        folder.mkdir(parents=True, exist_ok=True)
        connection = folder / "connection.json"
        write_connection_file(str(connection), **_transport(folder / "ipc"))
        log = folder / "kernel.log"
        with self._lock:
            if self._ready is None:
                self._ready = self._reply()
            assert self._proc.stdin is not None
            self._proc.stdin.write(json.dumps({"connection_file": str(connection), "env": env, "cwd": str(cwd),
                                               "log": str(log)}) + "\n")
            self._proc.stdin.flush()
            pid = int(self._reply()["pid"])
        return _ForkedKernel(pid, connection, log, Path(cwd))

    def remember_modules(self, slug: str, modules: list[str]) -> None:
        """The modules a run of the chapter ended with, in import order: its next warm kernel imports them."""
        with self._lock:
            self._modules[slug] = [m for m in modules if isinstance(m, str) and m != "__main__"]

    def has_spare(self, slug: str) -> bool:
        with self._lock:
            return slug in self._spares

    def prestart(self, book: Book, chapter: Chapter, timeout: float = 120) -> bool:
        """Start ``chapter``'s next kernel now, ready for :meth:`start`: forked, started, the engine's setup code
        run and the modules of the chapter's previous run imported (silently: no execution count, no history, no
        name left in the namespace but the setup's own). False when it could not be made ready (the run then
        forks a kernel as usual)."""
        with self._lock:
            generation = self._generation
            modules = list(self._modules.get(chapter.slug, []))
        kernel = self._fork(chapter.slug, _kernel_env(book, None), book.root, name=f"{chapter.slug}.warm")
        warm_up = _setup_code(book) + (
            "def _ipsr_warm(names):\n"
            "    import importlib\n"
            "    for name in names:\n"
            "        if name not in _ipsr_sys.modules:\n"
            "            try:\n"
            "                importlib.import_module(name)\n"
            "            except Exception:\n"
            "                pass\n"
            f"_ipsr_warm({modules!r})\n"
            "del _ipsr_warm\n"
        )
        ok = False
        kc = kernel.client()
        try:
            kc.start_channels()
            kc.wait_for_ready(timeout=timeout)
            reply = kc.execute_interactive(warm_up, silent=True, store_history=False, timeout=timeout,
                                           output_hook=lambda _msg: None)
            ok = reply.get("content", {}).get("status") == "ok"
        except Exception:  # a kernel that does not get ready is simply not used
            ok = False
        finally:
            kc.stop_channels()
            if kc in kernel._clients:
                kernel._clients.remove(kc)
        with self._lock:
            if ok and generation == self._generation and chapter.slug not in self._spares:
                self._spares[chapter.slug] = kernel
                return True
        kernel.shutdown_kernel(now=True)
        return False

    def discard_spares(self) -> None:
        """End every warm kernel (e.g. the project's code or settings changed since they were started)."""
        with self._lock:
            spares, self._spares = list(self._spares.values()), {}
            self._generation += 1
        for kernel in spares:
            kernel.shutdown_kernel(now=True)

    def close(self) -> None:
        self.discard_spares()
        if self._proc.poll() is None:
            try:
                assert self._proc.stdin is not None
                self._proc.stdin.close()
                self._proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()

    def __enter__(self) -> "KernelPool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def preload_modules(config: dict[str, Any]) -> list[str]:
    """``ipsreport: preload:`` of ``_quarto.yml``: module names the kernel pool imports once for every chapter."""
    section = config.get("ipsreport") or {}
    names = section.get("preload") or [] if isinstance(section, dict) else []
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise RenderError("_quarto.yml: ipsreport.preload must be a list of module names")
    return names


# A pool that outlives one render (the preview keeps one for its whole session); renders then use it and leave it
# open instead of starting their own.
SHARED_POOL: KernelPool | None = None


def kernel_pool(root: Path, work: Path, config: dict[str, Any]) -> KernelPool | None:
    """A pool forking the chapters' kernels, or None when kernels must start from scratch (no ``os.fork``, or
    ``IPSREPORT_KERNELS=fresh`` in the environment: one fresh kernel per chapter, the reference behaviour)."""
    if not hasattr(os, "fork") or os.environ.get("IPSREPORT_KERNELS", "fork") == "fresh":
        return None
    return KernelPool(root, work, preload_modules(config))
