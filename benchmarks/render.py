"""Time the built-in render engine on a copy of the project (run on demand: `python benchmarks/render.py`).

Measures, in one run on a temporary copy:
  1. a render with use_cache=False (every chapter executed),
  2. an unchanged re-render (everything from cache),
  3. a re-render after rewriting one data file with identical bytes (new mtime only: must still be cached),
  4. a re-render after a real content change of that data file (trailing newline added to a copy of the CSV),
and the floor: one Python process importing pandas/statsmodels/matplotlib/great_tables, plus pandoc once and
typst once. Prints each time, its ratio to the floor and the unchanged/no-cache ratio (target <= 0.2).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ipsreport.render.engine import render_book  # noqa: E402
from ipsreport.render.pandoc import pandoc_path  # noqa: E402

IGNORE = shutil.ignore_patterns(".venv", ".git", "_book", "_book.*", ".ipsreport-cache", "__pycache__", ".pytest_cache")


def floor_seconds() -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import pandas, statsmodels.api, matplotlib.pyplot, great_tables"], check=True
    )
    subprocess.run([pandoc_path(), "-f", "markdown", "-t", "html"], input="# x\n", text=True, check=True,
                   capture_output=True)
    code = "import typst; typst.compile(bytes('= x', 'utf-8'), format='pdf')"
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def timed(label: str, project: Path, **kwargs) -> tuple[str, float, object]:
    start = time.perf_counter()
    summary = render_book(project, engine="builtin", **kwargs)
    return label, time.perf_counter() - start, summary


def first_csv(project: Path) -> Path:
    files = sorted((project / "data").rglob("*.csv"))
    if not files:
        raise SystemExit("no CSV under data/ to change")
    return files[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", nargs="?", type=Path, default=ROOT, help="book project to copy (default: this repo)")
    parser.add_argument("--no-validate", action="store_true",
                        help="drop the pre-render data validation script of the copy (fixture books)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ipsreport-bench-") as tmp:
        project = Path(tmp) / "book"
        shutil.copytree(args.project, project, ignore=IGNORE)
        if args.no_validate:
            config = project / "_quarto.yml"
            config.write_text("".join(line for line in config.read_text().splitlines(keepends=True)
                                      if not line.lstrip().startswith("pre-render:")))
        floor = floor_seconds()
        runs = [timed("no cache", project, use_cache=False), timed("unchanged", project)]
        data = first_csv(project)
        data.write_bytes(data.read_bytes())  # same bytes, new mtime: not a change
        runs.append(timed(f"touched {data.relative_to(project)} (same bytes)", project))
        data.write_bytes(data.read_bytes() + b"\n")  # a content change the CSV reader tolerates
        runs.append(timed(f"changed {data.relative_to(project)}", project))
        print(f"{'floor (imports + pandoc + typst)':48s} {floor:7.2f} s   1.00 x floor")
        for label, seconds, summary in runs:
            print(f"{label:48s} {seconds:7.2f} s {seconds / floor:6.2f} x floor   "
                  f"executed {len(summary.executed)}, cached {len(summary.cached)}")
        ratio = runs[1][1] / runs[0][1]
        print(f"unchanged / no-cache = {ratio:.2f} (target <= 0.2) {'OK' if ratio <= 0.2 else 'TOO SLOW'}")


if __name__ == "__main__":
    main()
