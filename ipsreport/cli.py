"""Command-line entry point: ``ipsreport render | validate | synthesize | preview``."""

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
) -> None:
    """Render the book to _book/ (HTML pages, PDF, DOCX and results.json)."""
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
    scale: Annotated[int, typer.Option("--scale", min=1, help="Write a K-times larger copy of the reconstruction "
                                       "in --source to --data-dir instead (IDs two digits wider).")] = 1,
    source: Annotated[Path, typer.Option("--source", help="With --scale: the data folder to enlarge.")] = Path("data"),
) -> None:
    """Regenerate the reconstructed (synthetic) data from the published targets in data/published/."""
    if scale > 1 or source.resolve() != data_dir.resolve():
        _synthesize_scaled(source, data_dir, scale)
        return
    from ipsreport.synth import synthesize_all

    for path in synthesize_all(data_dir):
        console.print(f"wrote {path}")


def _synthesize_scaled(source: Path, data_dir: Path, scale: int) -> None:
    from ipsreport.synth.scale import scale_data

    try:
        written = scale_data(source, data_dir, scale)
    except ValueError as err:
        console.print(f"[bold red]{err}[/]", highlight=False)
        raise typer.Exit(2) from None
    console.print(f"wrote a {scale}x copy of {source} to {data_dir} ({len(written)} files changed)")


@app.command()
def preview(
    port: Annotated[int, typer.Option("--port", help="Port to serve on.")] = 4848,
    host: Annotated[str | None, typer.Option(
        "--host", help="Interface to serve on (default 127.0.0.1; another interface only when named here).")] = None,
    browser: Annotated[bool, typer.Option("--browser/--no-browser", help="Open the preview in a browser.")] = True,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Serve the book's HTML and re-render what changed on every save (Ctrl+C stops)."""
    from ipsreport.render.lock import RenderBusy
    from ipsreport.render.preview import is_loopback, serve_preview

    address = host or "127.0.0.1"
    if host is not None and not is_loopback(host):
        console.print(f"[yellow]Serving on {host}: anyone who can reach this interface can read the book.[/]")
    try:
        serve_preview(project_dir.resolve(), port=port, host=address, open_browser=browser, console=console)
    except RenderBusy as err:
        console.print(str(err), highlight=False, markup=False)
        raise typer.Exit(2) from None
    except OSError as err:
        console.print(f"[bold red]Cannot serve on {address}:{port}: {err.strerror or err}[/]")
        raise typer.Exit(2) from None


if __name__ == "__main__":  # pragma: no cover
    app()
