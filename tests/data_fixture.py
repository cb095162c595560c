"""A small valid ``data/`` folder for the data-layer tests: a few rows per file, written as text.

``valid_files()`` returns every CSV as a list of rows of strings (row 0 = header), so a test can break one
cell with ``set_cell`` and know its line number (data row *i* is line *i* + 2) before ``write_data_dir``.
"""

from __future__ import annotations

import copy
from pathlib import Path

from ipsreport.data.dictionary import dataset

_IPS_PARTICIPANTS = [
    ["participant_id", "arm", "withdrawn", "randomized_on", "female", "age", "higher_education", "partner",
     "has_children", "benefit_type", "out_of_work_2y"],
    ["NO-001", "IPS", "0", "2015-11-10", "1", "45", "1", "0", "1", "work_assessment_allowance", "1"],
    ["NO-002", "TAU", "0", "2015-12-01", "0", "38", "0", "1", "", "disability_benefit", "0"],
    ["NO-003", "IPS", "1", "2016-02-15", "", "", "", "", "", "", ""],
    ["NO-004", "IPS", "0", "2016-05-20", "1", "52", "", "1", "0", "none", ""],
    ["NO-005", "TAU", "0", "2017-03-03", "1", "29", "1", "0", "1", "other_benefit", "1"],
]

_SCORES = {
    # odi, eq_vas, hscl_anxiety (x/10), hscl_depression (x/15); hscl is derived
    "NO-001": [(40, 50, 2.3, 2.0), (30, 60, 2.0, 1.8666666666666667), (24, 70, 1.5, 1.4)],
    "NO-002": [(36, 45, 1.9, 2.2), (38, 40, 2.1, 2.3333333333333335), (34, 55, 1.8, 2.0666666666666667)],
    "NO-004": [(50, 30, 2.6, 2.5333333333333333), (44, 35, 2.4, 2.4), (40, 45, 2.2, 2.2)],
    "NO-005": [(28, 65, 1.4, 1.6), (26, 60, 1.3, 1.5333333333333334), (30, 62, 1.5, 1.6666666666666667)],
}


def _questionnaires() -> list[list[str]]:
    rows = [["participant_id", "month", "odi", "eq_vas", "hscl", "hscl_anxiety", "hscl_depression",
             "bpi_current", "bpi_worst", "bpi_average", "bpi_least"]]
    for pid, visits in _SCORES.items():
        for month, (odi, vas, anx, dep) in zip((0, 6, 12), visits):
            hscl = (10 * anx + 15 * dep) / 25
            rows.append([pid, str(month), str(odi), str(vas), repr(hscl), repr(anx), repr(dep), "5", "8", "6", "3"])
    # NO-005 did not return the 12-month questionnaire
    rows[-1] = ["NO-005", "12"] + [""] * 9
    return rows


_EMPLOYMENT = [
    ["participant_id", "month", "employed"],
    ["NO-001", "6", "0"], ["NO-001", "12", "1"], ["NO-001", "24", "1"],
    ["NO-002", "6", "0"], ["NO-002", "12", "0"], ["NO-002", "24", ""],
    ["NO-004", "6", "1"], ["NO-004", "12", ""], ["NO-004", "24", "1"],
    ["NO-005", "6", "0"], ["NO-005", "12", "0"], ["NO-005", "24", "1"],
]

_WORK_12M = [
    ["participant_id", "hours_worked", "worked_20h_week", "job_sector"],
    ["NO-001", "120.5", "1", "retail"],
    ["NO-002", "0", "0", ""],
    ["NO-004", "310", "1", "childcare_school"],
    ["NO-005", "", "", ""],
]

_JOBS = [
    ["participant_id", "job_number", "job_sector"],
    ["NO-001", "1", "retail"],
    ["NO-001", "2", "health_social"],
    ["NO-004", "1", "childcare_school"],
]

_HISTORICAL = [["control_id", "employed_12m"], ["HC-0001", "1"], ["HC-0002", "0"], ["HC-0003", "0"]]

_RECRUITMENT = [
    ["contact_id", "method", "setting", "outcome", "ineligible_reason", "participant_id"],
    ["UK-C0001", "database_mailout", "primary_care", "no_reply", "", ""],
    ["UK-C0002", "database_mailout", "primary_care", "enquired_ineligible", "retired", ""],
    ["UK-C0003", "database_mailout", "primary_care", "recruited", "", "UK-001"],
    ["UK-C0004", "hand_search_telephone", "primary_care", "recruited", "", "UK-002"],
    ["UK-C0005", "opportunistic_pain_service", "pain_service", "recruited", "", "UK-003"],
    ["UK-C0006", "poster", "pain_service", "after_closure", "", ""],
]

