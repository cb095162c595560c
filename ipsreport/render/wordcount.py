"""Word counts the way journals count them: abstract and main text, from the rendered text.

A word is a whitespace-separated token holding at least one letter or digit ("12-month", "P", "0.336" and
"IPS" count; a lone "–" or "=" does not). The main text runs from the first heading after the abstract up to
the declarations or the references; headings, tables, figure and table captions and the references are not
counted, as journals ask. The counts come from the paragraphs of the rendered DOCX (the same text a reader
gets), see :func:`docx_paragraphs`.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Paragraph", "WordCounts", "count_words", "docx_paragraphs", "journal_word_counts"]

_WORD = re.compile(r"[^\W_]", re.UNICODE)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def count_words(text: str) -> int:
    return sum(1 for token in text.split() if _WORD.search(token))


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of a rendered document."""

    style: str  # the paragraph style id ("Heading1", "BodyText", "TableCaption", …); "" when none
    text: str
    in_table: bool = False


def docx_paragraphs(path: str | Path) -> list[Paragraph]:
    """The body paragraphs of a .docx in order, with their style and whether they sit in a table."""
    from lxml import etree

    with zipfile.ZipFile(path) as z:
        root = etree.fromstring(z.read("word/document.xml"))
    out = []
    for p in root.iter(f"{_W}p"):
        style = p.find(f"{_W}pPr/{_W}pStyle")
        in_table = any(a.tag == f"{_W}tbl" for a in p.iterancestors())
        text = "".join(t.text or "" for t in p.iter(f"{_W}t"))
        out.append(Paragraph(style.get(f"{_W}val") if style is not None else "", text, in_table))
    return out


@dataclass(frozen=True)
class WordCounts:
    abstract: int
    main_text: int


# Title-block, caption and reference styles of pandoc's reference document: never counted.
_SKIPPED_STYLES = ("Title", "Subtitle", "Author", "Date", "AbstractTitle", "Notice", "Bibliography",
                   "TableCaption", "ImageCaption", "Caption", "CaptionedFigure")


def _is_heading(p: Paragraph) -> bool:
    return p.style.startswith("Heading")


def journal_word_counts(paragraphs: list[Paragraph], abstract_heading: str = "Abstract",
                        stop_headings: tuple[str, ...] = ("Declarations", "References")) -> WordCounts:
    """Abstract: the paragraphs under the heading ``abstract_heading`` up to the next heading of the same or
    a higher level. Main text: from that heading to the first of ``stop_headings``; headings, tables, captions
    and figures (empty paragraphs) are not counted."""
    abstract = main = 0
    state = "before"
    abstract_level = None
    for p in paragraphs:
        if _is_heading(p):
            level = int(re.sub(r"\D", "", p.style) or 1)
            title = p.text.strip()
            if title in stop_headings:
                break
            if title == abstract_heading:
                state, abstract_level = "abstract", level
            elif state == "abstract" and abstract_level is not None and level <= abstract_level:
                state = "main"
            continue
        if p.in_table or "Caption" in p.style or p.style in _SKIPPED_STYLES:
            continue
        if state == "abstract":
            abstract += count_words(p.text)
        elif state == "main":
            main += count_words(p.text)
    return WordCounts(abstract, main)
