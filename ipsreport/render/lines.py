"""Where a labelled place of the manuscript is printed: page and line numbers in the final PDF.

Typst tells where a label is (``query`` of metadata placed by ``here().position()``: page and vertical
position) but not on which numbered line; the line numbers are glyphs in the margin. So the PDF's margin
numbers are read with pdfplumber, and each place's start and end positions are matched to them: the first line
is the first numbered line whose baseline lies below the start, the last line the last one above the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["Anchor", "LineMark", "Location", "line_marks", "locate"]


@dataclass(frozen=True)
class Anchor:
    """A position Typst reported: ``label`` at its ``start`` or ``end``, page (1-based), y in pt from the top."""

    label: str
    at: str  # "start" or "end"
    page: int
    y: float


@dataclass(frozen=True)
class LineMark:
    """A printed line number: its value, page and the top and bottom of the glyphs (pt from the page top)."""

    number: int
    page: int
    top: float
    bottom: float


@dataclass(frozen=True)
class Location:
    label: str
    page: int
    last_page: int
    first_line: int | None
    last_line: int | None


def line_marks(pdf: str | Path, margin: float = 60.0) -> list[LineMark]:
    """Every line number printed in the left margin (x0 < ``margin`` pt) of ``pdf``, in reading order."""
    import pdfplumber

    marks = []
    with pdfplumber.open(str(pdf)) as doc:
        for page_no, page in enumerate(doc.pages, 1):
            for w in page.extract_words(keep_blank_chars=False, use_text_flow=False):
                if w["x0"] < margin and w["text"].isdigit():
                    marks.append(LineMark(int(w["text"]), page_no, float(w["top"]), float(w["bottom"])))
    return sorted(marks, key=lambda m: (m.page, m.top))


def locate(anchors: list[Anchor], marks: list[LineMark], tolerance: float = 2.0) -> dict[str, Location]:
    """Page and line range of each label with both a start and an end anchor.

    A line belongs to the place when its number glyph's vertical middle lies between the start and the end
    (``tolerance`` pt of slack at either side); a place on no numbered line (a table without line numbers)
    gets the nearest line after its start as both first and last line, or None when the page has none."""
    starts = {a.label: a for a in anchors if a.at == "start"}
    ends = {a.label: a for a in anchors if a.at == "end"}
    out = {}
    for label, s in starts.items():
        e = ends.get(label, s)

        def after_start(m: LineMark) -> bool:
            mid = (m.top + m.bottom) / 2
            return (m.page, mid) >= (s.page, s.y - tolerance)

        def before_end(m: LineMark) -> bool:
            mid = (m.top + m.bottom) / 2
            return (m.page, mid) <= (e.page, e.y + tolerance)

        inside = [m for m in marks if after_start(m) and before_end(m)]
        if not inside:
            following = [m for m in marks if after_start(m)]
            first = last = following[0].number if following else None
        else:
            first, last = inside[0].number, inside[-1].number
        out[label] = Location(label, s.page, e.page, first, last)
    return out
