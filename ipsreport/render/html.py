"""Write the HTML book: ``index.html`` plus one flat page per chapter, self-contained (inline CSS and script, local
figures), with a collapsible chapter list on narrow screens and an offline search across every page's sections."""

from __future__ import annotations

import html as _html
import json
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from string import Template
from typing import Any

from bs4 import BeautifulSoup

from . import pandoc
from .crossref import Numbering
from .html_structure import demote_headings, structure_page, unique_ids
from .project import Book

__all__ = ["write_html", "search_entries"]

# Ids the page template uses itself; a body element with one of them is renamed.
_TEMPLATE_IDS = ("ipsr-main", "ipsr-search-input", "ipsr-search-status", "ipsr-search-results", "ipsr-search-index")
# Each section's text in the search index is cut here, far beyond any section of this size of book; the cap only
# keeps a runaway section from making every page carry a huge index.
_SECTION_TEXT_LIMIT = 6000

TEMPLATES = Path(__file__).parent / "templates"


def _rewrite_links(blocks: list[Any], slug: str, numbering: Numbering) -> list[Any]:
    """``#id`` links to an element on another page become ``page.html#id``."""

    def fix(node: dict[str, Any]) -> Any:
        if node["t"] != "Link":
            return None
        target = node["c"][2][0]
        if target.startswith("#"):
            page = numbering.ids.get(target[1:])
            if page and page != slug:
                return {"t": "Link", "c": [node["c"][0], node["c"][1], [f"{page}.html{target}", node["c"][2][1]]]}
        return None

    return pandoc.walk(blocks, fix)


def _sidebar(book: Book, numbering: Numbering, current: str) -> str:
    items = ["<ol>"]
    in_appendix = False
    for ch in book.chapters:
        if ch.kind == "appendix" and not in_appendix:
            items += ["</ol>", '<div class="ipsr-part">Appendices</div>', "<ol>"]
            in_appendix = True
        active = ' class="active" aria-current="page"' if ch.slug == current else ""
        title = _html.escape(numbering.chapter_titles.get(ch.slug, ch.slug))
        items.append(f'<li><a href="{ch.page}"{active}>{title}</a></li>')
    items.append("</ol>")
    downloads = (book.raw.get("book") or {}).get("downloads") or []
    if downloads:
        names = {"pdf": (f"{book.output_file}.pdf", "PDF"), "docx": (f"{book.output_file}.docx", "Word (DOCX)")}
        items += ['<div class="ipsr-part">Downloads</div>', "<ol>"]
        items += [f'<li><a href="{names[d][0]}">{names[d][1]}</a></li>' for d in downloads]
        items.append("</ol>")
    # Quarto's book sidebar tools (``book: sidebar: tools:`` with ``href`` and ``text``), as plain links.
    sidebar = (book.raw.get("book") or {}).get("sidebar") or {}
    tools = [t for t in (sidebar.get("tools") or []) if isinstance(t, dict) and t.get("href")]
    if tools:
        items.append('<ol class="ipsr-tools">')
        items += [f'<li><a href="{_html.escape(str(t["href"]))}">{_html.escape(str(t.get("text") or t["href"]))}</a></li>'
                  for t in tools]
        items.append("</ol>")
    return "\n".join(items)


def _pager(book: Book, numbering: Numbering, index: int) -> str:
    links = []
    if index > 0:
        prev = book.chapters[index - 1]
        links.append(f'<a class="prev" href="{prev.page}">← {_html.escape(numbering.chapter_titles[prev.slug])}</a>')
    if index + 1 < len(book.chapters):
        nxt = book.chapters[index + 1]
        links.append(f'<a class="next" href="{nxt.page}">{_html.escape(numbering.chapter_titles[nxt.slug])} →</a>')
    return f'<nav class="ipsr-pager" aria-label="Previous and next chapter">{"".join(links)}</nav>'


def _title_block(book: Book) -> str:
    parts = [f'<header class="ipsr-title-block"><h1 class="title">{_html.escape(book.title)}</h1>']
    if book.subtitle:
        parts.append(f'<p class="subtitle">{_html.escape(book.subtitle)}</p>')
    meta = [a["name"] + (f" ({a['affiliation']})" if a.get("affiliation") else "") for a in book.authors]
    if book.date:
        meta.append(book.date)
    if meta:
        parts.append(f'<p class="meta">{_html.escape(" · ".join(meta))}</p>')
    parts.append("</header>")
    return "\n".join(parts)


def _page_toc(blocks: list[Any]) -> str:
    entries = []
    for b in blocks:
        if b.get("t") == "Header" and b["c"][0] == 2 and b["c"][1][0]:
            entries.append(f'<li><a href="#{b["c"][1][0]}">{_html.escape(pandoc.stringify(b["c"][2]))}</a></li>')
    if len(entries) < 2:
        return ""
    return ('<nav class="ipsr-toc" aria-label="On this page"><strong>On this page</strong><ul>' + "".join(entries)
            + "</ul></nav>")


