"""Delegate the render to a real ``quarto`` executable and collect the registered results."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from . import RenderError

__all__ = ["render_with_quarto", "QUARTO_FORMATS"]

QUARTO_FORMATS = {"html": "html", "pdf": "typst", "docx": "docx"}


def _output_dir(project_dir: Path) -> Path:
    try:
        cfg = yaml.safe_load((project_dir / "_quarto.yml").read_text(encoding="utf-8")) or {}
        return project_dir / ((cfg.get("project") or {}).get("output-dir") or "_book")
    except (OSError, yaml.YAMLError):
        return project_dir / "_book"


def render_with_quarto(project_dir: Path, formats: list[str], use_cache: bool = True, console=None):
    from .engine import RenderSummary, _old_results, _prepare_results, _results_hook, _validate

    quarto = shutil.which("quarto")
    if quarto is None:
        raise RenderError("engine 'quarto' requested but no quarto executable is on PATH")
    start = time.perf_counter()
    _validate(project_dir)
    out_dir = _output_dir(project_dir)
    old = _old_results(out_dir)
    cmd = [quarto, "render", "--to", ",".join(QUARTO_FORMATS[f] for f in formats)]
    if not use_cache:
        cmd.append("--cache-refresh")
    with tempfile.TemporaryDirectory(prefix="ipsreport-results-") as results_dir:
        env = {**os.environ, "IPSREPORT_RESULTS_DIR": results_dir, "IPSREPORT_PROJECT_DIR": str(project_dir)}
        if console is not None and console.is_terminal:
            console.print(f"[dim]$ {' '.join(cmd)}[/dim]")
        proc = subprocess.run(cmd, cwd=project_dir, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = "\n  ".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
            raise RenderError(f"quarto render failed (exit {proc.returncode}):\n  {tail}")
        chapters = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(Path(results_dir).glob("*.json"))}
        report = _prepare_results(chapters, project_dir, old, "quarto")
    out_dir.mkdir(parents=True, exist_ok=True)
    _results_hook().write_report(report, out_dir)
    _results_hook().save_report(report)
    summary = RenderSummary(output_dir=out_dir, engine="quarto", change_report=out_dir / "changes.md")
    summary.first_results, summary.changed_results = report.first, report.changed
    summary.files = sorted(
        (p.relative_to(project_dir).as_posix(), p.stat().st_size) for p in out_dir.rglob("*") if p.is_file()
    )
    summary.elapsed = time.perf_counter() - start
    return summary
