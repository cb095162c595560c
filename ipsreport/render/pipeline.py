"""The steps every render takes, whichever backend (built-in or Quarto) produces the formats.

    check output folder → lock → recover/clean → pre-render hooks (e.g. data validation) → backend executes the
    chapters and writes the formats into a temporary output folder → post-render hooks (results collection)
    → keep the other formats' previous files → atomic swap → summary

The engine knows no project: the project's own steps are the ``project: pre-render:`` and ``post-render:``
scripts of ``_quarto.yml``, the same keys Quarto runs. The pipeline runs each ``.py`` script with the
interpreter of this render, in the project folder, with Quarto's variables (``QUARTO_PROJECT_RENDER_ALL``,
``QUARTO_PROJECT_OUTPUT_DIR`` — here the temporary output folder —, ``QUARTO_PROJECT_INPUT_FILES``,
``QUARTO_PROJECT_OUTPUT_FILES``) and these:

- ``IPSREPORT_PIPELINE=1``: set for the backend too, so that a script Quarto itself runs during a render driven
  by this pipeline can return at once (the pipeline runs it before or after Quarto instead);
- ``IPSREPORT_CHAPTER_RESULTS`` (post-render): a JSON file listing every chapter (``path``, ``has_code``) with
  the file of values its code registered (``results``, or null when none arrived); ``extra`` lists result files
  no chapter claimed;
- ``IPSREPORT_PREVIOUS_OUTPUT_DIR`` (post-render): the output folder of the previous render (it may not exist);
- ``IPSREPORT_CHANGES_FILE`` (post-render): where a script may write the project's own comparison with the
  previous render for the summary (see :func:`read_changes_file`); without it the summary compares the
  top-level values of the two ``results.json``;
- ``IPSREPORT_ENGINE``: the backend's name (``builtin`` or ``quarto``), for provenance records.
- ``IPSREPORT_NO_CACHE=1`` (both stages, ``--no-cache`` only): redo any work a script remembers from earlier runs.

A post-render script must write ``results.json`` into the output folder (without a post-render script the
pipeline merges the chapters' values itself). A script that fails stops the render with its exit code and
output; nothing has replaced the previous output by then.
"""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from . import RenderError
from . import swap as _swap
from .lock import render_lock
from .summary import RenderSummary

__all__ = ["Hooks", "read_hooks", "RenderContext", "Backend", "run_pipeline", "diff_values", "HookError",
           "read_changes_file", "ProjectChanges"]

RESULTS_FILE = _swap.RESULTS_FILE
CHANGES_FILE = "render-changes.json"  # in the work folder: a post-render script's comparison for the summary
MAX_CHANGES_READ = 1000  # entries of that file the summary keeps
MAX_TEXT_READ = 200  # characters kept of each key, value and report path it holds


class HookError(RenderError):
    """A project script failed; ``exit_code`` is its own."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Hooks:
    """The project's scripts, relative to the project folder, in the order ``_quarto.yml`` lists them."""

    pre_render: tuple[str, ...] = ()
    post_render: tuple[str, ...] = ()


