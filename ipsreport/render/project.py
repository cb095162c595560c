"""Read and check ``_quarto.yml`` of a book project: the supported subset, everything else is an error."""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import RenderError

# The options the built-in engine understands. Anything else in _quarto.yml is an error, never dropped.
SUPPORTED_TOP = {"project", "book", "bibliography", "csl", "execute", "fig-dpi", "fig-width", "fig-height", "fig-format",
                 "format", "lang", "filters",
                 "author", "keywords", "ipsreport"}
# pre-render/post-render are run by the render pipeline (pipeline.py); render lists what Quarto renders, which
# for the built-in engine is always the book's chapters.
SUPPORTED_PROJECT = {"type", "output-dir", "execute-dir", "render", "pre-render", "post-render"}
SUPPORTED_BOOK = {"title", "subtitle", "author", "date", "chapters", "appendices", "abstract", "downloads", "output-file",
                  "sidebar"}
SUPPORTED_SIDEBAR = {"tools"}  # links (href, text; icon ignored) listed under the chapters
SUPPORTED_DOWNLOADS = ("pdf", "docx")
SUPPORTED_EXECUTE = {"echo", "warning", "message", "output", "include"}
_FIGURE_OPTIONS = {"fig-format", "fig-dpi"}
SUPPORTED_FORMAT = {
    "html": {"toc", "number-sections"} | _FIGURE_OPTIONS,
    "typst": {"toc", "number-sections", "papersize", "citeproc"} | _FIGURE_OPTIONS,
    "docx": {"toc", "number-sections", "reference-doc"} | _FIGURE_OPTIONS,
}
# Quarto's default figure format per output format (src/format/formats-shared.ts: html "retina", every other
# format "png"; src/format/typst/format-typst.ts: "svg"); the built-in engine knows these three.
DEFAULT_FIG_FORMAT = {"html": "retina", "typst": "svg", "docx": "png"}
FIG_FORMATS = ("png", "retina", "svg")
FORMAT_ALIASES = {"pdf": "typst"}  # the CLI says "pdf", _quarto.yml says "typst"


@dataclass(frozen=True)
class Chapter:
    """One source file of the book, in reading order."""

    path: str  # relative to the project, posix
    kind: str  # "front" (index.qmd), "chapter" or "appendix"; numbers are given by crossref (unnumbered
    # chapters such as References take none)
    slug: str  # output page name without extension, unique

    @property
    def page(self) -> str:
        return f"{self.slug}.html"


@dataclass(frozen=True)
class Book:
    root: Path
    title: str
    subtitle: str | None
    authors: list[dict[str, str]]
    date: str | None
    abstract: str | None
    chapters: list[Chapter]
    bibliography: list[str]
    csl: str | None
    execute: dict[str, Any]
    fig_dpi: int
    fig_width: float
    fig_height: float
    formats: dict[str, dict[str, Any]]
    output_dir: str = "_book"
    lang: str = "en"
    output_file: str = "book"  # book.output-file: the PDF and DOCX are <output_file>.pdf / .docx
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def format_options(self, fmt: str) -> dict[str, Any]:
        return dict(self.formats.get(FORMAT_ALIASES.get(fmt, fmt), {}))

    def figure_format(self, fmt: str) -> tuple[str, int]:
        """The figure format (``png``, ``retina`` or ``svg``) and dpi of an output format, resolved as Quarto
        does: the format's own ``fig-format``/``fig-dpi``, else the document's, else Quarto's default."""
        name = FORMAT_ALIASES.get(fmt, fmt)
        opts = self.formats.get(name, {})
        top = self.raw.get("fig-format")
        return str(opts.get("fig-format") or top or DEFAULT_FIG_FORMAT.get(name, "png")), int(opts.get("fig-dpi", self.fig_dpi))

    @property
    def papersize(self) -> str:
        """The book's paper (Typst's ``papersize``, default A4); the DOCX takes the same unless a
        ``reference-doc`` brings its own page setup."""
        return str(self.formats.get("typst", {}).get("papersize") or "a4").lower()


def _unsupported(where: str, keys: set[str], supported: set[str]) -> None:
    extra = sorted(set(keys) - supported)
    if extra:
        raise RenderError(
            f"_quarto.yml: {where} option(s) {', '.join(extra)} not supported by the built-in engine "
            f"(supported: {', '.join(sorted(supported))}); install Quarto or remove them"
        )


