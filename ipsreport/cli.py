"""Command-line entry point: ``ipsreport render | validate | import | synthesize | publish | diff | preview``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Render and check the IPS trial report.")
console = Console(stderr=True, emoji=False)  # ":x:" in a message is text, never an emoji

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


MaxFileMb = Annotated[
    float | None,
    typer.Option("--max-file-mb", help="Read at most this many MB of one data file (default 20, or "
                 "IPSREPORT_MAX_DATA_MB).", min=0.001),
]


def _echo_data_text(text: str) -> None:
    """Write text that quotes data (validation problems) as plain text: never through rich's markup, emoji or
    highlighting, which would turn ``[red]`` or ``:x:`` in a value into formatting. Control characters in
    the values were already escaped by :mod:`ipsreport.data.problems`."""
    typer.echo(text, err=True)


@app.command()
def validate(
    data_dir: Annotated[Path, typer.Option("--data-dir", help="The data/ folder.")] = Path("data"),
    max_file_mb: MaxFileMb = None,
) -> None:
    """Check every data file against the data dictionary; report all problems at once (exit code 2)."""
    from ipsreport.data.validate import format_problems, max_file_bytes, validate_data_dir

    problems = validate_data_dir(data_dir, max_file_bytes(max_file_mb))
    if problems:
        _echo_data_text(format_problems(problems))
        console.print(f"[bold red]{len(problems)} problem(s) found.[/]")
        raise typer.Exit(2)
    console.print(Text(f"All data files in {data_dir} are valid.", style="green"))


@app.command()
def synthesize(
    data_dir: Annotated[Path, typer.Option("--data-dir", help="The data/ folder.")] = Path("data"),
    examples_dir: Annotated[
        Path | None,
        typer.Option("--examples-dir", help="Where the example source files go (default: examples/ next to data/)."),
    ] = None,
    scale: Annotated[int, typer.Option("--scale", min=1, help="Write a K-times larger copy of the reconstruction "
                                       "in --source to --data-dir instead (IDs two digits wider).")] = 1,
    source: Annotated[Path, typer.Option("--source", help="With --scale: the data folder to enlarge.")] = Path("data"),
) -> None:
    """Regenerate the reconstructed (synthetic) data from the published targets in data/published/, and the
    example source files (SPSS, Stata, Excel) that show the sources: mapping of dataset.yaml; with --scale, a
    K-times larger copy of --source instead."""
    if scale > 1 or source.resolve() != data_dir.resolve():
        _synthesize_scaled(source, data_dir, scale)
        return
    from ipsreport.data.validate import DataValidationError, format_problems
    from ipsreport.synth import synthesize_all

    try:
        written = synthesize_all(data_dir, examples_dir)
    except DataValidationError as err:  # the examples are written only from data that validate
        _echo_data_text(format_problems(err.problems))
        console.print(f"[bold red]{len(err.problems)} problem(s) found; the example source files were not written.[/]")
        raise typer.Exit(2) from None
    for path in written:
        console.print(Text(f"wrote {path}"))


@app.command("import")
def import_sources(
    data_dir: Annotated[Path, typer.Option("--data-dir", help="The data/ folder whose dataset.yaml files name sources.")] = Path("data"),
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Write the contract CSV files under this folder (default: --data-dir).")
    ] = None,
    max_file_mb: MaxFileMb = None,
) -> None:
    """Write the contract CSV files from the source files (SPSS, Stata, Excel) that dataset.yaml names.

    Nothing is written unless every dataset validates; then every problem is listed (exit code 2)."""
    from ipsreport.data.import_sources import write_contract_csvs
    from ipsreport.data.validate import DataValidationError, format_problems, max_file_bytes

    try:
        written = write_contract_csvs(data_dir, out_dir, max_file_bytes(max_file_mb))
    except DataValidationError as err:
        _echo_data_text(format_problems(err.problems))
        console.print(f"[bold red]{len(err.problems)} problem(s) found; nothing was written.[/]")
        raise typer.Exit(2) from None
    if not written:
        console.print(Text(f"No dataset.yaml in {data_dir} names a source file; nothing to import."))
    for path in written:
        console.print(Text(f"wrote {path}"))
    if written and out_dir is None:
        console.print(Text("dataset.yaml still names the source files; remove its sources: entries to read the "
                           "CSV files instead."))


publish_app = typer.Typer(no_args_is_help=True, help="Publish the rendered review site (after the guards pass).")
app.add_typer(publish_app, name="publish")

_Message = Annotated[str, typer.Option("--message", "-m", help="What this version is, for the versions page.")]
_Blinded = Annotated[bool, typer.Option("--blinded", help="Publish the blinded render (no author names).")]
_ConfirmReal = Annotated[
    bool, typer.Option("--confirm-real-data", help="Allow publishing when the data are real (synthetic: false).")
]


def _published(result) -> None:
    console.print(f"Published version {result.version['version']} to {result.destination}", highlight=False,
                  markup=False)
    if result.commit:
        console.print(f"commit {result.commit}", highlight=False, markup=False)
    console.print(f"{len(result.added)} file(s) added, {len(result.changed)} changed, {len(result.removed)} removed"
                  " since the previous publish", highlight=False, markup=False)
    for label, names in (("added", result.added), ("changed", result.changed), ("removed", result.removed)):
        for name in names[:20]:
            console.print(f"  {label}: {name}", highlight=False, markup=False)
        if len(names) > 20:
            console.print(f"  … and {len(names) - 20} more {label}", highlight=False, markup=False)
    if result.url:
        console.print(f"The site will appear at {result.url}", highlight=False, markup=False)


def _publish(action) -> None:
    from ipsreport.publish import PublishRefused

    try:
        result = action()
    except PublishRefused as err:
        console.print(f"Not published: {err}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    _published(result)


@publish_app.command("gh-pages")
def publish_gh_pages(
    remote: Annotated[str, typer.Option("--remote", help="The git remote to push to.")] = "origin",
    message: _Message = "",
    blinded: _Blinded = False,
    confirm_real_data: _ConfirmReal = False,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Commit the site to the gh-pages branch (created the first time) and push it."""
    from ipsreport import publish

    _publish(lambda: publish.publish_gh_pages(project_dir.resolve(), remote=remote, message=message or None,
                                              blinded=blinded, confirm_real_data=confirm_real_data))


