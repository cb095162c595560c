"""The change report after a data update, on the whole book: render, change one participant's 12-month
employment, render again; the report must list exactly the values whose printed form changed (checked against
a comparison made here from the two results.json files), say what changed in the data as counts, and hold no
participant ID. ``_meta`` must fingerprint every data file, and the appendix must print the fingerprints."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from bs4 import BeautifulSoup
from typer.testing import CliRunner

from ipsreport.cli import app

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
ID_PATTERN = re.compile(r"\b(?:NO-\d{3}|UK-C?\d{3,4}|HC-\d{4})\b")


def _render(project: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ipsreport.cli", "render", "--to", "html", "--engine", "builtin",
                           "-C", str(project)], capture_output=True, text=True, timeout=1200)


def _printed(results: dict) -> dict[str, str]:
    """Printed forms straight from a results file: the comparison the report must agree with."""
    return {k: v["printed"] for k, v in results["_reported"].items()}


@pytest.fixture(scope="module")
def updated(tmp_path_factory):
    project = tmp_path_factory.mktemp("changes") / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(
        ".venv", "_book*", ".ipsreport-cache", ".git", "__pycache__", ".pytest_cache", "*.egg-info", "tests",
        "benchmarks"))
    first = _render(project)
    assert first.returncode == 0, first.stderr[-3000:]
    old = json.loads((project / "_book" / "results.json").read_text())
    old_pages = {page.name: page.read_text(encoding="utf-8") for page in (project / "_book").glob("*.html")}
    data = project / "data" / "ips-pain"
    emp = pd.read_csv(data / "employment.csv", dtype=str, keep_default_na=False)
    arms = pd.read_csv(data / "participants.csv", dtype=str, keep_default_na=False).set_index("participant_id")["arm"]
    pid = emp[(emp["month"] == "12") & (emp["participant_id"].map(arms) == "IPS")
              & (emp["employed"] == "0")]["participant_id"].iloc[0]
    # Employed by 12 months means employed by 24 months too (the outcome is cumulative).
    rows = (emp["participant_id"] == pid) & emp["month"].isin(["12", "24"]) & (emp["employed"] == "0")
    emp.loc[rows, "employed"] = "1"
    emp.to_csv(data / "employment.csv", index=False, lineterminator="\n")
    second = _render(project)
    assert second.returncode == 0, second.stderr[-3000:]
    new = json.loads((project / "_book" / "results.json").read_text())
    return project, old, new, {"participant": pid, "rows": int(rows.sum()), "console": second.stderr,
                               "old_pages": old_pages}


def _newest_render(project: Path) -> BeautifulSoup:
    soup = BeautifulSoup((project / "_book" / "changes.html").read_text(encoding="utf-8"), "lxml")
    return soup.select("section.render")[0]


def test_report_lists_exactly_the_changed_printed_values(updated):
    project, old, new, _ = updated
    a, b = _printed(old), _printed(new)
    expected = {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}
    assert "primary.m12.ips.employed" in expected and "ancillary.ips.employed" in expected
    # Some values moved only beyond their printed precision, and those must not be listed.
    raw_moved = {k for k in old.keys() & new.keys() if not k.startswith("_") and old[k] != new[k]}
    assert raw_moved - expected
    section = _newest_render(project)
    listed = {row["data-key"] for row in section.select("tr.change")}
    assert listed == expected
    for row in section.select("tr.change"):
        key = row["data-key"]
        assert row.select_one(".old").get_text() == a[key] and row.select_one(".new").get_text() == b[key]
    md = (project / "_book" / "changes.md").read_text()
    newest = md.split("\n## ")[1]
    assert {m for m in re.findall(r"^\| `([a-z0-9_.]+)` \|", newest, re.M)} == expected


def test_prose_values_are_the_printed_forms_on_the_page(updated):
    project, _, new, _ = updated
    page = BeautifulSoup((project / "_book" / "04-ancillary-analysis.html").read_text(), "lxml").get_text(" ")
    prose = {k: v for k, v in new["_reported"].items() if v["chapter"] == "04-ancillary-analysis" and v["in_prose"]}
    assert len(prose) == 13
    for key, entry in prose.items():
        text = entry["printed"].lstrip("<")
        assert text in page, key


def test_report_counts_the_data_rows_that_changed(updated):
    project, old, new, changed = updated
    section = _newest_render(project).get_text(" ")
    assert "data/ips-pain/employment.csv" in section
    n = changed["rows"]
    assert f"data/ips-pain/employment.csv: 0 row(s) added, 0 removed, {n} changed (employed: {n})." in section
    assert "questionnaires.csv" not in section  # unchanged files are not mentioned
    before = {f["path"]: f["sha256"] for f in old["_meta"]["data_files"]}
    after = {f["path"]: f["sha256"] for f in new["_meta"]["data_files"]}
    assert [p for p in after if after[p] != before.get(p)] == ["data/ips-pain/employment.csv"]


def test_meta_fingerprints_every_data_file_and_the_appendix_prints_them(updated):
    project, _, new, _ = updated
    meta = new["_meta"]
    files = sorted(p for p in (project / "data").rglob("*") if p.is_file())
    assert [f["path"] for f in meta["data_files"]] == [p.relative_to(project).as_posix() for p in files]
    appendix = (project / "_book" / "appendix-reproducibility.html").read_text()
    for entry, path in zip(meta["data_files"], files):
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert entry["sha256"] in appendix, entry["path"]
        if path.suffix == ".csv":
            assert entry["rows"] == len(pd.read_csv(path, dtype=str, keep_default_na=False))
    assert meta["schema_version"] == 2 and meta["engine"] == "builtin" and meta["ci_level"] == 0.95
    assert meta["datasets"] == {"instep": {"synthetic": True}, "ips-pain": {"synthetic": True}}
    assert meta["inputs"]["data/ips-pain/employment.csv"] == hashlib.sha256(
        (project / "data" / "ips-pain" / "employment.csv").read_bytes()).hexdigest()
    assert "chapters/04-ancillary-analysis.qmd" in meta["inputs"]


def test_no_participant_id_in_any_output_or_the_cache_history(updated):
    project, _, _, changed = updated
    outputs = [p for p in (project / "_book").rglob("*") if p.suffix in {".html", ".md", ".json"}]
    outputs += list((project / ".ipsreport-cache" / "_changes").glob("*.json"))
    for path in outputs:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert not ID_PATTERN.search(text), path
        assert changed["participant"] not in text
    assert not ID_PATTERN.search(changed["console"])


def test_navigation_links_the_report_and_the_console_points_to_it(updated):
    project, _, _, changed = updated
    for page in ("index.html", "04-ancillary-analysis.html"):
        soup = BeautifulSoup((project / "_book" / page).read_text(), "lxml")
        assert soup.select_one('nav a[href="changes.html"], aside a[href="changes.html"], a[href="changes.html"]')
    assert "every change: _book/changes.md" in changed["console"]


def test_diff_command_prints_the_same_comparison(updated, tmp_path):
    project, old, new, _ = updated
    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "new.json").write_text(json.dumps(new))
    result = CliRunner().invoke(app, ["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json")])
    assert result.exit_code == 0, result.output
    a, b = _printed(old), _printed(new)
    expected = {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}
    listed = set(re.findall(r"^  ([a-z0-9_.]+)  ", result.output, re.M))
    assert listed == expected
    assert f"{len(expected)} reported value(s) changed their printed form." in result.output
    assert "data/ips-pain/employment.csv (changed)" in result.output


NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
RENDER_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC")
CI_LEVEL = re.compile(r"\b95%")


def _prose(page: str, keys: set[str]) -> list[str]:
    """The text of a page's paragraphs outside tables (with their notes) and figures, with every printed value
    of ``keys`` (a ``span.reported``) replaced by a placeholder."""
    soup = BeautifulSoup(page, "lxml")
    main = soup.select_one("main") or soup
    for note in main.select(".ipsr-changes-note"):
        note.decompose()
    for span in main.select("span.reported[data-key]"):
        if span["data-key"] in keys:
            span.replace_with("\u00a7")
    for float_ in main.select("table, figure, .ipsr-float"):
        float_.decompose()
    # The render's own time (the appendix's provenance line) is not a result, and neither is the confidence
    # level, which also names intervals and planning scenarios ("upper 95% bound of TAU rate").
    return [CI_LEVEL.sub("", RENDER_TIME.sub("", p.get_text())) for p in main.find_all(["p", "li"])]


def _assert_moved_numbers_are_marked(project: Path, old: dict, new: dict, old_pages: dict[str, str]) -> set[str]:
    """Every paragraph of every page differs from its earlier version only where a printed value of a changed
    key stands, and each such value is highlighted; returns the pages with a highlighted value."""
    a, b = _printed(old), _printed(new)
    changed = {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}
    pages = sorted(name for name in old_pages if name not in ("changes.html", "versions.html"))
    assert "02-primary-outcome.html" in pages and "index.html" in pages
    moved = set()
    for name in pages:
        new_page = (project / "_book" / name).read_text(encoding="utf-8")
        before, after = _prose(old_pages[name], changed), _prose(new_page, changed)
        assert len(before) == len(after), name
        for old_text, new_text in zip(before, after):
            # Words may follow a number (a status whose count was zero is named once it is not); numbers may not.
            assert NUMBER.findall(old_text) == NUMBER.findall(new_text), \
                f"{name}: a number moved outside a marked value:\n{old_text}\n{new_text}"
        soup = BeautifulSoup(new_page, "lxml")
        marked = soup.select("span.reported[data-key]")
        for span in marked:
            assert ("changed" in span["class"]) == (span["data-key"] in changed), (name, span)
        if any("changed" in s["class"] for s in marked):
            moved.add(name)
    return moved


def test_every_number_that_moved_in_the_prose_is_a_marked_changed_value(updated):
    """Numbers in the prose go through the registry: after the data update, a paragraph of any page differs
    from its earlier version only where a printed value of a changed key stands, and each such value is
    highlighted. A number printed outside the registry that moved would make a paragraph differ."""
    project, old, new, info = updated
    moved = _assert_moved_numbers_are_marked(project, old, new, info["old_pages"])
    assert {"index.html", "02-primary-outcome.html", "04-ancillary-analysis.html", "discussion.html"} <= moved


@pytest.fixture(scope="module")
def updated_pilot(updated):
    """After the trial update, one pilot update: a mail-out recipient who did not reply now replied but could
    not be contacted, and one participant's 12-month questionnaire came back (not in paid work)."""
    project, _, before, _ = updated
    old_pages = {page.name: page.read_text(encoding="utf-8") for page in (project / "_book").glob("*.html")}
    data = project / "data" / "instep"
    recruitment = pd.read_csv(data / "recruitment.csv", dtype=str, keep_default_na=False)
    row = recruitment.index[(recruitment["method"] == "database_mailout") & (recruitment["outcome"] == "no_reply")][0]
    recruitment.loc[row, "outcome"] = "not_contactable"
    recruitment.to_csv(data / "recruitment.csv", index=False, lineterminator="\n")
    followup = pd.read_csv(data / "followup.csv", dtype=str, keep_default_na=False)
    row = followup.index[(followup["month"] == "12") & (followup["returned"] == "0")][0]
    followup.loc[row, ["returned", "in_paid_work"]] = ["1", "0"]
    followup.to_csv(data / "followup.csv", index=False, lineterminator="\n")
    third = _render(project)
    assert third.returncode == 0, third.stderr[-3000:]
    after = json.loads((project / "_book" / "results.json").read_text())
    return project, before, after, old_pages


def test_every_number_that_moved_after_a_pilot_update_is_a_marked_changed_value(updated_pilot):
    project, before, after, old_pages = updated_pilot
    assert _printed(before)["feasibility.recruitment.database_mailout.not_contactable"] != \
        _printed(after)["feasibility.recruitment.database_mailout.not_contactable"]
    moved = _assert_moved_numbers_are_marked(project, before, after, old_pages)
    assert {"05-feasibility.html", "discussion.html"} <= moved