def _script_list(value: Any, key: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value or []
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise RenderError(f"_quarto.yml: project.{key} must be a script path or a list of them")
    return tuple(items)


def read_hooks(root: Path, config: dict[str, Any]) -> Hooks:
    """``project.pre-render`` / ``project.post-render`` of ``_quarto.yml``; each must be a ``.py`` file."""
    project = config.get("project") or {}
    hooks = Hooks(_script_list(project.get("pre-render"), "pre-render"),
                  _script_list(project.get("post-render"), "post-render"))
    for key, scripts in (("pre-render", hooks.pre_render), ("post-render", hooks.post_render)):
        for script in scripts:
            if not script.endswith(".py"):
                raise RenderError(f"_quarto.yml: project.{key}: {script!r}: only Python scripts (.py) are supported "
                                  "by ipsreport render (shell commands and other languages run only under Quarto)")
            if not (root / script).is_file():
                raise RenderError(f"_quarto.yml: project.{key}: {script} does not exist")
    return hooks


def read_config(root: Path) -> dict[str, Any]:
    path = Path(root) / "_quarto.yml"
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise RenderError(f"{root}: no _quarto.yml") from None
    except OSError as e:
        raise RenderError(f"{path}: cannot read it ({e.strerror})") from None
    except UnicodeDecodeError as e:
        raise RenderError(f"_quarto.yml: not UTF-8 text (byte {e.start}); save it as UTF-8") from None
    except yaml.YAMLError as e:
        raise RenderError(f"_quarto.yml: invalid YAML: {e}") from None
    if not isinstance(config, dict):
        raise RenderError("_quarto.yml: expected a mapping of options (project:, book:, format: …)")
    return config


@dataclass
class RenderContext:
    """What a backend needs: where the project is, where to write, and the summary to fill in."""

    root: Path
    config: dict[str, Any]
    chapters: list[tuple[str, bool]]  # (path relative to the project, has code) in book order
    formats: list[str]  # html, pdf, docx
    use_cache: bool
    target: Path  # the final output folder
    out: Path  # the temporary output folder the backend writes
    work: Path  # private scratch folder, removed after the render
    summary: RenderSummary
    console: Any = None
    env: dict[str, str] = field(default_factory=dict)  # variables every process of the render gets

    @property
    def results_dir(self) -> Path:
        """Where chapters' registered values arrive (one JSON object per chapter file)."""
        return self.work / "chapter-results"


class Backend(Protocol):
    """A backend may also have ``prepare(ctx)``, called before the pre-render scripts run (work that can overlap
    them, e.g. starting processes), and ``finish()``, called when the render ends, however it ends."""

    name: str

    def chapters(self, root: Path, config: dict[str, Any]) -> tuple[str, list[tuple[str, bool]]]:
        """The output-dir and the book's chapters ``(path, has_code)``; raise RenderError on a bad project."""

    def render(self, ctx: RenderContext) -> dict[str, Path | None]:
        """Execute the chapters and write ``ctx.formats`` into ``ctx.out``; return each chapter's results file."""


def _hook_env(ctx: RenderContext, stage: str) -> dict[str, str]:
    env = {**os.environ, **ctx.env,
           "QUARTO_PROJECT_RENDER_ALL": "1",
           "QUARTO_PROJECT_OUTPUT_DIR": str(ctx.out),
           "QUARTO_PROJECT_INPUT_FILES": "\n".join(p for p, _ in ctx.chapters),
           "IPSREPORT_RENDER_STAGE": stage}
    env.pop("IPSREPORT_PIPELINE", None)  # the pipeline itself runs the script: do the work
    if stage == "post-render":
        env["QUARTO_PROJECT_OUTPUT_FILES"] = "\n".join(
            str(p) for p in sorted(ctx.out.rglob("*")) if p.is_file())
        env["IPSREPORT_PREVIOUS_OUTPUT_DIR"] = str(ctx.target)
        env["IPSREPORT_CHAPTER_RESULTS"] = str(ctx.work / "chapter-results.json")
        env["IPSREPORT_CHANGES_FILE"] = str(ctx.work / CHANGES_FILE)
    return env


def _run_hooks(ctx: RenderContext, stage: str, scripts: tuple[str, ...]) -> None:
    for script in scripts:
        proc = subprocess.run([sys.executable, script], cwd=ctx.root, env=_hook_env(ctx, stage),
                              capture_output=True, text=True, errors="replace")
        output = (proc.stdout + proc.stderr).strip()
        if proc.returncode != 0:
            raise HookError(f"{script} ({stage} script of _quarto.yml) failed (exit {proc.returncode})"
                            + (f":\n{output}" if output else " without a message"),
                            exit_code=proc.returncode if 0 < proc.returncode < 126 else 2)
        if output and ctx.console is not None:
            ctx.console.print(output, markup=False, highlight=False)


def _load_object(path: Path, what: str) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise RenderError(f"{what} {path}: not readable JSON ({e})") from None
    if not isinstance(value, dict):
        raise RenderError(f"{what} {path}: not a JSON object")
    return value


def _write_chapter_results(ctx: RenderContext, files: dict[str, Path | None], extra: list[Path]) -> None:
    listing = {
        "chapters": [{"path": p, "has_code": code, "results": str(files[p]) if files.get(p) else None}
                     for p, code in ctx.chapters],
        "extra": [str(p) for p in extra],
    }
    (ctx.work / "chapter-results.json").write_text(json.dumps(listing, indent=1), encoding="utf-8")


def _merge_plain(ctx: RenderContext, files: dict[str, Path | None]) -> None:
    """No post-render script: merge the chapters' values; a key with two different values is an error. Keys
    starting with ``_`` are a chapter's own blocks (its name, its printed forms), not results, and are left out."""
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for chapter, path in files.items():
        if path is None:
            continue
        for key, value in _load_object(path, "results of").items():
            if key.startswith("_"):
                continue
            if key in merged and merged[key] != value:
                raise RenderError(f"results.json: {key!r} registered with different values in {origin[key]} "
                                  f"and {chapter}")
            merged[key], origin[key] = value, chapter
    (ctx.out / RESULTS_FILE).write_text(json.dumps(dict(sorted(merged.items())), indent=1) + "\n", encoding="utf-8")


def diff_values(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """Top-level keys whose value changed, appeared or disappeared (``_``-prefixed blocks are not results)."""
    changed = []
    for key in sorted((set(old) | set(new))):
        if key.startswith("_"):
            continue
        a, b = old.get(key), new.get(key)
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b))
        if (numbers and math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)) or (not numbers and a == b):
            continue
        changed.append((key, a, b))
    return changed


