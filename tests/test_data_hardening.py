"""The corpus of hostile and careless data inputs: each case gets exit code 2 from ``ipsreport validate``
with a located one-paragraph message that comes first, never a traceback; data text reaches the terminal
escaped and never through a markup or emoji formatter."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from data_fixture import set_cell, valid_files, valid_yamls, write_data_dir
from ipsreport.cli import app
from ipsreport.data.problems import Problem, format_problem
from ipsreport.data.quoting import escape_controls
from ipsreport.data.validate import DataValidationError, max_file_bytes, validate_data_dir, validate_project_data

P = "data/ips-pain/"
U = "data/instep/"
runner = CliRunner()

# Each case breaks a valid data folder and returns (file, line) of the first problem and a phrase of its rule.
Case = Callable[[Path], tuple[str, int | None, str]]
CASES: dict[str, Case] = {}


def case(fn: Case) -> Case:
    CASES[fn.__name__] = fn
    return fn


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@case
def latin1_dataset_yaml(data):
    (data / "ips-pain" / "dataset.yaml").write_bytes(
        b"synthetic: true\ndescription: Tr\xf8ndelag data\ngenerated_by: hand\n")
    return P + "dataset.yaml", 2, "is not UTF-8 text"


@case
def dataset_yaml_list_in_an_extra_folder(data):
    (data / "extra").mkdir()
    (data / "extra" / "dataset.yaml").write_text("- synthetic: true\n", encoding="utf-8")
    return "data/extra/dataset.yaml", None, "is not a mapping"


@case
def yaml_alias_bomb(data):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, name = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{name}: &{name} [" + ",".join(f"*{prev}" for _ in range(9)) + "]")
    (data / "instep" / "dataset.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return U + "dataset.yaml", 2, "alias"


@case
def alias_bomb_in_an_extra_folder(data):
    (data / "extra").mkdir()
    (data / "extra" / "dataset.yaml").write_text('a: &a ["x","x"]\nb: [*a,*a]\n', encoding="utf-8")
    return "data/extra/dataset.yaml", 2, "alias"


@case
def overflow_1e400_in_a_score(data):
    path = data / "ips-pain" / "questionnaires.csv"
    rows = _lines(path)
    cells = rows[1].split(",")
    cells[2] = "1e400"  # odi
    rows[1] = ",".join(cells)
    _write(path, rows)
    return P + "questionnaires.csv", 2, "is too large"


@case
def infinity_1e999_in_hours(data):
    path = data / "ips-pain" / "work_12m.csv"
    rows = _lines(path)
    cells = rows[1].split(",")
    cells[1] = "1e999"
    rows[1] = ",".join(cells)
    _write(path, rows)
    return P + "work_12m.csv", 2, "is too large"


@case
def a_twenty_digit_age(data):
    path = data / "ips-pain" / "participants.csv"
    rows = _lines(path)
    cells = rows[1].split(",")
    cells[5] = "99999999999999999999"
    rows[1] = ",".join(cells)
    _write(path, rows)
    return P + "participants.csv", 2, "is too large"


@case
def header_only_historical_controls(data):
    path = data / "ips-pain" / "historical_controls.csv"
    _write(path, _lines(path)[:1])
    return P + "historical_controls.csv", None, "has no data rows"


@case
def one_analysed_participant_in_an_arm(data):
    # NO-005 (TAU) withdraws: the TAU arm keeps one analysed participant.
    path = data / "ips-pain" / "participants.csv"
    _write(path, [r.replace("NO-005,TAU,0,", "NO-005,TAU,1,") for r in _lines(path)])
    for name in ("questionnaires.csv", "employment.csv", "work_12m.csv"):
        p = data / "ips-pain" / name
        _write(p, [r for r in _lines(p) if not r.startswith("NO-005,")])
    return P + "participants.csv", None, "the comparisons of arms need at least 2"


@case
def missing_column(data):
    path = data / "ips-pain" / "participants.csv"
    _write(path, [",".join(c for i, c in enumerate(r.split(",")) if i != 2) for r in _lines(path)])
    return P + "participants.csv", 1, "column is missing"


@case
def duplicated_column_name(data):
    path = data / "instep" / "followup.csv"
    rows = _lines(path)
    rows[0] = rows[0].replace("returned", "month")
    _write(path, rows)
    return U + "followup.csv", 1, "appears twice"


@case
def header_name_deleted(data):
    path = data / "ips-pain" / "employment.csv"
    rows = _lines(path)
    rows[0] = "participant_id,month"
    _write(path, rows)
    return P + "employment.csv", 1, "a column name is missing from the header"


@case
def semicolon_separated(data):
    path = data / "instep" / "followup.csv"
    _write(path, [r.replace(",", ";") for r in _lines(path)])
    return U + "followup.csv", 1, "looks like ';'-separated"


@case
def latin1_csv(data):
    path = data / "ips-pain" / "jobs.csv"
    rows = _lines(path)
    rows[3] = rows[3].replace("childcare_school", "crèche")
    path.write_bytes(("\n".join(rows) + "\n").encode("latin-1"))
    return P + "jobs.csv", 4, "is not UTF-8 text"


CAUSES_FIRST = [name for name in CASES]


def _break(tmp_path: Path, name: str) -> tuple[Path, tuple[str, int | None, str]]:
    data = write_data_dir(tmp_path)
    return data, CASES[name](data)


@pytest.mark.parametrize("name", CAUSES_FIRST)
def test_each_case_is_one_located_problem_first(tmp_path, name):
    data, (file, line, phrase) = _break(tmp_path, name)
    started = time.perf_counter()
    problems = validate_data_dir(data)
    assert time.perf_counter() - started < 30
    assert problems, name
    first = problems[0]
    assert (first.file, first.line) == (file, line), problems
    assert phrase in first.rule
    assert len(problems) <= 2, [str(p) for p in problems]  # the cause, not a flood of follow-on messages


@pytest.mark.parametrize("name", CAUSES_FIRST)
def test_each_case_exits_2_without_a_traceback(tmp_path, name):
    data, (file, line, phrase) = _break(tmp_path, name)
    result = runner.invoke(app, ["validate", "--data-dir", str(data)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    where = file if line is None else f"{file}, line {line}"
    assert where in result.output and phrase in result.output


def test_render_data_check_rejects_a_list_dataset_yaml_in_an_extra_folder(tmp_path):
    data = write_data_dir(tmp_path)
    CASES["dataset_yaml_list_in_an_extra_folder"](data)
    with pytest.raises(DataValidationError) as err:
        validate_project_data(tmp_path)
    assert "data/extra/dataset.yaml: is not a mapping" in str(err.value)


def test_a_missing_column_suppresses_the_checks_that_need_it(tmp_path):
    # Without participant_id in participants.csv, no follow-up row can be matched: one problem, not one per row.
    data = write_data_dir(tmp_path)
    path = data / "ips-pain" / "participants.csv"
    _write(path, [",".join(r.split(",")[1:]) for r in _lines(path)])
    problems = validate_data_dir(data)
    assert problems == [Problem(P + "participants.csv", 1, "participant_id", None, "column is missing")]


def test_structural_problems_come_before_cell_problems_of_earlier_files(tmp_path):
    files = valid_files()
    set_cell(files, "ips-pain/participants.csv", 0, "arm", "IPSX")
    data = write_data_dir(tmp_path, files)
    CASES["semicolon_separated"](data)
    problems = validate_data_dir(data)
    assert [p.file for p in problems] == [U + "followup.csv", P + "participants.csv"]


# -- size caps -------------------------------------------------------------------------------------------


def test_a_file_over_the_size_cap_is_not_read(tmp_path, monkeypatch):
    data = write_data_dir(tmp_path)
    path = data / "instep" / "employer_themes.csv"
    with open(path, "a", encoding="utf-8") as f:
        for i in range(3, 40_000):
            f.write(f"{i},Theme {i},A summary that repeats to make the file large.\n")
    size = path.stat().st_size
    assert size > 1_500_000
    started = time.perf_counter()
    problems = validate_data_dir(data, max_bytes=1_000_000)
    assert time.perf_counter() - started < 10
    assert [(p.file, p.line) for p in problems] == [(U + "employer_themes.csv", None)]
    assert "more than the 1.0 MB" in problems[0].rule and "--max-file-mb" in problems[0].rule
    monkeypatch.setenv("IPSREPORT_MAX_DATA_MB", "1")
    assert max_file_bytes() == 1_000_000
    result = runner.invoke(app, ["validate", "--data-dir", str(data)])
    assert result.exit_code == 2 and "employer_themes.csv: is 2." in result.output
    result = runner.invoke(app, ["validate", "--data-dir", str(data), "--max-file-mb", "50"])
    assert "employer_themes.csv: is" not in result.output


def test_a_huge_value_is_quoted_short(tmp_path):
    files = valid_files()
    set_cell(files, "instep/recruitment.csv", 0, "method", "x" * 130_000)
    set_cell(files, "instep/recruitment.csv", 1, "x" * 0 + "setting", "y" * 130_000)
    data = write_data_dir(tmp_path, files)
    problems = validate_data_dir(data)
    assert len(problems) == 2
    assert all(len(str(p)) < 300 for p in problems)


def test_a_huge_header_name_is_quoted_short(tmp_path):
    data = write_data_dir(tmp_path)
    path = data / "ips-pain" / "jobs.csv"
    rows = _lines(path)
    rows[0] += "," + "z" * 100_000
    _write(path, [rows[0]] + [r + "," for r in rows[1:]])
    problems = validate_data_dir(data)
    assert problems and all(len(str(p)) < 300 for p in problems)


# -- control characters and markup ---------------------------------------------------------------------

HOSTILE = "\x1b[2J\x1b[HALL DATA VALID\u202e:x: [bold red]boom[/] \x07\x9b"


def test_escape_controls_leaves_no_control_character():
    shown = escape_controls(HOSTILE)
    assert all(ch == " " or ch.isprintable() for ch in shown)
    assert "\\x1b[2J" in shown and "\\u202e" in shown and "\\x9b" in shown and "\\r" not in shown
    assert escape_controls("Ærø café") == "Ærø café"
    assert escape_controls("a\\x1b") == "a\\\\x1b"  # a written escape cannot pass for an escaped character


def test_every_part_of_a_problem_is_escaped():
    p = Problem("data/x" + HOSTILE + ".csv", 3, "col" + HOSTILE, HOSTILE, "rule quoting " + HOSTILE,
                sheet=HOSTILE, variable=HOSTILE, source_value=HOSTILE)
    text = format_problem(p)
    assert not any(not (ch == " " or ch.isprintable()) for ch in text)


@pytest.mark.parametrize("where", ["cell", "header", "yaml key", "rule"])
def test_control_characters_and_markup_reach_the_terminal_escaped(tmp_path, where):
    files = valid_files()
    yamls = valid_yamls()
    if where == "cell":
        set_cell(files, "instep/recruitment.csv", 0, "method", HOSTILE)
    elif where == "header":
        files["ips-pain/jobs.csv"][0][2] = "job_sector" + HOSTILE
    elif where == "yaml key":
        yamls["instep/dataset.yaml"] += '"\\e[2Jkey\\u202e:x:": 1\n'
    else:  # a sector quoted inside a rule (differs from job 1)
        set_cell(files, "ips-pain/work_12m.csv", 0, "job_sector", "retail")
        set_cell(files, "ips-pain/jobs.csv", 0, "job_sector", HOSTILE)
    data = write_data_dir(tmp_path, files, yamls)
    result = runner.invoke(app, ["validate", "--data-dir", str(data)], color=True)
    assert result.exit_code == 2, result.output
    problem_lines = [line for line in result.output.splitlines() if line.startswith("data/")]
    assert problem_lines, result.output
    for line in problem_lines:
        assert "\x1b" not in line and "\u202e" not in line and "\r" not in line and "\x07" not in line
        assert "❌" not in line  # :x: is not turned into an emoji
    if where != "yaml key":
        assert any(":x: [bold red]boom[/]" in line for line in problem_lines)  # markup is shown, not applied
    assert "ALL DATA VALID" not in result.output.replace("\\x1b[HALL DATA VALID", "")


def test_render_reports_data_problems_escaped_and_without_markup(tmp_path):
    # The render command's data-error path prints the same escaped messages, as plain text.
    files = valid_files()
    set_cell(files, "instep/recruitment.csv", 0, "method", HOSTILE)
    write_data_dir(tmp_path, files)
    (tmp_path / "_quarto.yml").write_text(
        "project:\n  type: book\nbook:\n  title: T\n  chapters:\n    - index.qmd\n", encoding="utf-8")
    (tmp_path / "index.qmd").write_text("# T\n\nText.\n", encoding="utf-8")
    result = runner.invoke(app, ["render", "--to", "html", "--engine", "builtin", "-C", str(tmp_path)], color=True)
    assert result.exit_code == 2, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("data/instep/recruitment.csv"))
    assert "\x1b" not in line and "\u202e" not in line and "❌" not in line
    assert "\\x1b[2J" in line and ":x: [bold red]boom[/]" in line
    assert not (tmp_path / "_book").exists()
