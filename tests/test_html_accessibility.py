"""The HTML book as a reader with assistive technology or a phone meets it: structure (alt text, figure and
table captions, unique ids, one h1), an axe-core check in headless Chromium, tables at 390 px, and search.

The structure tests run on small fragments; the page tests on the report rendered once per session. The
browser tests skip, saying why, when Chromium or axe-core is not installed (``.ci/run`` installs Chromium).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from chromium import AXE_RUN, TABLE_OVERFLOW, axe_source, chromium, run_in_page
from ipsreport.render.html import _json_in_script, search_entries
from ipsreport.render.html_structure import demote_headings, figure_alt_text, structure_page, unique_ids

PAGES = ["index.html", "introduction.html", "01-methods.html", "02-primary-outcome.html", "03-secondary-outcomes.html",
         "04-ancillary-analysis.html", "05-feasibility.html", "discussion.html", "references.html",
         "appendix-reproducibility.html"]

needs_chromium = pytest.mark.skipif(chromium() is None, reason="Chromium is not installed (apt-get install chromium)")

FRAGMENT = """
<div id="tbl-a" class="ipsr-float ipsr-tbl">
<div class="ipsr-caption-text ipsr-tbl-caption" data-custom-style="Table Caption"><p>Table 1.1: Baseline.</p></div>
<div id="gtid" style="padding-top:10px;overflow-x:auto;overflow-y:auto;width:auto;">
<table class="gt_table"><thead><tr>
<th id="n (%)" scope="col">n (%)</th><th id="n (%)" scope="col">n (%)</th><th id="P" scope="col">P</th></tr></thead>
<tbody><tr><td headers="n (%)">1 (2.0)</td><td headers="n (%)">3 (4.0)</td><td headers="P">0.5<sup>*</sup></td></tr></tbody>
<tfoot><tr><td colspan="3"><span><sup>*</sup> Pearson's chi-squared test.</span></td></tr></tfoot>
</table></div></div>
<div id="fig-b" class="ipsr-float ipsr-fig">
<p><img src="figures/x-1.png" style="width:6in" /></p>
<div class="ipsr-caption-text ipsr-fig-caption" data-custom-style="Image Caption"><p>Figure 1.1: Participant flow.</p></div>
</div>
<div id="fig-c" class="ipsr-float ipsr-fig" data-fig-alt="Two rising lines.">
<p><img src="figures/x-2.png" /></p>
<div class="ipsr-caption-text ipsr-fig-caption"><p>Figure 1.2: Rates.</p></div>
</div>
<h2 id="sec-x">Section</h2><p id="dup">a</p><p id="dup">b</p>
"""


# --- structure of one page (no browser) ------------------------------------------------------------------


def test_table_caption_goes_inside_the_table_and_notes_below_it():
    soup = structure_page(FRAGMENT)
    table = soup.find("table")
    assert table.find("caption").get_text(strip=True) == "Table 1.1: Baseline."
    assert table.find("tfoot") is None
    box = table.parent
    assert box["class"] == ["ipsr-table-scroll"] and box["tabindex"] == "0" and box["role"] == "region"
    notes = box.find_next_sibling("div", class_="ipsr-table-notes")
    assert notes.get_text(" ", strip=True) == "* Pearson's chi-squared test."
    assert notes.find("sup").get_text() == "*"
    assert "overflow" not in soup.find(id="gtid")["style"]  # one scroll box, not two
    assert soup.find(attrs={"data-custom-style": True}) is None


def test_table_header_ids_are_unique_and_headers_follow_them():
    soup = structure_page(FRAGMENT)
    ids = [th["id"] for th in soup.find_all("th")]
    assert ids == ["tbl-a-h1", "tbl-a-h2", "tbl-a-h3"]
    # A cell that named a duplicated header id points at the first header of that name, which exists.
    assert [td.get("headers") for td in soup.find_all("td")] == ["tbl-a-h1", "tbl-a-h1", "tbl-a-h3"]


def test_figures_become_figure_with_figcaption_alt_text_and_full_size_link():
    soup = structure_page(FRAGMENT)
    flow, rates = soup.find_all("figure")
    assert flow["id"] == "fig-b" and rates["id"] == "fig-c"
    assert flow.find("figcaption").get_text(strip=True) == "Figure 1.1: Participant flow."
    assert flow.find("img")["alt"] == "Participant flow."  # caption without its label
    assert rates.find("img")["alt"] == "Two rising lines."  # fig-alt wins over the caption
    link = flow.find("img").parent
    assert link.name == "a" and link["href"] == "figures/x-1.png"


def test_alt_text_rules():
    assert figure_alt_text(None, "Figure 3.1: Observed means by arm.") == "Observed means by arm."
    assert figure_alt_text("  A   bar chart ", "Figure 1: x") == "A bar chart"
    assert figure_alt_text("", "") == "Figure without a caption"


def test_duplicate_ids_are_renamed_and_headings_demoted():
    soup = BeautifulSoup('<h1 id="a">T</h1><h2 id="a">S</h2><h2 id="a-2">U</h2>', "html.parser")
    unique_ids(soup)
    assert [h["id"] for h in soup.find_all(["h1", "h2"])] == ["a", "a-3", "a-2"]
    demote_headings(soup)
    assert [h.name for h in soup.find_all(["h2", "h3"])] == ["h2", "h3", "h3"]


def test_search_entries_cover_each_section_and_the_index_cannot_close_its_script():
    soup = BeautifulSoup('<h1 id="c">2 Primary</h1><p>Intro text.</p><h2 id="s">2.1 Hours</h2><p>Hours worked'
                         '</p><ul><li>one</li></ul><table><tr><td>cell</td></tr></table>', "html.parser")
    entries = search_entries(soup, "02.html", "2 Primary")
    assert [(e["a"], e["t"], e["x"]) for e in entries] == [("c", "2 Primary", "Intro text."),
                                                          ("s", "2.1 Hours", "Hours worked one")]
    text = _json_in_script([{"x": "</script><!-- a"}])
    assert "<" not in text and json.loads(text) == [{"x": "</script><!-- a"}]


# --- the rendered book -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def book(rendered_report) -> Path:
    return rendered_report / "_book"


def _soup(book: Path, page: str) -> BeautifulSoup:
    return BeautifulSoup((book / page).read_text(encoding="utf-8"), "lxml")


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_page_structure(book, page):
    soup = _soup(book, page)
    assert len(soup.find_all("h1")) == 1, "one <h1> per page"
    ids = Counter(str(t["id"]) for t in soup.find_all(id=True))
    assert [i for i, n in ids.items() if n > 1] == [], "duplicated element ids"
    for img in soup.find_all("img"):
        assert img.get("alt", "").strip(), f"image without alt text: {img.get('src')}"
        assert img.find_parent("figure") is not None and img.find_parent("a") is not None
    for figure in soup.find_all("figure"):
        assert figure.find("figcaption") is not None
    for float_div in soup.select(".ipsr-float.ipsr-tbl"):
        table = float_div.find("table")
        assert table.find("caption").get_text(strip=True).startswith("Table ")
        assert float_div.find(class_="ipsr-tbl-caption", recursive=False) is None  # no caption outside
    # Every link into the page or another page resolves.
    for a in soup.find_all("a", href=True):
        href = a["href"]
        if href.startswith(("http", "mailto:")) or "#" not in href:
            continue
        target_page, anchor = href.split("#", 1)
        target = soup if not target_page else _soup(book, target_page)
        assert target.find(id=anchor) is not None, href


@pytest.mark.slow
def test_figures_on_the_pages_have_captions_as_alt_text(book):
    alts = [img["alt"] for page in PAGES for img in _soup(book, page).find_all("img")]
    assert len(alts) >= 5
    assert any(alt.startswith("Cumulative proportion employed") for alt in alts)


@pytest.mark.slow
def test_search_index_covers_every_page_and_is_the_same_everywhere(book):
    indexes = {page: _soup(book, page).find("script", id="ipsr-search-index").string for page in PAGES}
    assert len(set(indexes.values())) == 1
    entries = json.loads(next(iter(indexes.values())))
    assert {e["p"] for e in entries} == set(PAGES)
    hours = [e for e in entries if "hours" in e["t"].lower()]
    assert hours and all(e["p"] == "02-primary-outcome.html" for e in hours)
    assert all(_soup(book, e["p"]).find(id=e["a"]) is not None for e in entries if e["a"])


@pytest.mark.slow
def test_pages_load_nothing_from_outside(book):
    for page in PAGES:
        soup = _soup(book, page)
        for tag, attr in (("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src")):
            for el in soup.find_all(tag):
                value = el.get(attr)
                assert not value or not re.match(r"^(https?:)?//", value), (page, value)


@pytest.mark.slow
@needs_chromium
@pytest.mark.skipif(axe_source() is None, reason="axe-core is not installed (pip install axe-playwright-python)")
@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("width", [1366, 390])
def test_axe_finds_no_serious_or_critical_violation(book, page, width):
    violations = run_in_page(book / page, AXE_RUN, width=width, prelude=axe_source())
    bad = [v for v in violations if v["impact"] in {"serious", "critical"}]
    assert bad == [], json.dumps(bad, indent=1)


@pytest.mark.slow
@needs_chromium
@pytest.mark.parametrize("page", PAGES)
def test_at_390_px_no_table_overflows_the_page_without_its_own_scroll_box(book, page):
    found = run_in_page(book / page, TABLE_OVERFLOW, width=390, height=2000)
    viewport = found["viewport"]
    assert viewport <= 400, f"the window was not narrow: {viewport} px"
    assert found["page_scroll_width"] <= viewport, "the page itself scrolls sideways"
    for table in found["tables"]:
        if table["right"] <= viewport + 0.5 and table["left"] >= -0.5:
            continue
        assert table["box_right"] is not None, f"table {table['caption']!r} overflows without a scroll box"
        assert table["box_right"] <= viewport + 0.5 and table["box_left"] >= -0.5, table


SEARCH_TYPED = """
var input = document.getElementById('ipsr-search-input');
input.value = 'Woolf logit';
input.dispatchEvent(new Event('input'));
report({status: document.getElementById('ipsr-search-status').textContent,
        links: Array.prototype.map.call(document.querySelectorAll('#ipsr-search-results a'),
                                        function (a) { return a.getAttribute('href'); })});
