"""Changed numbers highlighted in the HTML book, on the small fixture book.

The fixture chapter prints a registered value through ``ipsreport.results.reported``; by Quarto's inline rule
its ``text/markdown`` display arrives as a ``reported`` span. The project's post-render step
(``ipsreport.hooks``) marks the spans whose printed value changed in the HTML pages of the new output folder.
"""

import shutil
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from ipsreport.render.engine import render_book
from conftest import package_snapshot

FIXTURE = Path(__file__).parent / "fixtures" / "book"


@pytest.fixture(scope="module", autouse=True)
def isolated_package(tmp_path_factory):
    with package_snapshot(tmp_path_factory.mktemp("package")):
        yield


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = tmp_path_factory.mktemp("highlight") / "book"
    shutil.copytree(FIXTURE, project)
    chapter = project / "chapters" / "02-results.qmd"
    text = chapter.read_text().replace("from ipsreport.results import register\n",
                                       "from ipsreport.results import register, reported\n")
    text = text.replace("participants were employed.",
                        'participants were employed, `{python} reported("fixture.employed_ips")` of them with IPS '
                        'and `{python} reported("fixture.n_total")` in all.')
    chapter.write_text(text)
    render_book(project, formats=["html"], engine="builtin")
    return project


def _soup(project, page):
    return BeautifulSoup((project / "_book" / page).read_text(encoding="utf-8"), "lxml")


def test_changed_numbers_are_marked_explained_and_listed(project):
    page = _soup(project, "02-results.html")
    assert page.select("span.reported.changed") == [] and page.select_one(".ipsr-changes-note") is None
    spans = {s["data-key"]: s for s in page.select("span.reported")}
    assert spans["fixture.employed_ips"].get_text() == "3" and spans["fixture.employed_ips"]["title"] == \
        "fixture.employed_ips"

    data = project / "data" / "trial.csv"
    data.write_text(data.read_text().replace("P02,IPS,41,0", "P02,IPS,41,1"))
    summary = render_book(project, formats=["html"], engine="builtin")
    assert summary.changed_results == [("fixture.employed_ips", "3", "4")]
    page = _soup(project, "02-results.html")
    changed = page.select("span.reported.changed")
    assert [s["data-key"] for s in changed] == ["fixture.employed_ips"]
    assert changed[0].get_text() == "4" and changed[0]["title"] == "fixture.employed_ips: changed from 3"
    unchanged = page.select_one('span.reported[data-key="fixture.n_total"]')
    assert "changed" not in unchanged["class"]
    note = page.select_one(".ipsr-changes-note")
    assert note is not None and note.find("a")["href"] == "changes.html"
    assert ".reported.changed," in page.head.select_one("style.ipsr-changes-style").get_text()  # visible
    assert _soup(project, "index.html").select_one(".ipsr-changes-note") is None  # nothing changed there
    report = _soup(project, "changes.html")
    assert [r["data-key"] for r in report.select("section.render")[0].select("tr.change")] == ["fixture.employed_ips"]
    assert "data/trial.csv: 0 row(s) added, 0 removed, 1 changed (employed: 1)." in report.get_text()
    assert "P02" not in (project / "_book" / "changes.html").read_text()

    # A render that changes nothing highlights nothing, and the report keeps the earlier entry.
    render_book(project, formats=["html"], engine="builtin")
    assert _soup(project, "02-results.html").select("span.reported.changed") == []
    assert len(_soup(project, "changes.html").select("section.render")) == 1