def search_entries(soup: BeautifulSoup, page: str, chapter_title: str) -> list[dict[str, str]]:
    """One search entry per section of a page body: ``p`` page, ``a`` anchor, ``t`` heading, ``c`` chapter,
    ``x`` the section's running text (paragraphs, list items, captions and table notes; not table cells)."""
    entries: list[dict[str, str]] = []
    current = {"p": page, "a": "", "t": chapter_title, "c": chapter_title, "x": ""}
    parts: list[str] = []

    def close() -> None:
        text = " ".join(" ".join(parts).split())
        if text or current["a"]:
            entries.append({**current, "x": text[:_SECTION_TEXT_LIMIT]})

    for tag in soup.find_all(["h1", "h2", "h3", "h4", "p", "li", "caption", "figcaption", "dd", "dt"]):
        if tag.name in {"h1", "h2", "h3", "h4"}:
            close()
            parts = []
            title = " ".join(tag.get_text(" ", strip=True).split())
            current = {"p": page, "a": str(tag.get("id") or ""), "t": title, "c": chapter_title, "x": ""}
        elif tag.name == "li" and tag.find(["p", "li"]):
            continue  # its paragraphs or nested items are taken on their own
        elif tag.name == "p" and tag.find_parent(["li", "caption", "figcaption"]):
            continue
        else:
            parts.append(tag.get_text(" ", strip=True))
    close()
    return entries


def _json_in_script(value: Any) -> str:
    """JSON safe inside a ``<script>`` element: no ``<`` is left to end it early or open a comment."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


# Pages already made in this process (the preview writes the book again after every edit, and most pages are as
# they were): each step is a pure function of its key, so a remembered result is the result.
_MEMO: OrderedDict[tuple, Any] = OrderedDict()
_MEMO_SIZE = 128
_memo_lock = threading.Lock()


def _memo(key: tuple, make: Any) -> Any:
    """``make(*key[1:])``, remembered for the last :data:`_MEMO_SIZE` keys."""
    with _memo_lock:
        if key in _MEMO:
            _MEMO.move_to_end(key)
            return _MEMO[key]
    value = make(*key[1:])
    with _memo_lock:
        _MEMO[key] = value
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)
    return value


def _page_body(body_html: str, kind: str, page: str, title: str) -> tuple[str, list[dict[str, str]]]:
    """A page's body with its accessible structure, and its search entries."""
    soup = structure_page(body_html)
    if kind == "front":
        demote_headings(soup)  # the title block holds the page's one <h1>
    for tag in soup.find_all(id=list(_TEMPLATE_IDS)):
        tag["id"] = f"{tag['id']}-content"
    unique_ids(soup)
    return str(soup), search_entries(soup, page, title)


def write_html(book: Book, ast: dict[str, Any], numbering: Numbering, notice: str | None, out: Path) -> list[Path]:
    """Write every page under ``out`` (figures are expected in ``out/figures``); return the pages written."""
    template = Template((TEMPLATES / "page.html").read_text(encoding="utf-8"))
    css = (TEMPLATES / "book.css").read_text(encoding="utf-8")
    options = book.format_options("html")
    chapters = {pandoc.kv_of(div)["slug"]: div["c"][1] for div in ast["blocks"]}
    notice_html = f'<div class="ipsr-notice" role="note"><strong>Notice.</strong> {_html.escape(notice)}</div>' if notice else ""

    def fragment(slug: str) -> str:
        blocks = _rewrite_links(chapters[slug], slug, numbering)
        doc = pandoc.document(blocks, like=ast)
        return _memo(("fragment", json.dumps(doc)), lambda payload: pandoc.run(
            ["-f", "json", "-t", "html5", "--mathml", "--syntax-highlighting=none", "--wrap=none",
             "--email-obfuscation=none"], payload))

    with ThreadPoolExecutor(max_workers=4) as pool:
        bodies = dict(zip(chapters, pool.map(fragment, list(chapters))))

    soups: dict[str, str] = {}
    index: list[dict[str, str]] = []
    for ch in book.chapters:
        title = numbering.chapter_titles.get(ch.slug, ch.slug)
        soups[ch.slug], entries = _memo(("page", bodies[ch.slug], ch.kind, ch.page, title), _page_body)
        index += entries
    search_index = _json_in_script(index)
    search_js = (TEMPLATES / "search.js").read_text(encoding="utf-8")

    written = []
    for i, ch in enumerate(book.chapters):
        title = numbering.chapter_titles.get(ch.slug, ch.slug)
        page = template.substitute(
            lang=_html.escape(book.lang),
            page_title=_html.escape(book.title if ch.kind == "front" else f"{title} – {book.title}"),
            css=css,
            book_title=_html.escape(book.title),
            sidebar=_sidebar(book, numbering, ch.slug),
            notice=notice_html,
            title_block=_title_block(book) if ch.kind == "front" else "",
            toc=_page_toc(chapters[ch.slug]) if options.get("toc", True) else "",
            body=soups[ch.slug],
            pager=_pager(book, numbering, i),
            search_index=search_index,
            search_js=search_js,
        )
        path = out / ch.page
        path.write_text(page, encoding="utf-8")
        written.append(path)
    return written
