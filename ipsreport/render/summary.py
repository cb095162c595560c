"""What a render did (:class:`RenderSummary`) and its short report on the terminal (:func:`print_summary`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["RenderSummary", "print_summary"]


@dataclass
class RenderSummary:
    """What a render did."""

    output_dir: Path
    files: list[tuple[str, int]] = field(default_factory=list)  # path relative to the project, size in bytes
    elapsed: float = 0.0
    executed: list[str] = field(default_factory=list)  # chapters run in a kernel
    cached: list[str] = field(default_factory=list)  # chapters taken from .ipsreport-cache
    static: list[str] = field(default_factory=list)  # chapters without code (no kernel needed)
    # Key, old, new: the project's own comparison (printed forms) when its post-render script wrote one, else
    # the raw values of results.json.
    changed_results: list[tuple[str, Any, Any]] = field(default_factory=list)
    change_report: Path | None = None  # the project's report listing every change (e.g. changes.md)
    changed_count: int | None = None  # how many changed when changed_results lists only the first ones
    first_results: bool = False  # no previous results.json to compare with
    engine: str = "builtin"
    kernels_started: int = 0
    # Things the reader should know about this render: tools used, cache entries found corrupt, recovered
    # outputs, how often Quarto executed each chapter.
    notes: list[str] = field(default_factory=list)


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
    for note in summary.notes:
        console.print(f"Note: {note}", markup=False, highlight=False)
        budget -= 1
    changed = summary.changed_results
    if not changed:
        console.print("No reported result changed.")
        return
    count = max(summary.changed_count or 0, len(changed))
    if summary.first_results:
        console.print(f"No previous results.json: {count} reported result(s) written.")
        return
    where = ""
    if summary.change_report is not None:
        try:
            shown_path = summary.change_report.relative_to(summary.output_dir.parent).as_posix()
        except ValueError:
            shown_path = str(summary.change_report)
        where = f" (every change: {_quoted(shown_path, 200)})"
    console.print(f"{count} reported result(s) changed since the previous render{where}:",
                  markup=False, highlight=False)
    limit = max(budget - 2, 5)

    for key, old, new in changed[:limit]:
        console.print(f"  {_quoted(key, 80)}: {_shown_value(old)} → {_shown_value(new)}", markup=False,
                      highlight=False)
    if count > min(limit, len(changed)):
        console.print(f"  … {count - min(limit, len(changed))} more{where}", markup=False, highlight=False)


def _quoted(value: Any, limit: int = 60) -> str:
    """Text for the terminal: control characters as escapes, at most ``limit`` characters (a long data string
    must not flood or drive the terminal)."""
    text = str(value)[: limit * 4]
    text = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\u{ord(ch):04x}"
                   for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _shown_value(value: Any) -> str:
    if value is None:
        return "(absent)"
    if isinstance(value, float):
        return f"{value:.6g}"
    return _quoted(value if isinstance(value, str) else repr(value))
