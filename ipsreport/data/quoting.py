"""How text from data files is quoted in messages for a terminal: control and formatting characters
escaped, length capped.

A data value reaches the terminal through validation messages. An escape sequence in a cell could clear
the screen or forge a line of output, a bidirectional override could reorder what a reader sees, and a very
long cell could bury every other message; so every piece of data text in a message passes through
:func:`escape_controls` (and :func:`shorten` where a value is quoted). Messages are then written as plain
text, never through a markup or emoji formatter (see ``ipsreport.cli``).
"""

from __future__ import annotations

__all__ = ["MAX_QUOTED_CHARS", "escape_controls", "shorten", "quoted"]

MAX_QUOTED_CHARS = 60
"""How many characters of a data value a message quotes (the rest is replaced by ``…``)."""


def _escaped(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def escape_controls(text: str) -> str:
    """``text`` with every non-printable character (C0/C1 controls such as ESC, DEL, line and paragraph
    separators, bidirectional and other format characters, unassigned code points) written as a Python-style
    escape (``\\x1b``, ``\\u202e``), and backslashes doubled so an escape in the data cannot pass for one
    made here. Ordinary spaces and printable non-ASCII letters (``Ærø``) are kept."""
    if text.isprintable() and "\\" not in text:
        return text
    return "".join("\\\\" if ch == "\\" else ch if ch == " " or ch.isprintable() else _escaped(ch) for ch in text)


def shorten(text: str, limit: int = MAX_QUOTED_CHARS) -> str:
    """The first ``limit`` characters of ``text`` (the last one replaced by ``…`` when cut)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quoted(value: object, limit: int = MAX_QUOTED_CHARS) -> str:
    """A data value as a message shows it: shortened, control characters escaped, in quotes (single unless
    the value holds a single quote and no double one, as Python's ``repr`` does)."""
    text = escape_controls(shorten(str(value), limit))
    mark = '"' if "'" in text and '"' not in text else "'"
    return mark + text + mark