@dataclass(frozen=True)
class ProjectChanges:
    """A post-render script's comparison with the previous render (see :func:`read_changes_file`)."""

    changed: list[tuple[str, str | None, str | None]]  # the first MAX_CHANGES_READ (key, old, new) texts
    count: int  # how many changed in all
    first: bool  # nothing to compare with
    report: Path | None  # relative to the output folder


def read_changes_file(path: Path) -> ProjectChanges | None:
    """The comparison a post-render script wrote for the summary, or None when it wrote none.

    The file is a JSON object ``{"changed": [[key, old, new], …], "first": bool, "report": "changes.md"}``:
    ``old``/``new`` are the texts to show (null when absent on that side), ``first`` says there was nothing to
    compare with, and ``report`` (optional) names a file of the output folder that lists every change. At most
    :data:`MAX_CHANGES_READ` entries and :data:`MAX_TEXT_READ` characters of each text are kept (the count is
    of all entries); a file that does not follow this shape is an error naming it."""
    if not path.is_file():
        return None
    content = _load_object(path, "the post-render comparison")
    changed = content.get("changed", [])
    if not isinstance(changed, list) or not all(
            isinstance(c, list) and len(c) == 3 and isinstance(c[0], str)
            and all(v is None or isinstance(v, str) for v in c[1:]) for c in changed[:MAX_CHANGES_READ]):
        raise RenderError(f"the post-render comparison {path}: `changed` must be a list of [key, old, new] texts")
    rows = [(k[:MAX_TEXT_READ], *(None if v is None else v[:MAX_TEXT_READ] for v in (a, b)))
            for k, a, b in changed[:MAX_CHANGES_READ]]
    report = content.get("report")
    where = None
    if isinstance(report, str) and report:
        relative = Path(report[:MAX_TEXT_READ])
        if relative.is_absolute() or ".." in relative.parts:
            raise RenderError(f"the post-render comparison {path}: `report` must be a path inside the output folder")
        where = relative
    return ProjectChanges(rows, len(changed), bool(content.get("first", False)), where)


def _format_of(relative: Path) -> str | None:
    """Which format wrote a file of the output: pdf, docx, html (pages, figures, site files); None for
    results.json (every render writes it)."""
    if relative.suffix == ".pdf":
        return "pdf"
    if relative.suffix == ".docx":
        return "docx"
    if relative.name == RESULTS_FILE and len(relative.parts) == 1:
        return None
    return "html"


