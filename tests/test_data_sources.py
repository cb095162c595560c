"""Source files (SPSS, Stata, Excel) read through the ``sources:`` mapping of ``dataset.yaml``: the shipped
examples give exactly the CSVs' data and every chapter's results; broken sources get located messages in
the source's terms; ``ipsreport import`` writes the contract CSVs."""

from __future__ import annotations

import math
import shutil
import warnings
from pathlib import Path

import openpyxl
import pandas as pd
import pyreadstat
import pytest
import yaml
from typer.testing import CliRunner

from ipsreport import feasibility, trial
from ipsreport.cli import app
from ipsreport.data.dictionary import DATASETS
from ipsreport.data.load import load_instep, load_ips_pain
from ipsreport.data.validate import validate_data_dir
from ipsreport.synth.examples import EXAMPLE_FORMATS, write_examples

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
EXAMPLES = ROOT / "examples"
runner = CliRunner()

FRAMES = {
    "ips-pain": ("participants", "questionnaires", "employment", "work_12m", "jobs", "historical_controls"),
    "instep": ("recruitment", "participants", "followup", "employer_themes"),
}
LOADERS = {"ips-pain": load_ips_pain, "instep": load_instep}


def _same_results(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, float) and math.isnan(x):
            assert isinstance(y, float) and math.isnan(y), key
        else:
            assert x == y, key  # identical, not merely close: the same numbers went in


@pytest.mark.parametrize("fmt", EXAMPLE_FORMATS)
@pytest.mark.parametrize("name", ["ips-pain", "instep"])
def test_example_sources_load_to_the_csv_frames(fmt, name):
    from_csv, from_source = LOADERS[name](DATA), LOADERS[name](EXAMPLES / fmt)
    for frame in FRAMES[name]:
        pd.testing.assert_frame_equal(getattr(from_csv, frame), getattr(from_source, frame), check_exact=True)
    assert (from_csv.synthetic, from_csv.notice) == (from_source.synthetic, from_source.notice)


@pytest.fixture(scope="module")
def csv_results():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return trial.all_results(load_ips_pain(DATA)), feasibility.all_results(load_instep(DATA))


@pytest.mark.parametrize("fmt", EXAMPLE_FORMATS)
def test_every_chapter_result_from_example_sources_equals_the_csv_result(fmt, csv_results):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ips = trial.all_results(load_ips_pain(EXAMPLES / fmt))
        pilot = feasibility.all_results(load_instep(EXAMPLES / fmt))
    assert len(ips) > 500 and len(pilot) > 500
    _same_results(csv_results[0], ips)
    _same_results(csv_results[1], pilot)


def test_shipped_examples_are_what_synthesize_writes(tmp_path):
    written = write_examples(DATA, tmp_path)
    assert written
    for path in written:
        shipped = EXAMPLES / path.relative_to(tmp_path)
        assert path.read_bytes() == shipped.read_bytes(), shipped


def test_example_sources_hold_value_labels_and_numeric_ids():
    frame, meta = pyreadstat.read_sav(str(EXAMPLES / "spss" / "ips-pain" / "participants.sav"))
    assert meta.variable_value_labels["group"] == {1.0: "Individual placement and support", 2.0: "Treatment as usual"}
    assert frame["id"].iloc[0] == 1.0
    _, meta = pyreadstat.read_dta(str(EXAMPLES / "stata" / "instep" / "participants.dta"))
    assert meta.variable_value_labels["sex"] == {1: "Male", 2: "Female"}
    book = openpyxl.load_workbook(EXAMPLES / "excel" / "ips-pain" / "ips-pain.xlsx", read_only=True)
    assert book.sheetnames == [n for n in FRAMES["ips-pain"]]