def _authors(value: Any) -> list[dict[str, str]]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, str):
            out.append({"name": item})
        elif isinstance(item, dict) and "name" in item:
            # Quarto's author schema: `affiliations` (list of names or {name, ...}) reads as one affiliation
            # line; a placeholder e-mail (to be supplied) is not shown.
            from .frontmatter import normalize_author

            out.append(normalize_author(item))
        else:
            raise RenderError(f"_quarto.yml: book author {item!r} needs a name")
    return out


def _date(value: Any, root: Path, sources: list[Path]) -> str | None:
    if value is None:
        return None
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()[:10]
    if value == "today":
        return _dt.date.today().isoformat()
    if value == "last-modified":
        # The newest chapter source: stable across re-renders of unchanged sources.
        stamps = [p.stat().st_mtime for p in sources if p.exists()]
        return _dt.date.fromtimestamp(max(stamps)).isoformat() if stamps else None
    return str(value)


def _slug(path: str, used: set[str]) -> str:
    stem = Path(path).stem
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-") or "chapter"
    base, n = slug, 2
    while slug in used:
        slug, n = f"{base}-{n}", n + 1
    used.add(slug)
    return slug


# A Lua filter whose effect the built-in engine produces natively says so on its first line; any other filter
# is an error, as the built-in engine runs no Lua.
BUILTIN_FILTER_MARK = "-- ipsreport: the built-in engine does this itself"


def _check_filter(root: Path, entry: object) -> None:
    path = root / str(entry) if isinstance(entry, str) else None
    try:
        first = path.read_text(encoding="utf-8").splitlines()[0] if path else ""
    except (OSError, IndexError):
        first = ""
    if first.strip() != BUILTIN_FILTER_MARK:
        raise RenderError(f"_quarto.yml: filter {entry!r} is not supported by the built-in engine (it runs no Lua "
                          "filters); install Quarto or remove it")


