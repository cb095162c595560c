"""Validation of data/: a clean fixture passes; each broken input is reported with its exact file, line,
column and rule; several problems in several files are all reported at once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from data_fixture import find_row, set_cell, valid_files, valid_yamls, write_data_dir
from ipsreport.data.validate import (
    MAX_SHOWN,
    DataValidationError,
    Problem,
    format_problem,
    format_problems,
    validate_data_dir,
    validate_dataset,
    validate_project_data,
)

PROJECT = Path(__file__).resolve().parents[1]

P = "data/ips-pain/"
U = "data/instep/"

Files = dict[str, list[list[str]]]
Yamls = dict[str, str]


def test_valid_fixture_has_no_problems(tmp_path):
    assert validate_data_dir(write_data_dir(tmp_path)) == []


def test_validate_project_data_passes_clean_data(tmp_path):
    write_data_dir(tmp_path)
    assert validate_project_data(tmp_path) is None


# -- the corpus of broken inputs: each breaks one thing and says what must be reported ------------------

CASES: list[tuple[str, Callable[[Files, Yamls], list[Problem]]]] = []


def case(fn: Callable[[Files, Yamls], list[Problem]]):
    CASES.append((fn.__name__, fn))
    return fn


def _drop_column(files: Files, path: str, column: str) -> None:
    i = files[path][0].index(column)
    for row in files[path]:
        del row[i]


@case
def missing_file(files, yamls):
    del files["ips-pain/jobs.csv"]
    return [Problem(P + "jobs.csv", None, None, None, "file is missing")]


@case
def missing_column(files, yamls):
    _drop_column(files, "ips-pain/questionnaires.csv", "bpi_least")
    return [Problem(P + "questionnaires.csv", 1, "bpi_least", None, "column is missing")]


@case
def unexpected_column(files, yamls):
    for row in files["ips-pain/historical_controls.csv"]:
        row.append("x")
    files["ips-pain/historical_controls.csv"][0][-1] = "notes"
    return [Problem(P + "historical_controls.csv", 1, "notes", None, "is not a column of this file")]


@case
def column_twice_in_header(files, yamls):
    for row in files["ips-pain/historical_controls.csv"]:
        row.append(row[1])
    return [Problem(P + "historical_controls.csv", 1, "employed_12m", None, "appears twice in the header")]


@case
def text_in_integer_column(files, yamls):
    line = set_cell(files, "ips-pain/participants.csv", 1, "age", "forty")
    return [Problem(P + "participants.csv", line, "age", "forty", "is not a whole number")]


@case
def text_in_score_column(files, yamls):
    line = set_cell(files, "ips-pain/questionnaires.csv", 4, "odi", "n/a")
    return [Problem(P + "questionnaires.csv", line, "odi", "n/a", "is not a number")]


@case
def arm_ipsx(files, yamls):
    line = set_cell(files, "ips-pain/participants.csv", 0, "arm", "IPSX")
    return [Problem(P + "participants.csv", line, "arm", "IPSX", "is not one of IPS, TAU")]


@case
def odi_130(files, yamls):
    line = set_cell(files, "ips-pain/questionnaires.csv", 3, "odi", "130")
    return [Problem(P + "questionnaires.csv", line, "odi", "130", "is outside the range 0 to 100")]


@case
def odi_37_odd(files, yamls):
    line = set_cell(files, "ips-pain/questionnaires.csv", 5, "odi", "37")
    return [Problem(P + "questionnaires.csv", line, "odi", "37", "is not a multiple of 2 or 2.5 or 20/9 (to 2 decimals)")]


@case
def bpi_4_5(files, yamls):
    line = set_cell(files, "ips-pain/questionnaires.csv", 0, "bpi_worst", "4.5")
    return [Problem(P + "questionnaires.csv", line, "bpi_worst", "4.5", "is not a whole number")]


@case
def eq_vas_negative(files, yamls):
    line = set_cell(files, "ips-pain/questionnaires.csv", 0, "eq_vas", "-2")
    return [Problem(P + "questionnaires.csv", line, "eq_vas", "-2", "is outside the range 0 to 100")]


@case
def hours_off_half_hour_grid(files, yamls):
    line = set_cell(files, "ips-pain/work_12m.csv", 0, "hours_worked", "120.25")
    return [Problem(P + "work_12m.csv", line, "hours_worked", "120.25", "is not a multiple of 0.5")]


@case
def hours_negative(files, yamls):
    line = set_cell(files, "ips-pain/work_12m.csv", 0, "hours_worked", "-1")
    return [Problem(P + "work_12m.csv", line, "hours_worked", "-1", "is below the minimum 0")]


@case
def hscl_not_mean_of_subscales(files, yamls):
    line = set_cell(files, "ips-pain/questionnaires.csv", 0, "hscl", "2.52")
    return [
        Problem(P + "questionnaires.csv", line, "hscl", "2.52",
                "is not between hscl_anxiety and hscl_depression (2 and 2.3); the total is the mean of the "
                "answered items")
    ]


@case
def hscl_depression_off_grid(files, yamls):
    # 2.0 -> 2.01 breaks the 1/15 grid; hscl (2.12) still lies between its subscales.
    line = set_cell(files, "ips-pain/questionnaires.csv", 0, "hscl_depression", "2.01")
    return [Problem(P + "questionnaires.csv", line, "hscl_depression", "2.01", "is not a multiple of 1/15")]


@case
def binary_two(files, yamls):
    line = set_cell(files, "instep/followup.csv", 2, "returned", "2")
    return [Problem(U + "followup.csv", line, "returned", "2", "is not 0 or 1")]


@case
def binary_written_as_float(files, yamls):
    line = set_cell(files, "ips-pain/historical_controls.csv", 0, "employed_12m", "1.0")
    return [Problem(P + "historical_controls.csv", line, "employed_12m", "1.0", "is not 0 or 1")]


@case
def required_value_empty(files, yamls):
    line = set_cell(files, "ips-pain/historical_controls.csv", 1, "employed_12m", "")
    return [Problem(P + "historical_controls.csv", line, "employed_12m", None, "is empty, but a value is required")]


@case
def na_is_not_a_missing_code(files, yamls):
    line = set_cell(files, "ips-pain/participants.csv", 1, "partner", "NA")
    return [Problem(P + "participants.csv", line, "partner", "NA", "is not 0 or 1")]


@case
def characteristic_missing_for_analysed_participant(files, yamls):
    line = set_cell(files, "ips-pain/participants.csv", 3, "female", "")
    return [
        Problem(P + "participants.csv", line, "female", None,
                "is empty, but a value is required for a participant who did not withdraw")
    ]


@case
def duplicate_id(files, yamls):
    line = set_cell(files, "ips-pain/historical_controls.csv", 1, "control_id", "HC-0001")
    return [Problem(P + "historical_controls.csv", line, "control_id", "HC-0001", "repeats the key of line 2")]


@case
def duplicate_participant_month(files, yamls):
    rows = files["ips-pain/employment.csv"]
    rows.insert(2, list(rows[1]))  # NO-001 month 6 twice, lines 2 and 3
    return [Problem(P + "employment.csv", 3, "participant_id, month", "NO-001, 6", "repeats the key of line 2")]


@case
def id_pattern(files, yamls):
    line = set_cell(files, "ips-pain/historical_controls.csv", 2, "control_id", "HC-3")
    return [Problem(P + "historical_controls.csv", line, "control_id", "HC-3", r"does not match the ID pattern ^HC-(?:\d{4}|\d{6})$")]


@case
def rows_out_of_order(files, yamls):
    rows = files["ips-pain/historical_controls.csv"]
    rows[1], rows[2] = rows[2], rows[1]
    return [Problem(P + "historical_controls.csv", 3, "control_id", "HC-0001",
                    "is out of order: rows must be sorted by control_id")]


@case
def ragged_row(files, yamls):
    files["ips-pain/historical_controls.csv"][2].append("extra")
    return [Problem(P + "historical_controls.csv", 3, None, None, "has 3 fields, the header has 2")]


@case
def follow_up_id_not_in_participants(files, yamls):
    files["ips-pain/employment.csv"].append(["NO-099", "6", "0"])
    line = len(files["ips-pain/employment.csv"])
    return [Problem(P + "employment.csv", line, "participant_id", "NO-099", "is not in participants.csv")]


@case
def follow_up_row_of_withdrawn_participant(files, yamls):
    files["ips-pain/work_12m.csv"].insert(3, ["NO-003", "", "", ""])  # after NO-002: line 4
    return [
        Problem(P + "work_12m.csv", 4, "participant_id", "NO-003",
                "is a withdrawn participant (withdrawn participants have no follow-up rows)")
    ]


@case
def analysed_participant_without_questionnaire_row(files, yamls):
    del files["ips-pain/questionnaires.csv"][1 + find_row(files, "ips-pain/questionnaires.csv", participant_id="NO-004", month="6")]
    return [Problem(P + "questionnaires.csv", None, "participant_id", "NO-004", "has no row for month 6")]


@case
def employment_from_1_to_0(files, yamls):
    line = set_cell(files, "ips-pain/employment.csv", 2, "employed", "0")  # NO-001: 0, 1, then 0 at 24
    return [Problem(P + "employment.csv", line, "employed", "0",
                    "is 0 after employed = 1 at month 12 (employment is cumulative)")]


@case
def bad_date(files, yamls):
    line = set_cell(files, "ips-pain/participants.csv", 2, "randomized_on", "2016-02-30")
    return [Problem(P + "participants.csv", line, "randomized_on", "2016-02-30", "is not a date (YYYY-MM-DD)")]


@case
def date_in_other_format(files, yamls):
    line = set_cell(files, "instep/participants.csv", 0, "recruited_on", "20/11/2017")
    return [Problem(U + "participants.csv", line, "recruited_on", "20/11/2017", "is not a date (YYYY-MM-DD)")]


@case
def date_out_of_range(files, yamls):
    line = set_cell(files, "ips-pain/participants.csv", 4, "randomized_on", "2018-01-05")
    return [Problem(P + "participants.csv", line, "randomized_on", "2018-01-05",
                    "is outside the range 2015-11-01 to 2017-12-31")]


@case
def job_of_tau_participant(files, yamls):
    files["ips-pain/jobs.csv"].insert(3, ["NO-002", "1", "retail"])  # line 4
    return [Problem(P + "jobs.csv", 4, "participant_id", "NO-002", "is not in the IPS arm")]


@case
def job_numbers_with_gap(files, yamls):
    line = set_cell(files, "ips-pain/jobs.csv", 1, "job_number", "3")
    return [Problem(P + "jobs.csv", line, "job_number", "3",
                    "leaves a gap: the jobs of NO-001 must be numbered 1, 2, … (expected 2)")]


@case
def first_job_sector_disagrees_with_jobs(files, yamls):
    line = set_cell(files, "ips-pain/work_12m.csv", 0, "job_sector", "health_social")
    return [Problem(P + "work_12m.csv", line, "job_sector", "health_social",
                    "differs from job 1 of this participant in jobs.csv ('retail')")]


@case
def job_sector_for_tau_participant(files, yamls):
    line = set_cell(files, "ips-pain/work_12m.csv", 1, "job_sector", "retail")
    return [Problem(P + "work_12m.csv", line, "job_sector", "retail",
                    "is given for a TAU participant (only for IPS participants with a job)")]


@case
def unknown_recruitment_method(files, yamls):
    line = set_cell(files, "instep/recruitment.csv", 0, "method", "newspaper")
    return [Problem(U + "recruitment.csv", line, "method", "newspaper",
                    "is not one of database_mailout, hand_search_telephone, poster, opportunistic_gp, "
                    "opportunistic_pain_service")]


@case
def ineligible_reason_without_ineligibility(files, yamls):
    line = set_cell(files, "instep/recruitment.csv", 0, "ineligible_reason", "retired")
    return [Problem(U + "recruitment.csv", line, "ineligible_reason", "retired",
                    "is given, but outcome is no_reply (only for enquired_ineligible)")]


@case
def recruited_without_participant_id(files, yamls):
    line = set_cell(files, "instep/recruitment.csv", 2, "participant_id", "")
    return [
        Problem(U + "recruitment.csv", line, "participant_id", None, "is empty, but outcome is recruited"),
        Problem(U + "participants.csv", 2, "participant_id", "UK-001", "has no recruited row in recruitment.csv"),
    ]


@case
def poster_without_enquiry(files, yamls):
    line = set_cell(files, "instep/recruitment.csv", 5, "outcome", "no_reply")
    return [Problem(U + "recruitment.csv", line, "outcome", "no_reply",
                    "is not possible for method poster (only people who enquired have rows)")]


@case
def recruitment_setting_disagrees(files, yamls):
    line = set_cell(files, "instep/recruitment.csv", 4, "setting", "primary_care")
    return [Problem(U + "recruitment.csv", line, "setting", "primary_care",
                    "differs from the setting of UK-003 in participants.csv (pain_service)")]


@case
def instep_follow_up_id_not_in_participants(files, yamls):
    files["instep/followup.csv"].append(["UK-009", "3", "1", "0"])
    line = len(files["instep/followup.csv"])
    return [Problem(U + "followup.csv", line, "participant_id", "UK-009", "is not in participants.csv")]


@case
def instep_follow_up_month_missing(files, yamls):
    del files["instep/followup.csv"][1 + find_row(files, "instep/followup.csv", participant_id="UK-002", month="6")]
    return [Problem(U + "followup.csv", None, "participant_id", "UK-002", "has no row for month 6")]


@case
def theme_id_zero(files, yamls):
    line = set_cell(files, "instep/employer_themes.csv", 0, "theme_id", "0")
    return [Problem(U + "employer_themes.csv", line, "theme_id", "0", "is below the minimum 1")]


@case
def empty_file(files, yamls):
    files["instep/employer_themes.csv"] = []
    return [Problem(U + "employer_themes.csv", 1, None, None, "file is empty (no header row)")]


@case
def dataset_yaml_missing(files, yamls):
    del yamls["ips-pain/dataset.yaml"]
    return [Problem(P + "dataset.yaml", None, None, None, "file is missing")]


@case
def dataset_yaml_synthetic_not_boolean(files, yamls):
    yamls["instep/dataset.yaml"] = yamls["instep/dataset.yaml"].replace("synthetic: true", "synthetic: maybe")
    return [Problem(U + "dataset.yaml", 1, "synthetic", "maybe", "is not true or false")]


@case
def dataset_yaml_key_missing(files, yamls):
    yamls["instep/dataset.yaml"] = "synthetic: false\ngenerated_by: hand\n"
    return [Problem(U + "dataset.yaml", None, "description", None, "is missing")]


@case
def dataset_yaml_unknown_key(files, yamls):
    yamls["ips-pain/dataset.yaml"] += "synthethic: false\n"
    return [Problem(P + "dataset.yaml", 4, "synthethic", None,
                    "is not a known key (known: synthetic, description, generated_by, notice, sources)")]


@case
def dataset_yaml_not_yaml(files, yamls):
    yamls["ips-pain/dataset.yaml"] = "synthetic: [true\n"
    return [Problem(P + "dataset.yaml", 2, None, None, "is not valid YAML")]


@pytest.mark.parametrize("break_data", [fn for _, fn in CASES], ids=[name for name, _ in CASES])
def test_broken_input_is_reported_exactly(tmp_path, break_data):
    files, yamls = valid_files(), valid_yamls()
    expected = break_data(files, yamls)
    data = write_data_dir(tmp_path, files, yamls)
    assert validate_data_dir(data) == expected


def test_non_utf8_file(tmp_path):
    data = write_data_dir(tmp_path)
    path = data / "ips-pain" / "jobs.csv"
    path.write_bytes(path.read_bytes().replace(b"retail", b"r\xe9tail"))
    problems = validate_data_dir(data)
    line = 1 + next(i for i, text in enumerate(path.read_bytes().splitlines()) if b"\xe9" in text)
    assert [(p.file, p.line, p.rule.split(" (")[0]) for p in problems] == [(P + "jobs.csv", line, "is not UTF-8 text")]
    assert "save it as UTF-8" in problems[0].rule


def test_line_numbers_count_physical_lines_of_quoted_cells(tmp_path):
    files = valid_files()
    set_cell(files, "instep/employer_themes.csv", 0, "summary", "First line,\nsecond line.")
    set_cell(files, "instep/employer_themes.csv", 1, "theme_id", "x")
    problems = validate_data_dir(write_data_dir(tmp_path, files))
    assert problems == [Problem(U + "employer_themes.csv", 4, "theme_id", "x", "is not a whole number")]


def test_several_problems_in_several_files_are_all_reported(tmp_path):
    files, yamls = valid_files(), valid_yamls()
    expected = [
        *arm_ipsx(files, yamls),
        *odi_37_odd(files, yamls),
        *employment_from_1_to_0(files, yamls),
        *missing_column(files, yamls),
        *instep_follow_up_month_missing(files, yamls),
        *unknown_recruitment_method(files, yamls),
        *dataset_yaml_synthetic_not_boolean(files, yamls),
    ]
    problems = validate_data_dir(write_data_dir(tmp_path, files, yamls))
    assert sorted(problems, key=str) == sorted(expected, key=str)


def test_one_dataset_is_validated_alone(tmp_path):
    files, yamls = valid_files(), valid_yamls()
    expected = unknown_recruitment_method(files, yamls)
    data = write_data_dir(tmp_path, files, yamls)
    assert validate_dataset(data, "ips-pain") == []
    assert validate_dataset(data, "instep") == expected


def test_problem_is_formatted_with_file_line_column_and_value():
    p = Problem("data/ips-pain/participants.csv", 14, "arm", "IPSX", "is not one of IPS, TAU")
    assert str(p) == "data/ips-pain/participants.csv, line 14, column arm: value 'IPSX' is not one of IPS, TAU"
    assert format_problem(Problem("data/ips-pain/jobs.csv", None, None, None, "file is missing")) == (
        "data/ips-pain/jobs.csv: file is missing"
    )
    assert format_problem(Problem("data/instep/dataset.yaml", 1, "synthetic", "maybe", "is not true or false")) == (
        "data/instep/dataset.yaml, line 1, key synthetic: value 'maybe' is not true or false"
    )


def test_long_values_are_shortened(tmp_path):
    files = valid_files()
    set_cell(files, "instep/recruitment.csv", 0, "method", "x" * 500)
    (problem,) = validate_data_dir(write_data_dir(tmp_path, files))
    assert len(problem.value) == 60 and problem.value.endswith("…")


def test_problem_list_is_capped():
    problems = [Problem("f.csv", i + 2, "c", str(i), "is bad") for i in range(MAX_SHOWN + 5)]
    text = format_problems(problems)
    assert text.count("\n") == MAX_SHOWN
    assert text.endswith(f"… and 5 more problems ({MAX_SHOWN + 5} in all)")


def test_project_validation_raises_with_every_problem(tmp_path):
    files, yamls = valid_files(), valid_yamls()
    expected = [*arm_ipsx(files, yamls), *theme_id_zero(files, yamls)]
    write_data_dir(tmp_path, files, yamls)
    with pytest.raises(DataValidationError) as err:
        validate_project_data(tmp_path)
    assert list(err.value.problems) == expected
    assert str(err.value) == "2 data problems:\n" + "\n".join(str(p) for p in expected)


@pytest.mark.skipif(
    not (PROJECT / "data" / "ips-pain" / "participants.csv").exists()
    or not (PROJECT / "data" / "instep" / "participants.csv").exists(),
    reason="the project's data files have not been generated yet",
)
def test_project_data_validate_clean():
    problems = validate_data_dir(PROJECT / "data")
    assert problems == [], "\n" + format_problems(problems)


@pytest.mark.parametrize("value", ["22.22", "52.5", "55", "97.78", "36"])
def test_prorated_odi_scores_are_accepted(tmp_path, value):
    # 100 × sum / (5 × answered): 10/45 → 22.22 (9 items), 21/40 → 52.5 (8 items).
    files = valid_files()
    set_cell(files, "ips-pain/questionnaires.csv", 5, "odi", value)
    assert validate_data_dir(write_data_dir(tmp_path, files, valid_yamls())) == []


@pytest.mark.parametrize("value", ["22.3", "51.2", "55.5"])
def test_odi_off_every_grid_is_rejected(tmp_path, value):
    files = valid_files()
    line = set_cell(files, "ips-pain/questionnaires.csv", 5, "odi", value)
    problems = validate_data_dir(write_data_dir(tmp_path, files, valid_yamls()))
    assert [(p.line, p.column, p.value) for p in problems] == [(line, "odi", value)]


@pytest.mark.parametrize("sector", ["Health care", "<script>alert(1)</script>", "Café & bar"])
def test_job_sector_is_free_text(tmp_path, sector):
    # Sectors are recorded as written; the report escapes them (tests/test_book.py checks the HTML).
    files = valid_files()
    set_cell(files, "ips-pain/jobs.csv", 1, "job_sector", sector)
    assert validate_data_dir(write_data_dir(tmp_path, files, valid_yamls())) == []