"""

FILTER_CHECKED = """
function visible() {
  var rows = [];
  ['tbl-concordance-trial', 'tbl-concordance-pilot'].forEach(function (id) {
    document.querySelectorAll('#' + id + ' tbody tr').forEach(function (row) {
      if (!row.hidden && row.offsetParent !== null) { rows.push(row.textContent.toLowerCase()); }
    });
  });
  return rows;
}
var before = visible();
var box = document.getElementById('ipsr-only-not-exact');
box.checked = true;
box.dispatchEvent(new Event('change'));
var after = visible();
report({before: before.length, after: after.length,
        exact_after: after.filter(function (t) { return / exact /.test(' ' + t.replace(/\\s+/g, ' ') + ' ')
                                                  && !/not exact/.test(t); }).length});
"""


@pytest.mark.slow
@needs_chromium
def test_search_finds_sections_on_other_pages(book):
    found = run_in_page(book / "index.html", SEARCH_TYPED)
    assert found["status"].endswith("found") and not found["status"].startswith("0")
    assert found["links"] and all(link.split("#")[0].endswith(".html") for link in found["links"])
    assert any(link.startswith("02-primary-outcome.html#") for link in found["links"])


@pytest.mark.slow
@needs_chromium
def test_concordance_filter_shows_only_rows_that_are_not_exact(book):
    found = run_in_page(book / "appendix-reproducibility.html", FILTER_CHECKED)
    assert found["before"] > 700  # every published number of both studies
    assert 0 < found["after"] < found["before"]
    assert found["exact_after"] == 0


def test_fig_alt_option_reaches_the_html_image():
    import base64

    from ipsreport.render import pandoc
    from ipsreport.render.execute import _cell_markdown
    from ipsreport.render.project import Chapter
    from ipsreport.render.qmd import Cell

    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 8 + (100).to_bytes(4, "big") + (50).to_bytes(4, "big"))
    opts = {"label": "fig-a", "fig-cap": "Rates by arm.", "fig-alt": 'Two "rising" lines.'}
    nb_cell = {"outputs": [{"output_type": "display_data", "data": {"image/png": png.decode()}}]}
    md = _cell_markdown(Cell("x", opts, 1), nb_cell, opts, Chapter("c.qmd", "chapter", "c"), {}, 100, [])
    body = pandoc.run(["-f", pandoc.READER, "-t", "html5"], md)
    img = structure_page(body).find("img")
    assert img["alt"] == 'Two "rising" lines.'
    opts.pop("fig-alt")
    md = _cell_markdown(Cell("x", opts, 1), nb_cell, opts, Chapter("c.qmd", "chapter", "c"), {}, 100, [])
    assert structure_page(pandoc.run(["-f", pandoc.READER, "-t", "html5"], md)).find("img")["alt"] == "Rates by arm."


NAV_STATE = """
function shown(el) { return !!el && el.checkVisibility({visibilityProperty: true, opacityProperty: true}); }
var compact = document.querySelector('details.ipsr-nav-compact');
var state = {sidebar: shown(document.querySelector('.ipsr-sidebar')), summary: shown(compact.querySelector('summary')),
             links_closed: Array.prototype.filter.call(compact.querySelectorAll('li a'), shown).length};
compact.open = true;
state.links_open = Array.prototype.filter.call(compact.querySelectorAll('li a'), shown).length;
report(state);
"""


@pytest.mark.slow
@needs_chromium
def test_chapter_list_collapses_on_a_phone_and_stays_open_on_a_desktop(book):
    phone = run_in_page(book / "02-primary-outcome.html", NAV_STATE, width=390)
    assert phone["sidebar"] is False and phone["summary"] is True
    assert phone["links_closed"] == 0 and phone["links_open"] >= len(PAGES)
    desktop = run_in_page(book / "02-primary-outcome.html", NAV_STATE, width=1366)
    assert desktop["sidebar"] is True and desktop["summary"] is False
