"""Printed numbers in every format of the rendered report (HTML pages, PDF text, DOCX text): no P value or other
number printed as '0.000', no hyphen-minus standing for a minus sign, and footnote marks as superscripts; in the
HTML running text, no sentence that starts with a numeral and no interval that does not say it is a 95% CI.

Dates (2026-11-25), ranges (0-8 hours, 0–100) and page ranges (1757-66) have a digit or letter before the hyphen
and are not negative numbers; the pattern below only takes a hyphen that starts a number.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from conftest import docx_text as _docx_text, pdf_text as _pdf_text

pytestmark = pytest.mark.slow

# '0.000' as a whole number (not 10.0001 or 0.0005).
ZERO_P = re.compile(r"(?<![\w.])0\.000(?![\d])")
# A hyphen-minus that starts a number: at the start, or after a space, bracket, '=', '<', '>', ',', ';', ':' or '/'.
HYPHEN_MINUS = re.compile(r"(?:^|(?<=[\s(\[=<>,;:/]))-(?=\.?\d)", re.M)
MARKS = "*†‡§¶"


def _html_text(book: Path) -> dict[str, str]:
    texts = {}
    for page in sorted(book.glob("*.html")):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "lxml")
        for tag in soup(["script", "style"]):
            tag.decompose()
        texts[page.name] = soup.get_text("\n", strip=True)
    return texts




def _problems(name: str, text: str) -> list[str]:
    found = []
    for pattern, what in ((ZERO_P, "0.000"), (HYPHEN_MINUS, "hyphen-minus before a digit")):
        for m in pattern.finditer(text):
            found.append(f"{name}: {what}: …{text[max(0, m.start() - 50):m.end() + 20]!r}…")
    return found


def test_patterns_catch_what_they_should_and_spare_dates_and_ranges():
    bad = "P = 0.000; difference -3.53 (−5.1 to -0.2); z=-1.2"
    assert len(ZERO_P.findall(bad)) == 1 and len(HYPHEN_MINUS.findall(bad)) == 3
    fine = "2026-11-25, 0-8 hours, pages 1757-66, HSCL-25, 0–100, P = 0.0004 or 10.000 or <0.001, −3.53"
    assert ZERO_P.findall(fine) == [] and HYPHEN_MINUS.findall(fine) == []


def test_no_zero_p_and_no_hyphen_minus_in_html(rendered_report):
    problems = [p for name, text in _html_text(rendered_report / "_book").items() for p in _problems(name, text)]
    assert problems == [], "\n".join(problems[:20])


def test_no_zero_p_and_no_hyphen_minus_in_pdf(rendered_report):
    problems = _problems("book.pdf", _pdf_text(rendered_report / "_book" / "book.pdf"))
    assert problems == [], "\n".join(problems[:20])


def test_no_zero_p_and_no_hyphen_minus_in_docx(rendered_report):
    problems = _problems("book.docx", _docx_text(rendered_report / "_book" / "book.docx"))
    assert problems == [], "\n".join(problems[:20])


def test_footnote_marks_are_superscript_in_html_tables(rendered_report):
    book = rendered_report / "_book"
    marks_seen = 0
    for page in sorted(book.glob("*.html")):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "lxml")
        for cell in soup.select("table td"):
            for string in cell.find_all(string=True):
                if any(m in string for m in MARKS) and re.search(r"\d", cell.get_text()):
                    assert string.parent.name == "sup", f"{page.name}: mark not superscript in {cell}"
                    marks_seen += 1
        for note in soup.select(".ipsr-table-notes p"):
            first = note.get_text().lstrip()
            if first[:1] in MARKS:
                assert note.find("sup") is not None and note.find("sup").get_text() == first[0], note
    assert marks_seen > 20


def test_footnote_marks_are_superscript_in_docx_tables(rendered_report):
    import docx

    document = docx.Document(rendered_report / "_book" / "book.docx")
    marks_seen = 0
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                for paragraph in cell.paragraphs:
                    for run in paragraph.runs:
                        if run.text and run.text.strip() and set(run.text.strip()) <= set(MARKS):
                            assert run.font.superscript, f"mark {run.text!r} not superscript in {cell.text!r}"
                            marks_seen += 1
                        elif any(m in run.text for m in MARKS) and re.search(r"\d", run.text):
                            pytest.fail(f"mark inside a plain run: {run.text!r}")
    assert marks_seen > 20


# In running text (paragraphs and list items, not tables or headings).
SENTENCE_STARTS_WITH_NUMERAL = re.compile(r"(?:^|(?<=[.!?])\s+)\(?[−-]?\d")
# An interval with decimals, in brackets, that does not say it is a 95% CI ('(0.56–5.56)', '(−13.6 to 37.9)').
UNNAMED_INTERVAL = re.compile(r"\((?![^()]*95% CI)[^()]*?[−-]?\d+\.\d+\s?(?:–|to)\s?[−-]?\d+\.\d+[^()]*\)")


def _running_text(book: Path) -> dict[str, list[str]]:
    out = {}
    for page in sorted(book.glob("*.html")):
        if page.name == "changes.html":
            continue  # the change report between renders: tables of keys and values, not a chapter
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "lxml")
        content = soup.find(class_="ipsr-content")
        for tag in content(["script", "style", "table", "figcaption", "nav"]):
            tag.decompose()
        for tag in content.select(".ipsr-table-notes, #refs"):
            tag.decompose()
        out[page.name] = [" ".join(p.get_text().split()) for p in content.find_all(["p", "li"])]
    return out


def test_text_patterns():
    assert SENTENCE_STARTS_WITH_NUMERAL.search("Fine. 48% of those worked")
    assert not SENTENCE_STARTS_WITH_NUMERAL.search("Of those, 48% worked; P = 0.4. Then 3 of 5.")
    assert UNNAMED_INTERVAL.search("odds ratio 1.76 (0.56–5.56)") and UNNAMED_INTERVAL.search("(−13.6 to 37.9)")
    assert not UNNAMED_INTERVAL.search("odds ratio 1.76 (95% CI 0.56–5.56), scale (0–100), (ratio 1.58 to 1)")


def test_no_sentence_starts_with_a_numeral_and_every_interval_is_named(rendered_report):
    problems = []
    for page, paragraphs in _running_text(rendered_report / "_book").items():
        for text in paragraphs:
            for pattern, what in ((SENTENCE_STARTS_WITH_NUMERAL, "sentence starts with a numeral"),
                                  (UNNAMED_INTERVAL, "interval without '95% CI'")):
                for m in pattern.finditer(text):
                    problems.append(f"{page}: {what}: …{text[max(0, m.start() - 40):m.end() + 40]}…")
    assert problems == [], "\n".join(problems[:20])
