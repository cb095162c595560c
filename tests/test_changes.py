"""The change report's parts: comparison of two results files, the data diff (counts only), the history,
the highlighting of changed numbers, the report files and the ``ipsreport diff`` command."""

from __future__ import annotations

import json

import pypandoc
import pytest
from bs4 import BeautifulSoup
from typer.testing import CliRunner

from ipsreport import changes, datadiff, results
from ipsreport.cli import app


def _doc(values: dict, printed: dict | None = None, chapter: str = "02-primary", data: dict | None = None,
         at: str = "2026-01-01T00:00:00Z") -> dict:
    printed = printed or {}
    block = {k: {"printed": printed.get(k, results.printed_form(v, results.unit_of(k, v))),
                 "label": results.label_of(k), "chapter": chapter} for k, v in values.items()}
    meta = {"rendered_at": at, "data_files": [{"path": p, "sha256": s} for p, s in (data or {}).items()]}
    return {**values, "_reported": block, "_meta": meta}


OLD = _doc({"primary.m12.ips.percent": 38.235, "ancillary.or_ci_high": 11.598912, "primary.m12.ips.n": 34},
           data={"data/a.csv": "aaa", "data/b.csv": "bbb"})
NEW = _doc({"primary.m12.ips.percent": 41.176, "ancillary.or_ci_high": 11.598914, "primary.m12.tau.n": 20},
           data={"data/a.csv": "aaa", "data/b.csv": "ccc", "data/c.csv": "ddd"}, at="2026-01-02T00:00:00Z")


def test_compare_lists_printed_changes_only():
    found = changes.compare(OLD, NEW)
    assert [(c.key, c.old, c.new) for c in found] == [
        ("primary.m12.ips.n", "34", None), ("primary.m12.ips.percent", "38.2", "41.2"), ("primary.m12.tau.n", None, "20"),
    ]
    assert found[1].label == "Primary · 12 months · IPS · percent" and found[1].chapter == "02-primary"
    assert changes.changed_data_files(OLD, NEW) == [("data/b.csv", "changed"), ("data/c.csv", "added")]


def test_clip_caps_long_and_control_strings():
    assert changes.clip(None) == "(absent)"
    long = changes.clip("x" * 130_000)
    assert len(long) == changes.MAX_SHOWN and long.endswith("…")
    assert changes.clip("a\x1b[2Jb") == "a\\x1b[2Jb"


def _write_csv(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")


def test_data_diff_counts_rows_by_key_and_column(tmp_path):
    emp = tmp_path / "data" / "ips-pain" / "employment.csv"
    other = tmp_path / "data" / "extra" / "notes.csv"
    header = ["participant_id", "month", "employed"]
    _write_csv(emp, [header, ["NO-001", "6", "0"], ["NO-001", "12", "0"], ["NO-002", "12", "1"]])
    _write_csv(other, [["a", "b"], ["1", "2"], ["3", "4"]])
    _write_csv(tmp_path / "data" / "extra" / "people.csv", [["person_id", "x"], ["A1", "1"], ["A2", "2"]])
    before = datadiff.row_digests(tmp_path)
    assert before["data/ips-pain/employment.csv"]["keyed"] and not before["data/extra/notes.csv"]["keyed"]
    assert "NO-001" not in json.dumps(before)  # digests only
    _write_csv(emp, [header, ["NO-001", "6", "0"], ["NO-001", "12", "1"], ["NO-003", "12", "0"]])
    _write_csv(other, [["a", "b"], ["1", "2"], ["3", "5"]])
    _write_csv(tmp_path / "data" / "extra" / "people.csv", [["person_id", "x"], ["A1", "1"], ["A2", "3"]])
    found = {d.file: d for d in datadiff.diff_row_digests(before, datadiff.row_digests(tmp_path))}
    e = found["data/ips-pain/employment.csv"]
    assert (e.rows_added, e.rows_removed, e.rows_changed, e.columns) == (1, 1, 1, (("employed", 1),))
    n = found["data/extra/notes.csv"]  # no key: an edited row is one removed and one added
    assert (n.rows_added, n.rows_removed, n.rows_changed, n.keyed) == (1, 1, 0, False)
    p = found["data/extra/people.csv"]  # not in the dictionary: its unique *_id column is the key
    assert (p.rows_added, p.rows_removed, p.rows_changed, p.columns, p.keyed) == (0, 0, 1, (("x", 1),), True)
    assert datadiff.diff_row_digests(before, before) == []


def _entry() -> changes.RenderChanges:
    return changes.compare_results(OLD, NEW)


def test_report_files_group_by_chapter_newest_first_without_markup_from_values():
    older = changes.RenderChanges("2025-12-31T00:00:00Z", None, (changes.Change(
        "jobs.top", "Jobs · top", "02-primary", "<script>alert(1)</script>", "a|b"),))
    history = [_entry(), older]
    md = changes.report_markdown(history)
    assert md.index("Render of 2026-01-02") < md.index("Render of 2025-12-31")
    assert "| `primary.m12.ips.percent` | Primary · 12 months · IPS · percent | 38.2 | 41.2 |" in md
    assert "<script>" not in md and "a\\|b" in md
    page = changes.report_html(history, "Book")
    assert "<script>" not in page and "&lt;script&gt;" in page
    soup = BeautifulSoup(page, "lxml")
    sections = soup.select("section.render")
    assert [r["data-key"] for r in sections[0].select("tr.change")] == [
        "primary.m12.ips.n", "primary.m12.ips.percent", "primary.m12.tau.n"]
    assert "data/b.csv (changed)" in sections[0].get_text()


def test_history_round_trips_through_json():
    data = (datadiff.FileDataDiff("data/x.csv", "changed", 1, 0, 2, (("employed", 2),)),)
    entry = changes.RenderChanges("t1", "t0", _entry().changes, (("data/x.csv", "changed"),), data)
    assert changes.RenderChanges.from_json(json.loads(json.dumps(entry.to_json()))) == entry


def _page(body: str) -> str:
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>t</title>'
            '<script>if (a < b && c) {}</script></head><body><main>' + body + "</main></body></html>\n")


