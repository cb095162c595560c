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
    from ipsreport.results import merge_result_files

    from .engine import RenderSummary, _diff, _old_results, _validate

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
        try:
            merged = merge_result_files(sorted(Path(results_dir).glob("*.json")))
        except ValueError as e:
            raise RenderError(f"results.json: {e}") from None
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(merged, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    summary = RenderSummary(output_dir=out_dir, engine="quarto")
    summary.first_results = not old
    summary.changed_results = _diff(old, merged)
    summary.files = sorted(
        (p.relative_to(project_dir).as_posix(), p.stat().st_size) for p in out_dir.rglob("*") if p.is_file()
    )
    summary.elapsed = time.perf_counter() - start
    return summary
