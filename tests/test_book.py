"""The whole book, rendered from a copy of the project: outputs, results.json, privacy, and that every number
follows a change in the data (the same copy is rendered again after perturbing it)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from conftest import copy_project as _copy_project, docx_text as _docx_text, pdf_text as _pdf_text
from conftest import render_project as _render

from ipsreport import feasibility, trial
from ipsreport.data.load import load_instep, load_ips_pain

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
ID_PATTERN = re.compile(r"\b(?:NO-\d{3}|UK-C?\d{3,4}|HC-\d{4})\b")
CHAPTER_PAGES = ["index.html", "introduction.html", "01-methods.html", "02-primary-outcome.html",
                 "03-secondary-outcomes.html", "04-ancillary-analysis.html", "05-feasibility.html", "discussion.html",
                 "appendix-reproducibility.html"]






def _page_text(book: Path, page: str) -> str:
    """A page's text as a reader sees it: inline elements (a printed value's span) joined without spaces, runs
    of white space as one space."""
    return " ".join(BeautifulSoup((book / page).read_text(encoding="utf-8"), "lxml").get_text().split())


@pytest.fixture(scope="module")
def rendered(rendered_report) -> Path:
    return rendered_report  # rendered once per session (conftest.py), shared with the typesetting tests


@pytest.fixture(scope="module")
def perturbed(rendered, tmp_path_factory) -> tuple[Path, dict]:
    """A second copy whose data differ: one more IPS participant employed by 12 months, one 6-month
    questionnaire dropped, and markup in a job sector. Returns the project and what was changed."""
    project = _copy_project(tmp_path_factory.mktemp("perturbed") / "project")
    data = project / "data" / "ips-pain"
    emp = pd.read_csv(data / "employment.csv", dtype=str, keep_default_na=False)
    arms = pd.read_csv(data / "participants.csv", dtype=str, keep_default_na=False).set_index("participant_id")["arm"]
    ips12 = emp[(emp["month"] == "12") & (emp["participant_id"].map(arms) == "IPS") & (emp["employed"] == "0")]
    pid = ips12["participant_id"].iloc[0]
    # Employed by 12 months means employed by 24 months too (cumulative); 6 months stays as it was.
    emp.loc[(emp["participant_id"] == pid) & (emp["month"].isin(["12", "24"])) & (emp["employed"] != ""),
            "employed"] = "1"
    emp.to_csv(data / "employment.csv", index=False, lineterminator="\n")
    q = pd.read_csv(data / "questionnaires.csv", dtype=str, keep_default_na=False)
    answered = q[(q["month"] == "6") & (q["odi"] != "") & (q["participant_id"].map(arms) == "IPS")]
    dropped = answered["participant_id"].iloc[0]
    scores = [c for c in q.columns if c not in ("participant_id", "month")]
    q.loc[(q["participant_id"] == dropped) & (q["month"] == "6"), scores] = ""
    q.to_csv(data / "questionnaires.csv", index=False, lineterminator="\n")
    jobs = pd.read_csv(data / "jobs.csv", dtype=str, keep_default_na=False)
    later_job = jobs.index[jobs["job_number"] != "1"][-1]  # job 1 must equal work_12m.job_sector
    jobs.loc[later_job, "job_sector"] = "<script>alert(1)</script>"
    jobs.to_csv(data / "jobs.csv", index=False, lineterminator="\n")
    # "Real" data: the notice must go.
    for facts in (data / "dataset.yaml", project / "data" / "instep" / "dataset.yaml"):
        facts.write_text(facts.read_text().replace("synthetic: true", "synthetic: false"))
    # The pilot: 100 fewer people sent the mail-out, and one IPS participant's 12-month questionnaire lost.
    pilot = project / "data" / "instep"
    rec = pd.read_csv(pilot / "recruitment.csv", dtype=str, keep_default_na=False)
    no_reply = rec.index[(rec["method"] == "database_mailout") & (rec["outcome"] == "no_reply")][:100]
    rec.drop(index=no_reply).to_csv(pilot / "recruitment.csv", index=False, lineterminator="\n")
    fu = pd.read_csv(pilot / "followup.csv", dtype=str, keep_default_na=False)
    returned = fu.groupby("participant_id")["returned"].apply(lambda s: (s == "1").all())
    pilot_arms = pd.read_csv(pilot / "participants.csv", dtype=str).set_index("participant_id")["arm"]
    complete_ips = [pid for pid, ok in returned.items() if ok and pilot_arms[pid] == "IPS"][0]
    fu.loc[(fu["participant_id"] == complete_ips) & (fu["month"] == "12"), ["returned", "in_paid_work"]] = ["0", ""]
    # One more TAU participant whose 12-month status is not ascertained (a returner not in work).
    tau_returner = fu.loc[(fu["month"] == "12") & (fu["returned"] == "1") & (fu["in_paid_work"] == "0")
                          & (fu["participant_id"].map(pilot_arms) == "TAU"), "participant_id"].iloc[0]
    fu.loc[(fu["participant_id"] == tau_returner) & (fu["month"] == "12"), ["returned", "in_paid_work"]] = ["0", ""]
    fu.to_csv(pilot / "followup.csv", index=False, lineterminator="\n")
    result = _render(project)
    if result.returncode != 0 and "job_sector" in result.stderr:
        pytest.fail("the validator rejects free-text sectors; the escaping test needs one\n" + result.stderr[-2000:])
    assert result.returncode == 0, result.stderr[-3000:]
    return project, {"participant": pid, "dropped": dropped}


def test_outputs_exist(rendered):
    book = rendered / "_book"
    for page in CHAPTER_PAGES:
        assert (book / page).stat().st_size > 2000, page
    from pypdf import PdfReader

    assert len(PdfReader(book / "book.pdf").pages) >= 8
    assert (book / "book.docx").stat().st_size > 20000


def test_results_json_has_the_required_keys(rendered):
    results = json.loads((rendered / "_book" / "results.json").read_text())
    required = ["flow.randomized", "flow.withdrawn", "flow.analysed.ips", "flow.analysed.tau",
                "ancillary.historical.n", "ancillary.historical.employed", "ancillary.historical.percent",
                "ancillary.chi2", "ancillary.p_value", "ancillary.odds_ratio", "ancillary.or_ci_low",
                "ancillary.or_ci_high", "feasibility.recruited.primary_care", "feasibility.recruited.pain_service",
                "feasibility.retention.all_returned.ips.percent", "feasibility.retention.all_returned.tau.percent",
                "feasibility.retention.none_returned.ips", "feasibility.retention.none_returned.tau",
                "feasibility.employed_12m.ips.count", "feasibility.employed_12m.ips.n",
                "feasibility.employed_12m.tau.count", "feasibility.employed_12m.tau.n"]
    for m in (6, 12, 24):
        for arm in ("ips", "tau"):
            required += [f"primary.m{m}.{arm}.{s}" for s in ("employed", "n", "percent")]
        required += [f"primary.m{m}.{s}" for s in ("p_value", "odds_ratio", "or_ci_low", "or_ci_high")]
    missing = [k for k in required if k not in results]
    assert not missing
    # Percentages are 0-100 and unrounded.
    assert results["primary.m12.ips.percent"] == pytest.approx(100 * results["primary.m12.ips.employed"]
                                                               / results["primary.m12.ips.n"], rel=1e-12)


def test_results_json_equals_the_analysis_registry(rendered):
    """What the chapters registered is exactly what trial.all_results and feasibility.all_results compute."""
    results = json.loads((rendered / "_book" / "results.json").read_text())
    expected = trial.all_results(load_ips_pain(rendered / "data"), trial.design(rendered / "config" / "design.yaml"))
    expected |= feasibility.all_results(load_instep(rendered / "data"))
    for key, value in expected.items():
        assert key in results, key
        if isinstance(value, float):
            assert results[key] == pytest.approx(value, rel=1e-9, nan_ok=True), key
        else:
            assert results[key] == value, key


def test_no_participant_ids_in_any_output(rendered):
    book = rendered / "_book"
    texts = {p.name: p.read_text(encoding="utf-8", errors="replace") for p in book.glob("*.html")}
    texts["results.json"] = (book / "results.json").read_text()
    texts["book.pdf"] = _pdf_text(book / "book.pdf")
    texts["book.docx"] = _docx_text(book / "book.docx")
    leaks = {name: ID_PATTERN.findall(text)[:3] for name, text in texts.items() if ID_PATTERN.search(text)}
    assert not leaks
    # Row-level records would show up as long tables: no table in the book has more rows than the largest
    # aggregate table (the concordance lists).
    html = (book / "appendix-reproducibility.html").read_text()
    assert "participant_id" not in " ".join(texts.values())
    assert html.count("<table") >= 3


def test_every_table_appears_in_docx_and_pdf(rendered):
    book = rendered / "_book"
    pdf = re.sub(r"\s+", " ", _pdf_text(book / "book.pdf"))
    docx_text = _docx_text(book / "book.docx")
    import docx

    n_docx_tables = len(docx.Document(book / "book.docx").tables)
    n_html_tables = 0
    for page in CHAPTER_PAGES:
        soup = BeautifulSoup((book / page).read_text(encoding="utf-8"), "lxml")
        for table in soup.find_all("table", class_="gt_table"):
            n_html_tables += 1
            first_cell = table.find("tbody").find(["td", "th"]).get_text(" ", strip=True)
            assert first_cell in docx_text, (page, first_cell)
            assert first_cell.split()[0] in pdf, (page, first_cell)
    assert n_docx_tables >= n_html_tables > 20


def test_abstract_states_both_12_month_rates(rendered):
    results = json.loads((rendered / "_book" / "results.json").read_text())
    text = _page_text(rendered / "_book", "index.html")
    ips, tau = results["primary.m12.ips.percent"], results["primary.m12.tau.percent"]
    assert f"({ips:.1f}%)" in text and f"({tau:.1f}%)" in text
    assert "synthetic" in text.lower()  # the notice, driven by data/ips-pain/dataset.yaml


def test_numbers_follow_the_data(rendered, perturbed):
    project, changed = perturbed
    old = json.loads((rendered / "_book" / "results.json").read_text())
    new = json.loads((project / "_book" / "results.json").read_text())
    assert new["primary.m12.ips.employed"] == old["primary.m12.ips.employed"] + 1
    assert new["primary.m12.ips.percent"] > old["primary.m12.ips.percent"]
    assert new["primary.m12.p_value"] != old["primary.m12.p_value"]
    assert new["ancillary.chi2"] != old["ancillary.chi2"]
    assert new["secondary.m6.odi.ips.n"] == old["secondary.m6.odi.ips.n"] - 1
    assert new["mixed.odi.group.estimate"] != old["mixed.odi.group.estimate"]
    # The abstract sentence, Table 2 and the ancillary chapter's text follow.
    old_text, new_text = (_page_text(p / "_book", "index.html") for p in (rendered, project))
    o, n = old["primary.m12.ips.employed"], new["primary.m12.ips.employed"]
    assert f"{o} of {old['primary.m12.ips.n']} respondents in the IPS arm" in old_text
    assert f"{n} of {new['primary.m12.ips.n']} respondents in the IPS arm" in new_text
    old_t2, new_t2 = (_page_text(p / "_book", "02-primary-outcome.html") for p in (rendered, project))
    assert f"{o}/{old['primary.m12.ips.n']} (" in old_t2 and f"{n}/{new['primary.m12.ips.n']} (" in new_t2
    assert f"{new['ancillary.chi2']:.2f}" in _page_text(project / "_book", "04-ancillary-analysis.html")
    pdf = re.sub(r"\s+", " ", _pdf_text(project / "_book" / "book.pdf"))
    assert f"{n} of {new['primary.m12.ips.n']} respondents" in pdf


def test_markup_in_data_is_escaped(perturbed):
    project, _ = perturbed
    html = (project / "_book" / "02-primary-outcome.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_bad_data_stop_the_render_and_keep_the_old_book(rendered, tmp_path):
    project = _copy_project(tmp_path / "project")
    shutil.copytree(rendered / "_book", project / "_book")
    before = {p.relative_to(project): p.read_bytes() for p in (project / "_book").rglob("*") if p.is_file()}
    path = project / "data" / "ips-pain" / "participants.csv"
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace(",IPS,", ",IPSX,").replace(",TAU,", ",IPSX,")
    path.write_text("\n".join(lines) + "\n")
    result = _render(project, "html")
    assert result.returncode == 2
    assert "participants.csv" in result.stderr and "line 4" in result.stderr and "IPSX" in result.stderr
    assert "Traceback" not in result.stderr
    after = {p.relative_to(project): p.read_bytes() for p in (project / "_book").rglob("*") if p.is_file()}
    assert after == before


def test_notice_goes_with_real_data(rendered, perturbed):
    project, _ = perturbed
    assert "synthetic reconstruction" in (rendered / "_book" / "index.html").read_text()
    assert "ipsr-notice" in (rendered / "_book" / "05-feasibility.html").read_text()
    for page in CHAPTER_PAGES:
        html = (project / "_book" / page).read_text()
        assert "synthetic reconstruction" not in html and 'class="ipsr-notice"' not in html, page
    assert "synthetic" not in _pdf_text(project / "_book" / "book.pdf").split("1 Methods")[0].lower()


def test_feasibility_text_and_tables_follow_the_pilot_data(rendered, perturbed):
    project, _ = perturbed
    old = json.loads((rendered / "_book" / "results.json").read_text())
    new = json.loads((project / "_book" / "results.json").read_text())
    assert new["feasibility.approached.primary_care"] == old["feasibility.approached.primary_care"] - 100
    assert new["feasibility.retention.all_returned.ips.count"] == old["feasibility.retention.all_returned.ips.count"] - 1
    old_text, new_text = (_page_text(p / "_book", "05-feasibility.html") for p in (rendered, project))
    approached_old, approached_new = old["feasibility.approached.primary_care"], new["feasibility.approached.primary_care"]
    assert f"from {approached_old:,} people approached in primary care" in old_text
    assert f"from {approached_new:,} people approached in primary care" in new_text
    k = old["feasibility.retention.all_returned.ips.count"]
    assert f"{k}/22, " in old_text and f"{k - 1}/22, " in new_text
    assert new["feasibility.planning.protocol_assumption.to_approach"] < old["feasibility.planning.protocol_assumption.to_approach"]


def test_employment_known_12m_follows_a_tau_non_return(rendered, perturbed):
    """The strict 12-month ascertainment in results.json, the text, the PDF and the DOCX, before and after one more
    TAU participant's 12-month questionnaire is lost; the planning sizes follow the attrition."""
    project, _ = perturbed
    old = json.loads((rendered / "_book" / "results.json").read_text())
    new = json.loads((project / "_book" / "results.json").read_text())
    key = "feasibility.progression.employment_known_12m"
    assert (old[f"{key}.count"], old[f"{key}.n"], old[f"{key}.verdict"]) == (44, 50, "amber")
    assert old[f"{key}.observed"] == pytest.approx(88.0) and new[f"{key}.observed"] == pytest.approx(86.0)
    assert (new[f"{key}.count"], new[f"{key}.verdict"]) == (43, "amber")
    assert round(old[f"{key}.ci_low"], 1) == 76.2 and round(old[f"{key}.ci_high"], 1) == 94.4
    plan = "feasibility.planning.protocol_assumption"
    assert (old[f"{plan}.n_inflated_per_arm"], new[f"{plan}.n_inflated_per_arm"]) == (39, 40)
    assert (old[f"{plan}.n_total"], new[f"{plan}.n_total"]) == (78, 80)
    for book, k, pct in ((rendered / "_book", 44, "88.0"), (project / "_book", 43, "86.0")):
        html = _page_text(book, "05-feasibility.html")
        assert f"ascertained at 12 months for {k} of 50 participants ({pct}%" in html
        assert f"{pct} (" in html and "post hoc" in html
        pdf = re.sub(r"\s+", " ", _pdf_text(book / "book.pdf"))
        assert f"for {k} of 50 participants ({pct}%" in pdf and "post hoc" in pdf
        docx_text = _docx_text(book / "book.docx")
        assert f"for {k} of 50 participants ({pct}%" in docx_text
        assert any(cell.startswith(f"{pct} (") for cell in docx_text.splitlines())