def test_changed_numbers_are_highlighted_in_html_with_a_note():
    results.clear()
    results.register("primary.m12.ips.percent", 41.176)
    results.register("primary.m12.tau.percent", 23.1)
    md = (f"# Results\n\nIPS {results.reported('primary.m12.ips.percent')._repr_markdown_()}%, "
          f"TAU {results.reported('primary.m12.tau.percent')._repr_markdown_()}%.\n")
    results.clear()
    page = _page(pypandoc.convert_text(md, "html", format="markdown"))
    marked = changes.highlight_page(page, _entry().changes, "2026-01-01T00:00:00Z")
    soup = BeautifulSoup(marked, "lxml")
    changed = soup.select("span.reported.changed[data-key]")
    assert [s["data-key"] for s in changed] == ["primary.m12.ips.percent"]
    assert changed[0].get_text() == "41.2" and changed[0]["title"].startswith("primary.m12.ips.percent: changed from 38.2")
    unchanged = soup.select_one('span.reported[data-key="primary.m12.tau.percent"]')
    assert "changed" not in unchanged["class"] and unchanged["title"] == "primary.m12.tau.percent"
    note = soup.select_one(".ipsr-changes-note")
    assert note is not None and note.find("a")["href"] == "changes.html"
    assert "(of 2026-01-01T00:00:00Z)" in note.get_text()
    assert ".reported.changed," in soup.head.select_one("style.ipsr-changes-style").get_text()
    assert soup.find("h1").find_next_sibling() == note  # right after the chapter title
    assert "if (a < b && c) {}" in marked  # scripts are kept as they were
    again = BeautifulSoup(changes.highlight_page(marked, _entry().changes, "x"), "lxml")
    assert len(again.select(".ipsr-changes-note")) == 1  # a second pass adds no second note
    # A page that shows no changed value is left alone.
    assert changes.highlight_page(_page("<p>nothing</p>"), _entry().changes) is None


def test_highlight_under_quarto_goes_after_the_title_block_and_escapes_what_it_inserts():
    hostile = changes.Change("a.text", "A", "02", "<img src=x onerror=alert(1)>\"'", "new")
    page = _page('<header id="title-block-header"><h1 class="title">2 Results</h1></header>'
                 '<p><span class="reported" data-key="a.text" title="a.text">new</span></p>')
    marked = changes.highlight_page(page, [hostile], '"><script>alert(1)</script>')
    soup = BeautifulSoup(marked, "lxml")
    assert soup.select_one("header#title-block-header").find_next_sibling()["class"] == ["ipsr-changes-note"]
    span = soup.select_one("span.reported.changed")
    assert span["title"] == "a.text: changed from <img src=x onerror=alert(1)>\"'"  # an attribute value only
    assert soup.find("img") is None and len(soup.find_all("script")) == 1  # only the page's own script


