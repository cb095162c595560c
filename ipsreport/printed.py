"""Printed values that remember their registry key, and sentences built from them.

A :class:`Reported` is one value as a reader sees it (its printed form) together with its key; a :class:`Phrase`
is text and such values printed together. Both print their plain text (``str``, and the plain-text rule for
inline values), and their ``_repr_markdown_`` gives each value a pandoc span ``[38.2]{.reported data-key=…}``,
which Quarto and the built-in engine insert as markdown, so that the HTML can mark a changed number and show its
key on hover.

Wording functions build their sentences with f-strings, which would flatten a value into its text. A function
decorated with :func:`prose` therefore receives each printed value (from :mod:`ipsreport.format` or from
:func:`ipsreport.results.reported`) as its text between two private-use delimiters with the value's index, and
turns the finished sentence back into a :class:`Phrase`. The delimiters exist only while such a function runs
and never leave it (an unmatched delimiter is an error). This module knows nothing of the registry.
"""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass
from typing import Any

__all__ = ["Reported", "Markup", "Phrase", "prose", "in_prose", "md_escape"]

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~^$@:&\"'=])")


def md_escape(text: str) -> str:
    """Backslash-escape markdown punctuation so that a printed form arrives in the text literally."""
    return _MD_SPECIAL.sub(r"\\\1", text)


# The characters Quarto's plain-text rule escapes in a string shown inline (``asEscapedMarkdown``, see
# ``ipsreport/render/inline.py``): the text between a phrase's values is escaped as it would be if the whole
# sentence were a plain string, so that pandoc's smart quotes and dashes treat it exactly as before.
_PLAIN_ESCAPED = re.compile(r"([\\`*_{}\[\]()>#+,\-.!])")


def plain_escape(text: str) -> str:
    """``text`` escaped as Quarto escapes a plain string shown inline."""
    return _PLAIN_ESCAPED.sub(r"\\\1", text)


@dataclass(frozen=True)
class Reported:
    """A registered value as printed in prose: ``key``, ``value``, ``unit`` and ``text`` (its printed form).

    ``str()`` and ``repr()`` give the printed form (what the built-in engine and Quarto's plain-text rule
    insert); ``_repr_markdown_`` gives a pandoc span ``[38.2]{.reported data-key="…"}`` with the text escaped,
    which Quarto inserts as markdown, so that the HTML can mark a changed number and show its key on hover.
    """

    key: str
    value: Any
    unit: str
    text: str

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    def __format__(self, spec: str) -> str:
        return mark(self) if _prose_depth and not spec else format(self.text, spec)

    def _repr_markdown_(self) -> str:
        return f'[{md_escape(self.text)}]{{.reported data-key="{self.key}" title="{self.key}"}}'


class Markup(str):
    """A piece of a :class:`Phrase` that is markdown already (written by the package, data strings escaped):
    it is inserted as it is, where a plain string is escaped."""


@dataclass(frozen=True)
class Phrase:
    """Plain text and :class:`Reported` values printed together (``2.35 (0.95–5.80)``): the same display
    rules, with each value keeping its own span."""

    parts: tuple[Any, ...]

    def __str__(self) -> str:
        return "".join(str(p) for p in self.parts)

    def __repr__(self) -> str:
        return str(self)

    def __format__(self, spec: str) -> str:
        return _marked_text(self) if _prose_depth and not spec else format(str(self), spec)

    def _repr_markdown_(self) -> str:
        return "".join(p._repr_markdown_() if isinstance(p, Reported) else str(p) if isinstance(p, Markup)
                       else plain_escape(str(p)) for p in self.parts)

    @property
    def data(self) -> str:
        """The markdown of the phrase (as :class:`IPython.display.Markdown` has it)."""
        return self._repr_markdown_()


_OPEN, _MID, _CLOSE = "\ue000", "\ue001", "\ue002"
_MARKED = re.compile(f"{_OPEN}(\\d+){_MID}(.*?){_CLOSE}", re.S)
_prose_depth = 0
_pending: list[Reported] = []


def in_prose() -> bool:
    """Whether a :func:`prose` function is running (a printed value then travels as marked text)."""
    return _prose_depth > 0


def _as_phrase(text: str, markdown: bool) -> Phrase:
    """The finished sentence ``text`` as a :class:`Phrase`: each marked value back as its :class:`Reported`, the
    text between as plain text (or as :class:`Markup` when the sentence was Markdown)."""
    parts: list[Any] = []
    at = 0
    for match in _MARKED.finditer(text):
        if match.start() > at:
            parts.append(Markup(text[at:match.start()]) if markdown else text[at:match.start()])
        index = int(match.group(1))
        if index >= len(_pending) or _pending[index].text != match.group(2):
            raise ValueError("a printed value reached a sentence other than the one that printed it")
        parts.append(_pending[index])
        at = match.end()
    if at < len(text):
        parts.append(Markup(text[at:]) if markdown else text[at:])
    if any(ch in str(p) for p in parts if not isinstance(p, Reported) for ch in (_OPEN, _MID, _CLOSE)):
        raise ValueError("a printed value's delimiters were split by the sentence that printed it")
    return Phrase(tuple(parts))


def prose(function):
    """Decorate a wording function whose sentence may print keyed values: a sentence that printed none comes
    back as it was (a string or Markdown); one that did comes back as a :class:`Phrase` with a span per value.
    Called from inside another such function, it hands its caller the marked text instead. A function that
    printed a value must return its sentence (a string, Markdown or a Phrase); anything else is an error, so
    that marked text cannot leave it."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        global _prose_depth
        outermost = _prose_depth == 0
        start = len(_pending)
        _prose_depth += 1
        try:
            result = function(*args, **kwargs)
            if isinstance(result, Phrase):
                return result if outermost else _marked_text(result)
            markdown = _is_markdown(result)
            text = result.data if markdown else result
            if not isinstance(text, str):
                if len(_pending) > start:
                    raise TypeError(f"{function.__name__} printed a value but returned a "
                                    f"{type(result).__name__}, not its sentence")
                return result
            if not outermost or _OPEN not in text:
                return result
            return _as_phrase(text, markdown)
        finally:
            _prose_depth -= 1
            if outermost:
                del _pending[start:]

    return wrapper


def _is_markdown(value: Any) -> bool:
    """Whether ``value`` is an ``IPython.display.Markdown`` (without importing IPython when it is not loaded)."""
    display = sys.modules.get("IPython.display")
    return display is not None and isinstance(value, display.Markdown)


def mark(value: Reported) -> str:
    """Inside a :func:`prose` function: ``value``'s text between the delimiters, after its index among the
    values pending in the sentence."""
    _pending.append(value)
    return f"{_OPEN}{len(_pending) - 1}{_MID}{value.text}{_CLOSE}"


def _marked_text(phrase: Phrase) -> str:
    """``phrase`` as marked text, for the f-string of an enclosing :func:`prose` function."""
    return "".join(mark(p) if isinstance(p, Reported) else str(p) for p in phrase.parts)