def test_import_writes_contract_csvs_with_the_same_data(tmp_path):
    out = tmp_path / "data"
    result = runner.invoke(app, ["import", "--data-dir", str(EXAMPLES / "stata"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert validate_data_dir(out) == []
    for name in ("ips-pain", "instep"):
        assert "sources" not in yaml.safe_load((out / name / "dataset.yaml").read_text(encoding="utf-8"))
        a, b = LOADERS[name](DATA), LOADERS[name](out)
        for frame in FRAMES[name]:
            pd.testing.assert_frame_equal(getattr(a, frame), getattr(b, frame), check_exact=True)
    # The IPS in Pain CSV files are written exactly as synthesize writes them.
    for f in DATASETS[0].files:
        assert (out / "ips-pain" / f.name).read_bytes() == (DATA / "ips-pain" / f.name).read_bytes(), f.name


# -- broken sources --------------------------------------------------------------------------------------


def _copy(tmp_path: Path, fmt: str) -> Path:
    data = tmp_path / "data"
    shutil.copytree(EXAMPLES / fmt, data)
    return data


def _rewrite_sav(path: Path, change) -> None:
    frame, meta = pyreadstat.read_sav(str(path), apply_value_formats=False)
    frame = change(frame)
    labels = dict(meta.variable_value_labels)
    pyreadstat.write_sav(frame, str(path), variable_value_labels=labels)


def _validate(data: Path):
    result = runner.invoke(app, ["validate", "--data-dir", str(data)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return result.output


def test_a_code_not_in_the_mapping_is_located_in_the_source(tmp_path):
    data = _copy(tmp_path, "spss")
    path = data / "ips-pain" / "participants.sav"
    frame, meta = pyreadstat.read_sav(str(path), apply_value_formats=False)
    frame.loc[4, "group"] = 3.0
    labels = dict(meta.variable_value_labels)
    labels["group"] = {**labels["group"], 3.0: "Dropped"}
    pyreadstat.write_sav(frame, str(path), variable_value_labels=labels)
    problems = validate_data_dir(data)
    assert [(p.file, p.line, p.variable, p.column, p.value) for p in problems] == [
        ("data/ips-pain/participants.sav", 5, "group", "arm", "3")
    ]
    assert "'Dropped'" in problems[0].rule and "1, 2" in problems[0].rule
    output = _validate(data)
    assert "data/ips-pain/participants.sav, row 5, variable group (column arm): value '3'" in output


def test_a_label_not_in_the_mapping_is_located_in_the_source(tmp_path):
    data = _copy(tmp_path, "stata")
    path = data / "instep" / "participants.dta"
    frame, meta = pyreadstat.read_dta(str(path), apply_value_formats=False)
    frame.loc[1, "sex"] = 3.0
    labels = {k: dict(v) for k, v in meta.variable_value_labels.items()}
    labels["sex"][3] = "Prefer not to say"
    pyreadstat.write_dta(frame, str(path), variable_value_labels=labels)
    (problem,) = validate_data_dir(data)
    assert (problem.file, problem.line, problem.variable, problem.column) == ("data/instep/participants.dta", 2, "sex", "sex")
    assert "Prefer not to say" in problem.rule


def test_a_missing_source_variable_is_one_located_problem(tmp_path):
    data = _copy(tmp_path, "spss")
    _rewrite_sav(data / "ips-pain" / "employment.sav", lambda f: f.rename(columns={"working": "work"}))
    problems = validate_data_dir(data)
    assert [(p.file, p.line, p.variable, p.column) for p in problems] == [
        ("data/ips-pain/employment.sav", None, "working", "employed")
    ]
    assert "source variable is missing" in problems[0].rule and "work" in problems[0].rule
    assert "employment.sav, variable working (column employed): source variable is missing" in _validate(data)


def test_a_string_in_a_numeric_variable_is_located(tmp_path):
    data = _copy(tmp_path, "spss")
    path = data / "ips-pain" / "participants.sav"
    frame, meta = pyreadstat.read_sav(str(path), apply_value_formats=False)
    frame["age"] = ["forty" if i == 2 else ("" if pd.isna(v) else str(int(v))) for i, v in enumerate(frame["age"])]
    pyreadstat.write_sav(frame, str(path), variable_value_labels=dict(meta.variable_value_labels))
    problems = validate_data_dir(data)
    assert [(p.file, p.line, p.variable, p.value, p.rule) for p in problems] == [
        ("data/ips-pain/participants.sav", 3, "age", "forty", "is not a whole number")
    ]


def test_text_in_a_numeric_excel_column_is_located_by_sheet_and_row(tmp_path):
    data = _copy(tmp_path, "excel")
    path = data / "ips-pain" / "ips-pain.xlsx"
    book = openpyxl.load_workbook(path)
    sheet = book["questionnaires"]
    header = [c.value for c in sheet[1]]
    sheet.cell(row=7, column=header.index("eq_vas") + 1, value="n/a")
    book.save(path)
    problems = validate_data_dir(data)
    assert [(p.file, p.sheet, p.line, p.variable, p.value) for p in problems] == [
        ("data/ips-pain/ips-pain.xlsx", "questionnaires", 7, "eq_vas", "n/a")
    ]
    assert "ips-pain.xlsx, sheet questionnaires, row 7, variable eq_vas: value 'n/a' is not a number" in _validate(data)


def test_a_wrong_sheet_name_is_reported_with_the_sheets_there_are(tmp_path):
    data = _copy(tmp_path, "excel")
    meta = data / "instep" / "dataset.yaml"
    meta.write_text(meta.read_text(encoding="utf-8").replace("sheet: followup", "sheet: follow-up"), encoding="utf-8")
    problems = validate_data_dir(data)
    assert [(p.file, p.sheet) for p in problems] == [("data/instep/instep.xlsx", "follow-up")]
    assert "has no sheet 'follow-up'" in problems[0].rule and "followup" in problems[0].rule


def test_an_id_that_is_not_a_whole_number_is_located(tmp_path):
    data = _copy(tmp_path, "spss")

    def change(frame):
        frame.loc[0, "regno"] = 1.5
        return frame

    _rewrite_sav(data / "ips-pain" / "historical_controls.sav", change)
    (problem,) = validate_data_dir(data)
    assert (problem.line, problem.variable, problem.column, problem.value) == (1, "regno", "control_id", "1.5")
    assert "HC-{:04d}" in problem.rule


def test_contract_rules_are_reported_in_source_terms(tmp_path):
    # An age out of range is a contract rule; the message still names the source file, row and variable,
    # and the source value of an ID is shown next to the contract ID.
    data = _copy(tmp_path, "spss")

    def change(frame):
        frame.loc[1, "age"] = 99.0
        frame.loc[3, "id"] = frame.loc[2, "id"]
        return frame

    _rewrite_sav(data / "ips-pain" / "participants.sav", change)
    problems = validate_data_dir(data)
    shown = [str(p) for p in problems if p.file.endswith("participants.sav")]
    assert "data/ips-pain/participants.sav, row 2, variable age: value '99' is outside the range 18 to 65" in shown
    assert any("row 4, variable id (column participant_id): value '3' (read as 'NO-003') repeats" in s for s in shown)


def test_unsorted_sources_are_accepted(tmp_path):
    data = _copy(tmp_path, "spss")
    _rewrite_sav(data / "ips-pain" / "jobs.sav", lambda f: f.iloc[::-1].reset_index(drop=True))
    assert validate_data_dir(data) == []
    pd.testing.assert_frame_equal(load_ips_pain(data).jobs, load_ips_pain(DATA).jobs)


@pytest.mark.parametrize(
    ("entry", "rule"),
    [
        ({"file": "p.sav", "columns": {"arm_": "group"}}, "is not a column of participants.csv"),
        ({"file": "p.sav", "columns": {"participant_id": {"source": "id", "format": "{0.__class__}"}}},
         "format: is not an ID format"),
        ({"file": "../../outside.sav"}, "is not a relative path inside the data folder"),
        ({"file": "/etc/passwd.csv"}, "is not a relative path inside the data folder"),
        ({"file": "p.sav", "sheet": "x"}, "is only for Excel"),
        ({"file": "p.xlsx"}, "is missing: an Excel source names the sheet"),
        ({"file": "p.sas7bdat"}, "is not a source file"),
        ({"file": "p.sav", "columns": {"arm": {"source": "group", "codes": [1, 2]}}}, "codes: is not a mapping"),
    ],
)
def test_mistakes_in_the_mapping_are_located_in_dataset_yaml(tmp_path, entry, rule):
    data = _copy(tmp_path, "spss")
    meta = data / "ips-pain" / "dataset.yaml"
    facts = yaml.safe_load(meta.read_text(encoding="utf-8"))
    facts["sources"]["participants.csv"] = entry
    meta.write_text(yaml.safe_dump(facts, sort_keys=False), encoding="utf-8")
    problems = validate_data_dir(data)
    assert len(problems) == 1, problems
    (problem,) = problems
    assert problem.file == "data/ips-pain/dataset.yaml" and problem.line is not None
    assert problem.column.startswith("sources.participants.csv")
    assert rule in problem.rule


def test_an_unreadable_source_is_one_problem(tmp_path):
    data = _copy(tmp_path, "stata")
    (data / "ips-pain" / "jobs.dta").write_bytes(b"not a Stata file")
    problems = validate_data_dir(data)
    assert [(p.file, p.line) for p in problems] == [("data/ips-pain/jobs.dta", None)]
    assert problems[0].rule.startswith("is not a readable Stata file")


def test_import_writes_nothing_when_a_source_is_broken(tmp_path):
    data = _copy(tmp_path, "spss")
    _rewrite_sav(data / "ips-pain" / "employment.sav", lambda f: f.rename(columns={"working": "work"}))
    out = tmp_path / "out"
    result = runner.invoke(app, ["import", "--data-dir", str(data), "--out", str(out)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "employment.sav, variable working" in result.output
    assert not out.exists()


def test_reading_a_source_is_visible_to_python_audit_hooks():
    # The render's cache records the data files a chapter opens through an audit hook; pyreadstat opens
    # files in C, so the loader must open them where the hook sees it.
    import subprocess
    import sys

    code = (
        "import sys, os\n"
        "seen = set()\n"
        "sys.addaudithook(lambda e, a: seen.add(os.path.basename(os.fsdecode(a[0]))) "
        "if e == 'open' and a and isinstance(a[0], (str, bytes, os.PathLike)) else None)\n"
        "from ipsreport.data.load import load_ips_pain, load_instep\n"
        f"load_ips_pain({str(EXAMPLES / 'spss')!r}); load_instep({str(EXAMPLES / 'stata')!r})\n"
        "print(sorted(n for n in seen if n.endswith(('.sav', '.dta'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    expected = sorted([f"{n}.sav" for n in FRAMES["ips-pain"]] + [f"{n}.dta" for n in FRAMES["instep"]])
    assert out.strip() == repr(expected)


def test_a_workbook_that_unpacks_beyond_the_cap_is_not_read(tmp_path):
    data = _copy(tmp_path, "excel")
    path = data / "instep" / "instep.xlsx"
    book = openpyxl.load_workbook(path)
    book.create_sheet("padding").append(["x" * 30_000] * 40)  # compresses to almost nothing
    book.save(path)
    problems = validate_data_dir(data, max_bytes=100_000)
    assert {(p.file, p.line) for p in problems} == {("data/instep/instep.xlsx", None)}
    assert "unpacks to" in problems[0].rule


def test_problems_of_a_source_are_listed_in_row_order(tmp_path):
    data = _copy(tmp_path, "spss")

    def change(frame):
        frame.loc[1, "age"] = 99.0  # row 2: a contract rule
        frame.loc[4, "group"] = 7.0  # row 5: a code the mapping lacks
        frame.loc[0, "sex"] = 5.0  # row 1: another
        return frame

    _rewrite_sav(data / "ips-pain" / "participants.sav", change)
    problems = [p for p in validate_data_dir(data) if p.file.endswith("participants.sav")]
    assert [(p.line, p.variable) for p in problems] == [(1, "sex"), (2, "age"), (5, "group")]


def test_an_unmapped_label_in_an_excel_column_is_one_problem(tmp_path):
    # "Unknown" in the sex column is neither a mapped label nor 0/1: reported once, as a mapping problem.
    data = _copy(tmp_path, "excel")
    path = data / "ips-pain" / "ips-pain.xlsx"
    book = openpyxl.load_workbook(path)
    sheet = book["participants"]
    header = [c.value for c in sheet[1]]
    sheet.cell(row=3, column=header.index("sex") + 1, value="Unknown")
    book.save(path)
    problems = validate_data_dir(data)
    assert [(p.sheet, p.line, p.variable, p.column, p.value) for p in problems] == [
        ("participants", 3, "sex", "female", "Unknown")
    ]
    assert "is not in the codes of female" in problems[0].rule


def test_a_csv_source_with_its_own_names_and_codes(tmp_path):
    data = _copy(tmp_path, "spss")
    jobs = pd.read_csv(DATA / "ips-pain" / "jobs.csv", dtype=str)
    export = pd.DataFrame({
        "Study ID": jobs["participant_id"].str.removeprefix("NO-").astype(int),
        "Job": jobs["job_number"],
        "Sector": jobs["job_sector"],
    })
    export.to_csv(data / "ips-pain" / "jobs_export.csv", index=False, lineterminator="\n")
    meta = data / "ips-pain" / "dataset.yaml"
    facts = yaml.safe_load(meta.read_text(encoding="utf-8"))
    facts["sources"]["jobs.csv"] = {"file": "jobs_export.csv", "columns": {
        "participant_id": {"source": "Study ID", "format": "NO-{:03d}"}, "job_number": "Job", "job_sector": "Sector"}}
    meta.write_text(yaml.safe_dump(facts, sort_keys=False), encoding="utf-8")
    assert validate_data_dir(data) == []
    pd.testing.assert_frame_equal(load_ips_pain(data).jobs, load_ips_pain(DATA).jobs)
    with open(data / "ips-pain" / "jobs_export.csv", "a", encoding="utf-8") as f:
        f.write("x7,1,retail\n")
    (problem,) = validate_data_dir(data)
    assert (problem.file, problem.line, problem.variable, problem.value) == (
        "data/ips-pain/jobs_export.csv", len(jobs) + 2, "Study ID", "x7")
    assert str(problem).startswith(f"data/ips-pain/jobs_export.csv, line {len(jobs) + 2}, variable Study ID (column participant_id)")