def test_diff_command(tmp_path):
    (tmp_path / "old.json").write_text(json.dumps(OLD))
    (tmp_path / "new.json").write_text(json.dumps(NEW))
    result = CliRunner().invoke(app, ["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json")])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Data files whose fingerprint changed: data/b.csv (changed), data/c.csv (added)",
        "02-primary:",
        "  primary.m12.ips.n  Primary · 12 months · IPS · n: 34 → (absent)",
        "  primary.m12.ips.percent  Primary · 12 months · IPS · percent: 38.2 → 41.2",
        "  primary.m12.tau.n  Primary · 12 months · TAU · n: (absent) → 20",
        "3 reported value(s) changed their printed form.",
    ]
    same = CliRunner().invoke(app, ["diff", str(tmp_path / "old.json"), str(tmp_path / "old.json")])
    assert same.output.strip() == "No reported value changed its printed form."


def test_diff_command_reads_results_files_without_printed_forms(tmp_path):
    (tmp_path / "old.json").write_text(json.dumps({"a.odds_ratio": 11.598912, "b.n": 3}))
    (tmp_path / "new.json").write_text(json.dumps({"a.odds_ratio": 11.598914, "b.n": 4}))
    result = CliRunner().invoke(app, ["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json")])
    assert "  b.n  B · n: 3 → 4" in result.output and "odds_ratio" not in result.output


@pytest.mark.parametrize("content", ["not json", "[1, 2]"])
def test_diff_command_rejects_unreadable_files_with_exit_2(tmp_path, content):
    (tmp_path / "old.json").write_text(content)
    (tmp_path / "new.json").write_text("{}")
    result = CliRunner().invoke(app, ["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json")])
    assert result.exit_code == 2 and "old.json" in result.output and "Traceback" not in result.output


def test_console_summary_quotes_short_printed_forms_and_points_to_the_report(tmp_path):
    import io
    import time

    from rich.console import Console

    from ipsreport.render.summary import RenderSummary, print_summary

    huge = "x" * 130_000 + "\x1b[2J"
    summary = RenderSummary(output_dir=tmp_path / "_book", change_report=tmp_path / "_book" / "changes.md")
    summary.changed_results = [("k.text", "a", huge)] + [(f"k.v{i:03d}", str(i), str(i + 1)) for i in range(100)]
    out = io.StringIO()
    start = time.perf_counter()
    print_summary(summary, Console(file=out, width=100), max_lines=40)
    assert time.perf_counter() - start < 5
    text = out.getvalue()
    flat = " ".join(text.split())
    assert "101 reported result(s) changed since the previous render (every change: _book/changes.md)" in flat
    assert flat.endswith("more (every change: _book/changes.md)")
    assert "k.text: a → xxxx" in flat and "…" in flat
    assert len(text) < 5000 and "\x1b" not in text


def test_what_a_render_that_never_landed_saved_is_ignored(tmp_path):
    # The post-render step saves the history before the swap; a render that failed afterwards left an entry
    # (and row digests) newer than the output the next render replaces.
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.csv").write_text("id,v\n1,a\n")
    folder = tmp_path / changes.CHANGES_DIR
    folder.mkdir(parents=True)
    landed = changes.RenderChanges("2026-01-01T00:00:00Z", None, (changes.Change("a.n", "A · n", "a", "2", "3"),))
    lost = changes.RenderChanges("2026-03-01T00:00:00Z", "2026-02-01T00:00:00Z",
                                 (changes.Change("a.n", "A · n", "a", "3", "9"),))
    (folder / "history.json").write_text(json.dumps([lost.to_json(), landed.to_json()]))
    datadiff.save_digests(datadiff.row_digests(tmp_path), folder / "data-rows.json")
    (folder / "data-rows.at").write_text("2026-03-01T00:00:00Z")
    old = {"_meta": {"rendered_at": "2026-02-01T00:00:00Z"}, "a.n": 3}
    report = changes.prepare_report(tmp_path, {"a.qmd": {"a.n": 4}}, old, "builtin")
    assert [h.rendered_at for h in report.history[1:]] == ["2026-01-01T00:00:00Z"]
    assert report.history[0].changes == (changes.Change("a.n", "A · n", "a.qmd", "3", "4"),)
    assert report.history[0].data_compared is False  # the kept digests belong to the lost render
    changes.save_report(report)
    assert (folder / "data-rows.at").read_text() == report.results["_meta"]["rendered_at"]
    again = changes.prepare_report(tmp_path, {"a.qmd": {"a.n": 4}}, report.results, "builtin")
    assert again.entry is None and again.history == report.history  # nothing changed: no new entry
