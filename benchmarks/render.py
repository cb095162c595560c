"""Time the writing loop of the book against a floor, in one run (on demand: `make benchmark`; not run in CI).

The floor is the least any render could cost: every chapter's code cells (and inline expressions) run one after
another in one plain Python process, so the imports are paid once, with no kernels and no output formats; each
cell's displayed value is still formatted (HTML of tables, PNG of figures), as a render must. Then, on a temporary
copy of the project, each through the command line as an author runs it:

  cold         `ipsreport render --no-cache` (HTML, PDF, DOCX)         goal <= 2 x floor
  unchanged    `ipsreport render` again, nothing changed               goal <= 0.1 x cold
  data change  `ipsreport render` after a content change of one InStep data file (reported)
  prose edit   `ipsreport preview`: a sentence edited in one chapter until the served page shows it
                                                                        goal <= 1.5 s
  scale        a cold render of the book on 1x, 10x and 100x synthetic data (`ipsreport synthesize --scale K`)
                                                                        goal: 100x <= 2 x the 1x time

Every time is printed with its ratio to the floor. The exit status is 1 when a goal is missed by more than 20%
(or could not be measured). The machine's load changes every figure; compare ratios from one run only.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns(".venv", ".git", "_book", "_book.*", ".ipsreport-cache", "__pycache__",
                                ".pytest_cache")
TOLERANCE = 1.2  # a goal counts as missed when the measure exceeds it by more than 20%

# Runs in a child process: `python -c FLOOR_PROGRAM <project>`.
FLOOR_PROGRAM = r'''
import ast, io, os, sys, tempfile
from pathlib import Path

root = Path(sys.argv[1]).resolve()
os.chdir(root)
sys.path.insert(0, str(root))
results = tempfile.mkdtemp(prefix="ipsreport-floor-")
os.environ.update(IPSREPORT_PROJECT_DIR=str(root), IPSREPORT_ENGINE="builtin", MPLBACKEND="Agg")
from ipsreport.render.project import read_book
from ipsreport.render.qmd import Cell, InlineExpr, read_qmd
import matplotlib.pyplot as plt

book = read_book(root)


def show(value):
    for method in ("_repr_html_", "_repr_markdown_"):
        if hasattr(value, method):
            return getattr(value, method)()
    return repr(value)


for chapter in book.chapters:
    doc = read_qmd(root, chapter.path)
    if not doc.needs_kernel:
        continue
    os.environ["IPSREPORT_RESULTS_FILE"] = os.path.join(results, chapter.slug + ".json")
    namespace = {"__name__": "__main__"}
    for block in doc.blocks:
        if isinstance(block, Cell):
            tree = ast.parse(block.source)
            last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
            exec(compile(tree, chapter.path, "exec"), namespace)
            if last is not None:
                show(eval(compile(ast.Expression(last.value), chapter.path, "eval"), namespace))
            for number in plt.get_fignums():
                plt.figure(number).savefig(io.BytesIO(), format="png", dpi=book.fig_dpi)
            plt.close("all")
        else:
            for part in block.parts:
                if isinstance(part, InlineExpr):
                    show(eval(part.expr, namespace))
'''


@dataclass
class Measure:
    label: str
    seconds: float | None
    note: str = ""


def run_floor(project: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", FLOOR_PROGRAM, str(project)], check=True)
    return time.perf_counter() - start


def cli(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ipsreport.cli", *args], cwd=project, capture_output=True,
                          text=True, check=check)


def timed_render(project: Path, *args: str) -> float:
    start = time.perf_counter()
    proc = cli(project, "render", "--engine", "builtin", *args, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"render failed in {project}:\n{proc.stdout}{proc.stderr}")
    return seconds


def fresh_copy(source: Path, into: Path) -> Path:
    project = into / "book"
    shutil.copytree(source, project, ignore=IGNORE)
    return project


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode("utf-8", errors="replace")


def prose_edit(project: Path) -> Measure:
    """Start the preview, change one sentence of a chapter, time until the served page shows it."""
    proc = cli(project, "preview", "--help", check=False)
    if proc.returncode != 0:
        return Measure("prose edit (preview)", None, "no `ipsreport preview` command")
    port = free_port()
    chapter = sorted((project / "chapters").glob("0*.qmd"))[0]
    page = f"http://127.0.0.1:{port}/{chapter.stem}.html"
    server = subprocess.Popen([sys.executable, "-m", "ipsreport.cli", "preview", "--port", str(port),
                               "--no-browser"], cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:  # the first render of the preview
            with contextlib.suppress(OSError):
                if "</html>" in fetch(page):
                    break
            time.sleep(0.5)
        else:
            return Measure("prose edit (preview)", None, "the preview never served the page")
        time.sleep(2)  # let the watcher settle
        marker = f"Benchmark sentence {os.getpid()}."
        text = chapter.read_text(encoding="utf-8")
        heading = re.search(r"(?m)^# .*\n", text)
        heading_end = heading.end() if heading else 0
        start = time.perf_counter()
        chapter.write_text(text[:heading_end] + f"\n{marker}\n" + text[heading_end:], encoding="utf-8")
        while time.perf_counter() - start < 60:
            with contextlib.suppress(OSError):
                if marker in fetch(page):
                    return Measure("prose edit (preview)", time.perf_counter() - start)
            time.sleep(0.05)
        return Measure("prose edit (preview)", None, "the edit did not appear within 60 s")
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=10)
        if server.poll() is None:
            server.kill()


def scale_runs(source: Path, tmp: Path) -> list[Measure]:
    if cli(source, "synthesize", "--help", check=False).stdout.find("--scale") < 0:
        return [Measure(f"cold render, {k}x data", None, "no `synthesize --scale`") for k in (1, 10, 100)]
    measures = []
    for k in (1, 10, 100):
        project = fresh_copy(source, tmp / f"scale-{k}")
        if k > 1:
            cli(project, "synthesize", "--scale", str(k), "--source", "data", "--data-dir", str(tmp / f"data-{k}"))
            shutil.rmtree(project / "data")
            shutil.move(tmp / f"data-{k}", project / "data")
        measures.append(Measure(f"cold render, {k}x data", timed_render(project, "--no-cache")))
    return measures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", nargs="?", type=Path, default=ROOT, help="book project to copy (default: this one)")
    parser.add_argument("--no-scale", action="store_true", help="skip the 1x/10x/100x renders")
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    with tempfile.TemporaryDirectory(prefix="ipsreport-bench-") as tmp_name:
        tmp = Path(tmp_name)
        project = fresh_copy(args.project.resolve(), tmp)
        cli(project, "render", "--engine", "builtin", "--to", "html")  # warm disk caches, not measured
        floor = run_floor(project)
        cold = timed_render(project, "--no-cache")
        unchanged = timed_render(project)
        changed = sorted((project / "data" / "instep").glob("*.csv"))[0]
        changed.write_bytes(changed.read_bytes() + b"\n")  # a content change the CSV reader tolerates
        data_change = timed_render(project)
        measures = [Measure("cold (--no-cache, html+pdf+docx)", cold), Measure("unchanged re-render", unchanged),
                    Measure(f"changed data/instep/{changed.name}", data_change), prose_edit(project)]
        if not args.no_scale:
            measures += scale_runs(args.project.resolve(), tmp)
    width = 40
    print(f"load average at start: {load:.1f} on {os.cpu_count()} cores; compare ratios within this run only")
    print(f"{'floor (cells of every chapter, one process)':{width + 4}s} {floor:7.2f} s   1.00 x floor")
    for m in measures:
        shown = f"{m.seconds:7.2f} s {m.seconds / floor:6.2f} x floor" if m.seconds is not None else "    n/a"
        print(f"{m.label:{width + 4}s} {shown}   {m.note}".rstrip())
    by_label = {m.label: m.seconds for m in measures}
    scale1, scale100 = by_label.get("cold render, 1x data"), by_label.get("cold render, 100x data")
    goals = [
        ("cold <= 2 x floor", cold / floor, 2.0),
        ("unchanged <= 0.1 x cold", unchanged / cold, 0.1),
        ("prose edit <= 1.5 s", by_label["prose edit (preview)"], 1.5),
    ]
    if not args.no_scale:
        goals.append(("100x data <= 2 x 1x data", scale100 / scale1 if scale1 and scale100 else None, 2.0))
    missed = 0
    for name, value, goal in goals:
        if value is None:
            verdict, missed = "NOT MEASURED", missed + 1
        elif value <= goal:
            verdict = "met"
        elif value <= goal * TOLERANCE:
            verdict = "within 20%"
        else:
            verdict, missed = "MISSED", missed + 1
        shown = f"{value:.2f}" if value is not None else "n/a"
        print(f"goal {name:32s} measured {shown:>6s}  {verdict}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
