"""Text from data into the book's markdown as literal text: the one escaping path.

A string read from ``data/`` (a job sector, a data set's notice) must print as the characters it holds in
every format, never as markdown, raw HTML/Typst/OpenXML, a link or an image. Inline expressions that return
a ``str`` are escaped by Quarto's inline rule, which leaves ``<``, ``&``, ``$``, ``@`` and line breaks alone;
so data strings reach the prose as an ``IPython.display.Markdown`` built here, in which *every* ASCII
punctuation character is backslash-escaped (pandoc's ``all_symbols_escapable``: an escaped symbol is always
literal) and line breaks and other control characters become spaces. Each string goes through one escaping
only: a ``Markdown`` value is inserted as it is by Quarto and by the built-in engine.
"""

from __future__ import annotations

import re
import string

from IPython.display import Markdown

__all__ = ["escape_markdown", "literal", "markdown_of"]

_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")


def escape_markdown(text: object) -> str:
    """``text`` as pandoc markdown that reads back as exactly these characters (control characters → space)."""
    return _PUNCTUATION.sub(r"\\\1", _CONTROL.sub(" ", str(text)))


def literal(text: object) -> Markdown:
    """An inline value that prints ``text`` literally (use for any string that comes from data)."""
    return Markdown(escape_markdown(text))


def markdown_of(template: str, **pieces: object) -> Markdown:
    """Markdown written in the package (``template``, with ``{name}`` fields) holding escaped ``pieces``.

    Only ``template`` may carry markup; every piece is escaped with :func:`escape_markdown`.
    """
    return Markdown(template.format(**{name: escape_markdown(value) for name, value in pieces.items()}))
