"""Every YAML key the project uses, each with the Quarto reference page that documents it.

The project must stay valid Quarto: ``_quarto.yml``, the profiles ``_quarto-*.yml``, the front matter of the
``.qmd`` files and the cell options (``#|``) may use only keys listed here, and a key is listed only with the
page of Quarto's documentation where it is defined (``tests/test_quarto_keys.py`` checks the project against
this list). Paths are dotted; ``[]`` stands for any item of a list; ``front-matter:`` and ``cell:`` prefix
document and cell options.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

__all__ = ["QUARTO_KEYS", "used_keys", "project_keys", "unknown_keys"]

_REF = "https://quarto.org/docs/reference"
_PROJECT = f"{_REF}/projects/options.html"
_BOOK = f"{_REF}/projects/books.html"
_AUTHORS = "https://quarto.org/docs/journals/authors.html"
_HTML = f"{_REF}/formats/html.html"
_TYPST = f"{_REF}/formats/typst.html"
_DOCX = f"{_REF}/formats/docx.html"
_CELLS = f"{_REF}/cells/cells-jupyter.html"

QUARTO_KEYS: dict[str, str] = {
    "project": _PROJECT, "project.type": _PROJECT, "project.output-dir": _PROJECT,
    "project.execute-dir": _PROJECT, "project.render": _PROJECT, "project.render[]": _PROJECT,
    "project.pre-render": _PROJECT, "project.post-render": _PROJECT,
    "book": _BOOK, "book.title": _BOOK, "book.subtitle": _BOOK, "book.author": _BOOK, "book.date": _BOOK,
    "book.chapters": _BOOK, "book.chapters[]": _BOOK, "book.appendices": _BOOK, "book.appendices[]": _BOOK,
    "book.downloads": _BOOK, "book.downloads[]": _BOOK, "book.output-file": _BOOK, "book.abstract": _BOOK,
    "manuscript": f"{_REF}/projects/manuscripts.html",
    "manuscript.article": f"{_REF}/projects/manuscripts.html",
    "author": _AUTHORS, "author[]": _AUTHORS, "author[].name": _AUTHORS, "author[].email": _AUTHORS,
    "author[].orcid": _AUTHORS, "author[].corresponding": _AUTHORS, "author[].affiliations": _AUTHORS,
    "author[].affiliations[]": _AUTHORS, "author[].affiliations[].id": _AUTHORS,
    "author[].affiliations[].name": _AUTHORS, "author[].affiliation": _AUTHORS,
    "keywords": f"{_HTML}#title-author", "keywords[]": f"{_HTML}#title-author",
    "bibliography": f"{_HTML}#references", "csl": f"{_HTML}#references",
    "execute": f"{_HTML}#execution", "execute.echo": f"{_HTML}#execution", "execute.warning": f"{_HTML}#execution",
    "execute.message": f"{_HTML}#execution", "execute.output": f"{_HTML}#execution",
    "fig-dpi": f"{_HTML}#figures", "fig-width": f"{_HTML}#figures", "fig-height": f"{_HTML}#figures",
    "lang": f"{_HTML}#language",
    "filters": f"{_HTML}#rendering", "filters[]": f"{_HTML}#rendering",
    "number-sections": f"{_HTML}#numbering",
    "crossref": f"{_REF}/metadata/crossref.html", "crossref.chapters": f"{_REF}/metadata/crossref.html",
    "format": f"{_REF}/formats/html.html", "format.html": _HTML, "format.html.toc": f"{_HTML}#table-of-contents",
    "format.html.number-sections": f"{_HTML}#numbering", "format.html.fig-format": f"{_HTML}#figures",
    "format.html.fig-dpi": f"{_HTML}#figures", "format.typst.fig-dpi": f"{_TYPST}#figures",
    "format.docx.fig-format": f"{_DOCX}#figures", "format.docx.fig-dpi": f"{_DOCX}#figures",
    "format.docx.reference-doc": f"{_DOCX}#format-options", "fig-format": f"{_HTML}#figures",
    "cell:fig-alt": f"{_CELLS}#figures",
    "book.sidebar": "https://quarto.org/docs/websites/website-navigation.html#side-navigation",
    "book.sidebar.tools": "https://quarto.org/docs/websites/website-tools.html",
    "book.sidebar.tools[]": "https://quarto.org/docs/websites/website-tools.html",
    "book.sidebar.tools[].icon": "https://quarto.org/docs/websites/website-tools.html",
    "book.sidebar.tools[].href": "https://quarto.org/docs/websites/website-tools.html",
    "book.sidebar.tools[].text": "https://quarto.org/docs/websites/website-tools.html",
    # Project metadata of its own (the modules the built-in engine imports once before forking chapter kernels):
    # Quarto passes unknown keys through as metadata, readable with the meta shortcode, and ignores them otherwise.
    "ipsreport": "https://quarto.org/docs/authoring/variables.html#meta",
    "ipsreport.preload": "https://quarto.org/docs/authoring/variables.html#meta",
    "ipsreport.preload[]": "https://quarto.org/docs/authoring/variables.html#meta",
    "format.typst": _TYPST, "format.typst.papersize": f"{_TYPST}#layout",
    "format.typst.number-sections": f"{_TYPST}#numbering", "format.typst.fig-format": f"{_TYPST}#figures",
    "format.typst.fontsize": f"{_TYPST}#fonts", "format.typst.linestretch": f"{_TYPST}#fonts",
    "format.typst.toc": f"{_TYPST}#table-of-contents", "format.typst.citeproc": f"{_TYPST}#references",
    "format.docx": _DOCX, "format.docx.toc": f"{_DOCX}#table-of-contents",
    "format.docx.number-sections": f"{_DOCX}#numbering",
    "front-matter:title": f"{_HTML}#title-author", "front-matter:abstract": f"{_HTML}#title-author",
    "front-matter:execute": f"{_HTML}#execution",
    "cell:label": f"{_CELLS}#attributes", "cell:echo": f"{_CELLS}#code-output",
    "cell:output": f"{_CELLS}#code-output", "cell:include": f"{_CELLS}#code-output",
    "cell:warning": f"{_CELLS}#code-output", "cell:message": f"{_CELLS}#code-output",
    "cell:tbl-cap": f"{_CELLS}#tables", "cell:fig-cap": f"{_CELLS}#figures",
    "cell:fig-width": f"{_CELLS}#figures", "cell:fig-height": f"{_CELLS}#figures",
}


def used_keys(value: Any, prefix: str = "") -> list[str]:
    """Every key path in ``value`` (mappings recursed, list items as ``[]``), in document order."""
    keys: list[str] = []
    if isinstance(value, Mapping):
        for k, v in value.items():
            path = f"{prefix}.{k}" if prefix else str(k)
            keys.append(path)
            keys += used_keys(v, path)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (Mapping, list)):
                keys += used_keys(item, prefix + "[]")
            elif prefix:
                keys.append(prefix + "[]")
    return list(dict.fromkeys(keys))


_FRONT = re.compile(r"\A---\n(.*?)\n---\n", re.S)
_CELL_OPTION = re.compile(r"^#\|\s*([A-Za-z0-9_-]+)\s*:", re.M)
_CELL = re.compile(r"^```\{python\}\n(.*?)^```", re.S | re.M)


def project_keys(root: Path) -> dict[str, list[str]]:
    """Key paths each project file uses: ``_quarto.yml``, ``_quarto-*.yml`` and every ``.qmd`` of the project
    (front matter and cell options)."""
    root = Path(root)
    found: dict[str, list[str]] = {}
    for path in [root / "_quarto.yml", *sorted(root.glob("_quarto-*.yml"))]:
        found[path.name] = used_keys(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    for path in [*sorted(root.glob("*.qmd")), *sorted((root / "chapters").glob("*.qmd"))]:
        text = path.read_text(encoding="utf-8")
        keys = []
        m = _FRONT.match(text)
        if m:
            keys += [f"front-matter:{k}" for k in (yaml.safe_load(m.group(1)) or {})]
        for cell in _CELL.findall(text):
            keys += [f"cell:{k}" for k in _CELL_OPTION.findall(cell)]
        found[path.relative_to(root).as_posix()] = list(dict.fromkeys(keys))
    return found


def unknown_keys(root: Path) -> list[str]:
    """``file: key`` for every key the project uses that the list does not document."""
    return [f"{name}: {key}" for name, keys in project_keys(root).items() for key in keys if key not in QUARTO_KEYS]
