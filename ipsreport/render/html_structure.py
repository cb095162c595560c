"""Give a page body written by pandoc the structure that browsers and assistive technology expect.

Pandoc writes floats as ``div.ipsr-float`` with a caption paragraph beside the content, and great_tables embeds
its own markup; this module turns them into ``<figure>``/``<figcaption>`` and ``<table><caption>``, gives every
image alt text, puts each table in its own horizontal scroll box (narrow screens scroll the table, not the page),
moves table notes out of the table so that they wrap to the page, and makes element ids unique on the page.
It works on the HTML of one page and knows nothing about the report's content.
"""

from __future__ import annotations

import re
from collections import Counter

from bs4 import BeautifulSoup, Tag

__all__ = ["structure_page", "demote_headings", "unique_ids", "figure_alt_text"]

# "Table 2.1: ", "Figure A.3: " — the label the cross-reference step puts before a caption.
_FLOAT_LABEL = re.compile(r"^(Table|Figure)\s+[\w.]+:\s*")


def _classes(tag: Tag) -> list[str]:
    return list(tag.get("class") or [])


def _text(tag: Tag) -> str:
    return " ".join(tag.get_text(" ", strip=True).split())


def figure_alt_text(explicit: str | None, caption: str | None) -> str:
    """The alt text of a figure: its ``fig-alt`` when given, else its caption without the 'Figure 2.1:' label."""
    if explicit and explicit.strip():
        return " ".join(explicit.split())
    text = _FLOAT_LABEL.sub("", " ".join((caption or "").split()))
    return text or "Figure without a caption"


def _structure_figure(soup: BeautifulSoup, div: Tag) -> None:
    # 'ipsr-fig-caption' once numbered by the cross-reference step; 'ipsr-caption' as the float was written.
    caption_div = div.find("div", class_="ipsr-fig-caption") or div.find("div", class_="ipsr-caption")
    caption_text = _text(caption_div) if caption_div else ""
    div.name = "figure"
    if caption_div is not None:
        caption_div.name = "figcaption"
        caption_div.attrs = {"class": ["ipsr-caption-text", "ipsr-fig-caption"]}
        caption_div.extract()
        div.append(caption_div)  # after the image, as the float's caption position for figures
    explicit = div.get("data-fig-alt")
    for img in div.find_all("img"):
        img["alt"] = figure_alt_text(img.get("data-fig-alt") or explicit or img.get("alt"), caption_text)
        _link_to_full_size(soup, img)


def _link_to_full_size(soup: BeautifulSoup, img: Tag) -> None:
    """Wrap an image in a link to its file, so that a tap on a small screen opens it at full size."""
    if img.find_parent("a") is not None or not img.get("src") or str(img["src"]).startswith("data:"):
        return
    link = soup.new_tag("a", href=img["src"], attrs={"class": "ipsr-figure-link"})
    img.wrap(link)


def _structure_table(soup: BeautifulSoup, table: Tag, prefix: str) -> None:
    # Element ids that great_tables gives header cells (column labels, repeated under each spanner) are made
    # unique with the table's prefix; ``headers`` follow them so that cell-header associations survive.
    renamed: dict[str, str] = {}
    for i, cell in enumerate(table.find_all(["th", "td"], id=True)):
        new = f"{prefix}-h{i + 1}"
        renamed.setdefault(str(cell["id"]), new)
        cell["id"] = new
    for cell in table.find_all(attrs={"headers": True}):
        value = cell["headers"] if isinstance(cell["headers"], str) else " ".join(cell["headers"])
        # great_tables may use a column label with spaces as an id: match the whole value first.
        tokens = [value] if value in renamed else value.split()
        mapped = [renamed[t] for t in tokens if t in renamed]
        if mapped:
            cell["headers"] = " ".join(mapped)
        else:
            del cell["headers"]

    float_div = table.find_parent("div", class_="ipsr-float")
    caption_div = float_div.find("div", class_="ipsr-tbl-caption") if float_div is not None else None
    if caption_div is not None and table.find("caption") is None:
        caption = soup.new_tag("caption", attrs={"class": "ipsr-caption-text ipsr-tbl-caption"})
        # The inner span keeps the caption to the width of the scroll box (a caption is as wide as its table)
        # and in view while the table scrolls sideways.
        inner = soup.new_tag("span", attrs={"class": "ipsr-caption-inner"})
        paragraphs = caption_div.find_all("p")
        source = paragraphs[0] if len(paragraphs) == 1 else caption_div
        for child in list(source.children):
            inner.append(child.extract())
        caption.append(inner)
        table.insert(0, caption)
        caption_div.decompose()

    # Source notes and footnotes leave the table: inside it they are as wide as the table and, on a narrow
    # screen, scroll away with it instead of wrapping to the page.
    notes = soup.new_tag("div", attrs={"class": "ipsr-table-notes"})
    tfoot = table.find("tfoot")
    if tfoot is not None:
        for cell in tfoot.find_all(["td", "th"]):
            if not _text(cell) and not cell.find("img"):
                continue
            p = soup.new_tag("p")
            for child in list(cell.children):
                p.append(child.extract())
            notes.append(p)
        tfoot.decompose()

    # great_tables' own wrapper scrolls as well; one scroll box per table is enough.
    parent = table.parent
    if isinstance(parent, Tag) and parent.name == "div" and "overflow" in str(parent.get("style", "")):
        parent["style"] = re.sub(r"overflow-[xy]:\s*auto;?", "", str(parent["style"]))
    caption_tag = table.find("caption")
    label = _text(caption_tag) if caption_tag else "Table"
    box = soup.new_tag("div", attrs={"class": "ipsr-table-scroll", "role": "region", "tabindex": "0",
                                      "aria-label": label})
    table.wrap(box)
    if notes.contents:
        box.insert_after(notes)


def demote_headings(soup: BeautifulSoup) -> None:
    """Every heading one level down (h1 → h2 …), for a page whose title block holds its one ``<h1>``."""
    for level in range(5, 0, -1):
        for h in soup.find_all(f"h{level}"):
            h.name = f"h{level + 1}"


def unique_ids(soup: BeautifulSoup) -> None:
    """Rename the second and later elements that share an id (``x`` → ``x-2``); links keep the first."""
    seen: Counter[str] = Counter()
    taken = {str(t["id"]) for t in soup.find_all(id=True)}
    for tag in soup.find_all(id=True):
        ident = str(tag["id"])
        seen[ident] += 1
        if seen[ident] > 1:
            n = seen[ident]
            while f"{ident}-{n}" in taken:
                n += 1
            tag["id"] = f"{ident}-{n}"
            taken.add(tag["id"])


def structure_page(body_html: str) -> BeautifulSoup:
    """Parse a page body and give its floats, tables and images accessible structure (see the module doc)."""
    soup = BeautifulSoup(body_html, "html.parser")
    for div in soup.find_all("div", class_="ipsr-float"):
        if "ipsr-fig" in _classes(div):
            _structure_figure(soup, div)
    for n, table in enumerate(soup.find_all("table"), 1):
        float_div = table.find_parent("div", class_="ipsr-float")
        prefix = str(float_div["id"]) if float_div is not None and float_div.get("id") else f"ipsr-table-{n}"
        _structure_table(soup, table, prefix)
    for img in soup.find_all("img"):
        if not (img.get("alt") or "").strip():
            img["alt"] = figure_alt_text(img.get("data-fig-alt"), None)
    # pandoc puts the Word style name on captions; it means nothing in HTML.
    for tag in soup.find_all(attrs={"data-custom-style": True}):
        del tag["data-custom-style"]
    return soup