_UK_HEADER = list(dataset("instep").file("participants.csv").column_names)
_UK_PARTICIPANTS = [
    _UK_HEADER,
    ["UK-001", "IPS", "primary_care", "2017-11-20", "randomised", "female", "white", "married", "16", "1",
     "1", "0", "1", "0", "0", "1", "2.5", "mainly", "1", "1", "0", "0", "0", "0", "part_time", "16-24",
     "no", "no", "no", "no", "no", "yes", "no", "yes", "no", "paid_work"],
    ["UK-002", "TAU", "primary_care", "2018-01-09", "randomised", "male", "indian", "single", "", "0",
     "1", "1", "0", "0", "0", "1", "", "", "0", "0", "1", "0", "0", "0", "full_time", "not_applicable",
     "", "", "", "", "", "", "", "", "", "job_seeking"],
    ["UK-003", "IPS", "pain_service", "2019-02-28", "allocated", "female", "black_caribbean", "divorced",
     "18", "1", "0", "0", "0", "1", "0", "0", "", "", "0", "0", "0", "0", "0", "1", "part_time", "9-15",
     "yes", "no", "not_sure", "no", "no", "yes", "no", "no", "no", "lost_to_follow_up"],
]

_FOLLOWUP = [
    ["participant_id", "month", "returned", "in_paid_work"],
    ["UK-001", "3", "1", "0"], ["UK-001", "6", "1", "1"], ["UK-001", "12", "0", "1"],
    ["UK-002", "3", "1", "0"], ["UK-002", "6", "1", "0"], ["UK-002", "12", "1", "0"],
    ["UK-003", "3", "0", ""], ["UK-003", "6", "0", ""], ["UK-003", "12", "0", ""],
]

_THEMES = [
    ["theme_id", "theme", "summary"],
    ["1", "Benefits to the business", "Employers saw the placement as extra capacity, at little cost."],
    ["2", "Support from the employment worker", "Employers valued a named contact who could help with adjustments."],
]

DATASET_YAML = "synthetic: true\ndescription: A small test fixture.\ngenerated_by: tests/data_fixture.py\n"


def valid_files() -> dict[str, list[list[str]]]:
    """Every CSV of a valid data folder, keyed by path under ``data/``."""
    return copy.deepcopy(
        {
            "ips-pain/participants.csv": _IPS_PARTICIPANTS,
            "ips-pain/questionnaires.csv": _questionnaires(),
            "ips-pain/employment.csv": _EMPLOYMENT,
            "ips-pain/work_12m.csv": _WORK_12M,
            "ips-pain/jobs.csv": _JOBS,
            "ips-pain/historical_controls.csv": _HISTORICAL,
            "instep/recruitment.csv": _RECRUITMENT,
            "instep/participants.csv": _UK_PARTICIPANTS,
            "instep/followup.csv": _FOLLOWUP,
            "instep/employer_themes.csv": _THEMES,
        }
    )


def valid_yamls() -> dict[str, str]:
    return {"ips-pain/dataset.yaml": DATASET_YAML, "instep/dataset.yaml": DATASET_YAML}


def set_cell(files: dict[str, list[list[str]]], path: str, row: int, column: str, value: str) -> int:
    """Overwrite one cell (``row`` counts data rows from 0) and return its line number in the file."""
    rows = files[path]
    rows[row + 1][rows[0].index(column)] = value
    return row + 2


def find_row(files: dict[str, list[list[str]]], path: str, **match: str) -> int:
    """The data-row index (from 0) of the first row whose cells equal ``match``."""
    header = files[path][0]
    for i, row in enumerate(files[path][1:]):
        if all(row[header.index(k)] == v for k, v in match.items()):
            return i
    raise LookupError(f"no row {match} in {path}")


def write_data_dir(
    root: Path, files: dict[str, list[list[str]]] | None = None, yamls: dict[str, str] | None = None
) -> Path:
    """Write the folder ``root/data`` (CSV with ``\\n`` line ends) and return it."""
    files = valid_files() if files is None else files
    yamls = valid_yamls() if yamls is None else yamls
    data = Path(root) / "data"
    for rel, rows in files.items():
        path = data / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(",".join(_quote(c) for c in row) + "\n" for row in rows), encoding="utf-8")
    for rel, text in yamls.items():
        path = data / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return data


def _quote(cell: str) -> str:
    return f'"{cell.replace(chr(34), chr(34) * 2)}"' if any(ch in cell for ch in ',"\n') else cell
