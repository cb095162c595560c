"""Quarto's rule for printing the value of an inline `` `{python} expr` `` into the markdown.

Read from quarto-cli 1.11.0 (``jupyter-inline.ts`` is unchanged since 1.4; ``display-data.ts`` moved
``text/latex`` first for LaTeX output in 1.10.9, a type this engine rejects anyway): the kernel evaluates each expression as a Jupyter
*user expression* (``src/resources/jupyter/notebook.py``, ``cell_execute_inline``), i.e. IPython formats
the value into a MIME bundle exactly as it formats a cell's result. ``src/core/jupyter/display-data.ts``
(``displayDataMimeType``) picks one type of that bundle and ``src/core/jupyter/jupyter-inline.ts``
(``resolveUserExpressions``, ``asEscapedMarkdown``) turns it into markdown:

- ``text/markdown`` (e.g. an ``IPython.display.Markdown``) is inserted as it is;
- ``text/plain`` (the ``repr``: ``np.int64(8)`` for a NumPy integer, ``'text'`` for a string) is inserted as
  it is, except that a value wrapped in single or double quotes loses them and has its backslashes doubled
  and the characters ``\\ ` * _ { } [ ] ( ) > # + , - . !`` backslash-escaped (Quarto's character class
  ``[\\`*_{}\\[\\]()>#+-.!]`` holds the range ``+-.``, hence the comma);
- a result that is empty leaves the expression's source in the text (``src/core/execute-inline.ts``).

Quarto picks ``text/html`` (HTML formats), ``text/latex`` or an image before those two depending on the
output format. The built-in engine writes one markdown for all formats, so a value offering such a type is
rejected instead of being printed one way in every format.
"""

from __future__ import annotations

import re
from typing import Any

from . import RenderError

__all__ = ["quarto_inline_markdown", "quarto_escaped_plain"]

# Types Quarto would prefer over text/markdown and text/plain in at least one output format.
_FORMAT_DEPENDENT = (
    "text/html", "text/latex", "image/svg+xml", "image/png", "image/jpeg", "application/pdf",
    "application/javascript", "application/vnd.jupyter.widget-state+json",
    "application/vnd.jupyter.widget-view+json",
)
_QUARTO_ESCAPED = re.compile(r"([\\`*_{}\[\]()>#+,\-.!])")


def quarto_escaped_plain(text: str) -> str:
    """``asEscapedMarkdown``: strip one pair of enclosing quotes and escape; any other text unchanged."""
    quoted = len(text) >= 1 and (
        (text.startswith("'") and text.endswith("'")) or (text.startswith('"') and text.endswith('"'))
    )
    if not quoted:
        return text
    # Both steps as Quarto does them: backslashes are doubled, then every backslash is escaped once more.
    inner = text[1:-1].replace("\\", "\\\\")
    return _QUARTO_ESCAPED.sub(r"\\\1", inner)


def _joined(data: Any) -> str:
    return "".join(map(str, data)) if isinstance(data, list) else str(data)


def quarto_inline_markdown(bundle: dict[str, Any], expr: str, where: str) -> str:
    """The markdown Quarto puts in place of `` `{python} expr` `` given the value's MIME ``bundle``.

    ``where`` (file and line) prefixes the error raised for a value whose rendering depends on the format.
    """
    offered = [m for m in _FORMAT_DEPENDENT if m in bundle]
    if offered:
        raise RenderError(
            f"{where}: inline expression `{expr}` returns a value displayed as {offered[0]}, which Quarto prints "
            "differently per output format; return a str, a number or IPython.display.Markdown"
        )
    if "text/markdown" in bundle:
        result = _joined(bundle["text/markdown"])
    elif "text/plain" in bundle:
        result = quarto_escaped_plain(_joined(bundle["text/plain"]))
    else:
        result = ""
    return result if result else f"`{{python}} {expr}`"