def _keep_other_formats(target: Path, out: Path, formats: list[str]) -> None:
    """As Quarto does, a render of some formats keeps the previous render's files of the other formats."""
    if not target.is_dir():
        return
    for path in target.rglob("*"):
        relative = path.relative_to(target)
        fmt = _format_of(relative)
        if path.is_file() and fmt is not None and fmt not in formats and not (out / relative).exists():
            (out / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, out / relative)


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def run_pipeline(project_dir: Path, backend: Backend, formats: list[str], use_cache: bool = True,
                 force: bool = False, console=None) -> RenderSummary:
    """Render ``project_dir`` with ``backend``; the previous output is replaced only by a complete new one."""
    start = time.perf_counter()
    root = Path(project_dir).resolve()
    config = read_config(root)
    hooks = read_hooks(root, config)
    output_dir, chapters = backend.chapters(root, config)
    target = _swap.check_output_dir(root, output_dir, force=force)
    summary = RenderSummary(output_dir=target, engine=backend.name)
    with render_lock(root):
        restored = _swap.recover(root, target)
        if restored:
            summary.notes.append(restored)
        _swap.clean_stale(root, target)
        work = _swap.work_dir(root)
        out: Path | None = None
        try:
            out = _swap.new_output_dir(root, target)
            ctx = RenderContext(root=root, config=config, chapters=chapters, formats=formats, use_cache=use_cache,
                                target=target, out=out, work=work, summary=summary, console=console,
                                env={"IPSREPORT_PROJECT_DIR": str(root), "IPSREPORT_PIPELINE": "1",
                                     "IPSREPORT_ENGINE": backend.name,
                                     # --no-cache: the project's scripts must not reuse remembered work either
                                     **({} if use_cache else {"IPSREPORT_NO_CACHE": "1"})})
            ctx.results_dir.mkdir(parents=True)
            prepare = getattr(backend, "prepare", None)
            if prepare is not None:
                prepare(ctx)  # e.g. start slow preparations that run while the pre-render scripts do
            _run_hooks(ctx, "pre-render", hooks.pre_render)  # before any chapter runs
            files = backend.render(ctx)
            claimed = {p for p in files.values() if p is not None}
            extra = sorted(p for p in ctx.results_dir.glob("*.json") if p not in claimed)
            _write_chapter_results(ctx, files, extra)
            if hooks.post_render:
                _run_hooks(ctx, "post-render", hooks.post_render)
            else:
                _merge_plain(ctx, files)
            if not (out / RESULTS_FILE).is_file():
                raise RenderError(f"the post-render script(s) {', '.join(hooks.post_render)} wrote no {RESULTS_FILE}")
            new_results = _load_object(out / RESULTS_FILE, "the new")
            old_results: dict[str, Any] = {}
            if (target / RESULTS_FILE).is_file():
                try:
                    old_results = json.loads((target / RESULTS_FILE).read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    summary.notes.append(f"the previous {RESULTS_FILE} was unreadable; no comparison")
            old_results = old_results if isinstance(old_results, dict) else {}
            summary.first_results = not old_results
            summary.changed_results = diff_values(old_results, new_results)
            project_changes = read_changes_file(work / CHANGES_FILE)
            report = None
            if project_changes is not None:
                summary.changed_results, summary.first_results = project_changes.changed, project_changes.first
                summary.changed_count, report = project_changes.count, project_changes.report
            _keep_other_formats(target, out, formats)
            _swap.swap_into_place(root, out, target)
            out = None
            if report is not None and (target / report).is_file():
                summary.change_report = target / report
        except OSError as e:
            where = e.filename or "a file"
            hint = (" Make the project, its .ipsreport-cache/ and the output folder writable."
                    if isinstance(e, PermissionError) or e.errno == errno.EROFS else "")
            raise RenderError(f"{where}: {e.strerror or e}; {target.name}/ was left as it was.{hint}") from None
        finally:
            finish = getattr(backend, "finish", None)
            if finish is not None:
                finish()
            if out is not None:
                shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(work, ignore_errors=True)
    summary.files = sorted((_shown(p, root), p.stat().st_size) for p in target.rglob("*") if p.is_file())
    summary.elapsed = time.perf_counter() - start
    return summary


def write_chapter_results(results_dir: Path, chapters: list[tuple[str, str, dict[str, Any]]]) -> dict[str, Path | None]:
    """Write each chapter's registered values (``(path, slug, values)``) as ``<slug>.json`` in ``results_dir``;
    the map from chapter path to its file (None for a chapter that registered nothing) is what a backend's
    ``render`` returns."""
    files: dict[str, Path | None] = {}
    for path, slug, values in chapters:
        if values:
            target = results_dir / f"{slug}.json"
            target.write_text(json.dumps(values), encoding="utf-8")
            files[path] = target
        else:
            files[path] = None
    return files