@publish_app.command("folder")
def publish_folder(
    path: Annotated[Path, typer.Argument(help="A new or empty folder, or one an earlier publish wrote.")],
    message: _Message = "",
    blinded: _Blinded = False,
    confirm_real_data: _ConfirmReal = False,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Copy the site into a plain folder."""
    from ipsreport import publish

    _publish(lambda: publish.publish_folder(project_dir.resolve(), path, message=message or None, blinded=blinded,
                                            confirm_real_data=confirm_real_data))


@publish_app.command("zip")
def publish_zip(
    path: Annotated[Path, typer.Argument(help="The archive to write (.zip).")],
    message: _Message = "",
    blinded: _Blinded = False,
    confirm_real_data: _ConfirmReal = False,
    project_dir: ProjectDir = Path("."),
) -> None:
    """Write the site as one zip archive that opens offline."""
    from ipsreport import publish

    _publish(lambda: publish.publish_zip(project_dir.resolve(), path, message=message or None, blinded=blinded,
                                         confirm_real_data=confirm_real_data))


@app.command("diff")
def diff(
    old: Annotated[Path, typer.Argument(help="The earlier results.json.", dir_okay=False)],
    new: Annotated[Path, typer.Argument(help="The later results.json.", dir_okay=False)],
) -> None:
    """Compare two results.json files as the change report does: printed values, grouped by chapter."""
    import json

    from ipsreport.changes import compare_results, report_text

    loaded = []
    for path in (old, new):
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as err:
            console.print(f"{path}: not a readable results.json ({type(err).__name__}: {err})"[:500],
                          highlight=False, markup=False)
            raise typer.Exit(2) from None
        if not isinstance(content, dict):
            console.print(f"{path}: not a results.json (expected an object of keys and values)", markup=False)
            raise typer.Exit(2)
        loaded.append(content)
    typer.echo(report_text(compare_results(*loaded)))


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
