"""Command-line entry point: ``ipsreport render | validate | synthesize``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Render and check the IPS trial report.")
console = Console(stderr=True)

FORMATS = ("html", "pdf", "docx")

ProjectDir = Annotated[
    Path, typer.Option("--project-dir", "-C", help="Folder holding _quarto.yml.", file_okay=False, exists=True)
]


def _parse_formats(value: str) -> list[str]:
    formats = [f.strip().lower() for f in value.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise typer.BadParameter(f"formats must be a comma-separated subset of {', '.join(FORMATS)}; got {value!r}")
    return formats


@app.command()
def render(
    to: Annotated[str, typer.Option("--to", help="Comma-separated formats: html,pdf,docx.")] = "html,pdf,docx",
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Re-execute every chapter.")] = False,
    engine: Annotated[str, typer.Option("--engine", help="auto, quarto or builtin.")] = "auto",
    force: Annotated[bool, typer.Option("--force", help="Replace an output folder that holds no results.json "
                                        "of an earlier render.")] = False,
    project_dir: ProjectDir = Path("."),
    profile: Annotated[str | None, typer.Option("--profile", help="Quarto profile: `manuscript` renders the "
                                                "journal manuscript to _manuscript/.")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="With --profile manuscript: fail while a required "
                                         "checklist item is not reported or a placeholder is left.")] = False,
) -> None:
    """Render the book to _book/ (HTML pages, PDF, DOCX and results.json), or with --profile manuscript the
    journal manuscript to _manuscript/."""
    if profile is not None:
        _render_profile(profile, strict, no_cache, force, project_dir)
        return
    from ipsreport.render import RenderError
    from ipsreport.render.engine import print_summary, render_book
    from ipsreport.render.lock import RenderBusy

    if engine not in ("auto", "quarto", "builtin"):
        raise typer.BadParameter("--engine must be auto, quarto or builtin")
    try:
        summary = render_book(project_dir.resolve(), formats=_parse_formats(to), use_cache=not no_cache,
                              engine=engine, console=console, force=force)
    except RenderBusy as err:
        console.print(str(err), highlight=False, markup=False)
        raise typer.Exit(2) from None
    except RenderError as err:
        console.print("[bold red]Render failed; the previous output was left as it was.[/]")
        console.print(str(err), highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    print_summary(summary, console)


@app.command()
def validate(
    data_dir: Annotated[Path, typer.Option("--data-dir", help="The data/ folder.")] = Path("data"),
) -> None:
    """Check every data file against the data dictionary; report all problems at once (exit code 2)."""
    from ipsreport.data.validate import format_problems, validate_data_dir

    problems = validate_data_dir(data_dir)
    if problems:
        console.print(format_problems(problems), highlight=False, markup=False, soft_wrap=True)
        console.print(f"[bold red]{len(problems)} problem(s) found.[/]")
        raise typer.Exit(2)
    console.print(f"[green]All data files in {data_dir} are valid.[/]")


@app.command()
def synthesize(
    data_dir: Annotated[Path, typer.Option("--data-dir", help="The data/ folder.")] = Path("data"),
) -> None:
    """Regenerate the reconstructed (synthetic) data from the published targets in data/published/."""
    from ipsreport.synth import synthesize_all

    for path in synthesize_all(data_dir):
        console.print(f"wrote {path}")


if __name__ == "__main__":  # pragma: no cover
    app()


def _render_profile(profile: str, strict: bool, no_cache: bool, force: bool, project_dir: Path) -> None:
    """``render --profile NAME``: the manuscript profile is rendered by the manuscript backend through the same
    pipeline (lock, pre-/post-render scripts, atomic swap)."""
    from ipsreport.render import RenderError
    from ipsreport.render.engine import print_summary
    from ipsreport.render.lock import RenderBusy
    from ipsreport.render.manuscript import ManuscriptBackend
    from ipsreport.render.pipeline import run_pipeline

    try:
        summary = run_pipeline(project_dir.resolve(), ManuscriptBackend(profile, strict=strict),
                               ["pdf", "docx"], use_cache=not no_cache, force=force, console=console)
    except RenderBusy as err:
        console.print(str(err), highlight=False, markup=False)
        raise typer.Exit(2) from None
    except RenderError as err:
        console.print("[bold red]Render failed; the previous output was left as it was.[/]")
        console.print(str(err), highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    print_summary(summary, console)