def read_book(project_dir: Path) -> Book:
    """Parse ``_quarto.yml``; raise :class:`RenderError` on anything outside the supported subset."""
    root = Path(project_dir).resolve()
    cfg_path = root / "_quarto.yml"
    if not cfg_path.exists():
        raise RenderError(f"{root}: no _quarto.yml")
    try:
        cfg = yaml.safe_load(cfg_path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise RenderError(f"_quarto.yml: invalid YAML: {e}") from None
    _unsupported("top-level", set(cfg), SUPPORTED_TOP)
    proj = cfg.get("project") or {}
    _unsupported("project", set(proj), SUPPORTED_PROJECT)
    if proj.get("type") != "book":
        raise RenderError("_quarto.yml: the built-in engine renders only `project: type: book`")
    if proj.get("execute-dir", "project") != "project":
        # Chapters always run with the project folder as working directory (Quarto's `execute-dir: project`).
        raise RenderError("_quarto.yml: the built-in engine supports only `execute-dir: project`")
    book = cfg.get("book") or {}
    _unsupported("book", set(book), SUPPORTED_BOOK)
    sidebar = book.get("sidebar") or {}
    if not isinstance(sidebar, dict):
        raise RenderError("_quarto.yml: book sidebar must be a mapping (e.g. `tools:`)")
    _unsupported("book sidebar", set(sidebar), SUPPORTED_SIDEBAR)
    downloads = book.get("downloads") or []
    if not isinstance(downloads, list) or not set(downloads) <= set(SUPPORTED_DOWNLOADS):
        raise RenderError(f"_quarto.yml: book downloads must be a list from {', '.join(SUPPORTED_DOWNLOADS)}")
    execute = cfg.get("execute") or {}
    _unsupported("execute", set(execute), SUPPORTED_EXECUTE)
    formats = cfg.get("format") or {"html": {}}
    if not isinstance(formats, dict):
        formats = {str(f): {} for f in (formats if isinstance(formats, list) else [formats])}
    for name, opts in formats.items():
        if name not in SUPPORTED_FORMAT:
            raise RenderError(f"_quarto.yml: format {name!r} not supported (supported: {', '.join(SUPPORTED_FORMAT)})")
        opts = opts if isinstance(opts, dict) else {}
        formats[name] = opts
        _unsupported(f"format.{name}", set(opts), SUPPORTED_FORMAT[name])
        if opts.get("fig-format", "png") not in FIG_FORMATS:
            raise RenderError(f"_quarto.yml: format.{name}.fig-format must be one of {', '.join(FIG_FORMATS)}")
        if name == "typst" and opts.get("citeproc", True) is not True:
            # The built-in engine always formats citations with citeproc (the CSL of the book).
            raise RenderError("_quarto.yml: format.typst.citeproc must be true")
    if cfg.get("fig-format", "png") not in FIG_FORMATS:
        raise RenderError(f"_quarto.yml: fig-format must be one of {', '.join(FIG_FORMATS)}")
    for name, opts in formats.items():
        ref = opts.get("reference-doc")
        if ref is not None and not (root / str(ref)).is_file():
            raise RenderError(f"_quarto.yml: format.{name}.reference-doc {ref} does not exist")
    for entry in cfg.get("filters") or []:
        _check_filter(root, entry)

    used: set[str] = set()
    chapters: list[Chapter] = []
    for entry in book.get("chapters") or []:
        if not isinstance(entry, str):
            raise RenderError(f"_quarto.yml: chapter entry {entry!r} not supported (parts are not); list .qmd files")
        if not entry.endswith(".qmd"):
            raise RenderError(f"_quarto.yml: chapter {entry} is not a .qmd file")
        if not chapters and Path(entry).name == "index.qmd":
            chapters.append(Chapter(entry, "front", "index"))
            used.add("index")
            continue
        chapters.append(Chapter(entry, "chapter", _slug(entry, used)))
    if not chapters or chapters[0].kind != "front":
        raise RenderError("_quarto.yml: book chapters must start with index.qmd")
    for entry in book.get("appendices") or []:
        if not isinstance(entry, str) or not entry.endswith(".qmd"):
            raise RenderError(f"_quarto.yml: appendix entry {entry!r} must be a .qmd file")
        chapters.append(Chapter(entry, "appendix", _slug(entry, used)))
    for ch in chapters:
        if not (root / ch.path).exists():
            raise RenderError(f"_quarto.yml: chapter file {ch.path} does not exist")

    listed = proj.get("render")
    if listed is not None:
        listed = [listed] if isinstance(listed, str) else list(listed)
        absent = [ch.path for ch in chapters if ch.path not in listed]
        if absent:
            raise RenderError(f"_quarto.yml: project.render leaves out {', '.join(absent)}; Quarto would not render "
                              "them. List every chapter and appendix.")
    output_file = str(book.get("output-file") or "book")
    if "/" in output_file or output_file.startswith("."):
        raise RenderError("_quarto.yml: book.output-file must be a plain file name without extension")
    bib = cfg.get("bibliography") or []
    bib = [bib] if isinstance(bib, str) else list(bib)
    for b in bib:
        if not (root / b).exists():
            raise RenderError(f"_quarto.yml: bibliography {b} does not exist")
    csl = cfg.get("csl")
    if csl and not (root / csl).exists():
        # The book may point at the CSL shipped with this package.
        shipped = Path(__file__).parent / "csl" / Path(csl).name
        if not shipped.exists():
            raise RenderError(f"_quarto.yml: csl {csl} does not exist")
        csl = str(shipped)
    return Book(
        root=root,
        title=str(book.get("title") or "Untitled"),
        subtitle=book.get("subtitle"),
        # `book.author`, else the project-wide `author` (Quarto's author schema, shared with the manuscript).
        authors=_authors(book.get("author") if book.get("author") is not None else cfg.get("author")),
        date=_date(book.get("date"), root, [root / c.path for c in chapters]),
        abstract=book.get("abstract"),
        chapters=chapters,
        bibliography=bib,
        csl=csl,
        execute={"echo": False, "warning": True, "message": True, "output": True, "include": True, **execute},
        fig_dpi=int(cfg.get("fig-dpi", 96)),
        fig_width=float(cfg.get("fig-width", 7)),
        fig_height=float(cfg.get("fig-height", 5)),
        formats=formats,
        output_dir=str(proj.get("output-dir", "_book")),
        lang=str(cfg.get("lang", "en")),
        output_file=output_file,
        raw=cfg,
    )


def read_notice(root: Path) -> str | None:
    """The synthetic-data notice: the ``notice`` of every ``data/*/dataset.yaml`` that says ``synthetic: true``
    (in folder order), or None when no data set is synthetic."""
    notices = []
    for path in sorted((Path(root) / "data").glob("*/dataset.yaml")):
        try:
            meta = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise RenderError(f"{path.relative_to(root)}: invalid YAML: {e}") from None
        if meta.get("synthetic"):
            notices.append(str(
                meta.get("notice")
                or "The data in this report are a synthetic reconstruction generated from published summary "
                "statistics, not the trial's participant data. Numbers agree with the publications only approximately."
            ).strip())
    return " ".join(notices) or None