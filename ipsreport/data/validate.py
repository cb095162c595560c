"""Validation of ``data/`` against the data dictionary, reporting every problem at once with its file, line
and column.

Files are read as text first, so a problem can quote the cell exactly as written and name its line (header =
line 1, so data row *i*, counted from 0, is line *i* + 2). Each cell is then parsed to its dictionary type,
the typed frame is checked by the pandera schema (``lazy=True``, failures translated back to lines), and
rules spanning rows or files are checked in plain pandas.

A contract file that ``dataset.yaml`` maps to a source file (SPSS, Stata, Excel; :mod:`ipsreport.data.sources`)
is read from it into the same text columns, and its problems are then located in the source's terms. Problems
are listed cause first (a missing file, column or variable before the cells), checks that need a missing
column are not run, and files larger than :func:`max_file_bytes` are reported, not read.

Checks run on whole columns or walk plain Python values, never pandas rows one at a time, and each distinct
cell text is parsed once, so validation time grows little more than the size of the files (a 100-times larger
reconstruction, some 200,000 rows, validates in a few seconds); messages are built only for the cells and rows
that break a rule.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.errors as pe

from ipsreport.data.dictionary import DATASETS, Column, DataFile, Dataset, dataset
from ipsreport.data.problems import (
    MAX_SHOWN,
    DataValidationError,
    Problem,
    file_too_large,
    format_problem,
    format_problems,
)
from ipsreport.data.quoting import MAX_QUOTED_CHARS, shorten
from ipsreport.data.schemas import UNIQUE_KEY_CHECK, file_schema
from ipsreport.data.sources import FileSource, SourceRead, locate, parse_sources, read_source
from ipsreport.data.yaml_file import YamlFileError, key_lines, nested_key_lines, read_yaml

__all__ = [
    "Problem",
    "DataValidationError",
    "format_problem",
    "format_problems",
    "validate_data_dir",
    "validate_dataset",
    "validate_project_data",
    "default_data_dir",
    "max_file_bytes",
    "DEFAULT_MAX_FILE_MB",
    "MAX_SHOWN",
]

_MAX_VALUE_CHARS = MAX_QUOTED_CHARS
DEFAULT_MAX_FILE_MB = 20.0
"""Validation reads at most this many megabytes of one data file unless told otherwise (the shipped files
are a few kilobytes; a real trial's are well under a megabyte)."""
_HSCL_TOLERANCE = 1e-3


def _fmt(x: float) -> str:
    return f"{x:.4g}"



def default_data_dir() -> Path:
    """The project's ``data/`` folder (see :func:`ipsreport.paths.project_dir`)."""
    from ipsreport.paths import data_dir

    return data_dir()


# -- problems --------------------------------------------------------------------------------------------


def _shown(value: Any) -> str | None:
    return None if value is None else shorten(str(value), _MAX_VALUE_CHARS)


def max_file_bytes(max_mb: float | None = None) -> int:
    """How many bytes validation reads of one data file: ``max_mb`` megabytes when given, else the
    ``IPSREPORT_MAX_DATA_MB`` environment variable, else :data:`DEFAULT_MAX_FILE_MB`. A larger file is
    reported, not read, so a wrong or runaway file cannot exhaust memory or time."""
    if max_mb is None:
        env = os.environ.get("IPSREPORT_MAX_DATA_MB", "").strip()
        try:
            max_mb = float(env) if env else DEFAULT_MAX_FILE_MB
        except ValueError:
            max_mb = DEFAULT_MAX_FILE_MB
    if not math.isfinite(max_mb) or max_mb <= 0:
        max_mb = DEFAULT_MAX_FILE_MB
    return int(max_mb * 1_000_000)


# -- reading ---------------------------------------------------------------------------------------------


@dataclass
class CheckedDataset:
    """What validation learnt about one dataset: typed frames indexed by line number, and the facts."""

    dataset: Dataset
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    raw: dict[str, pd.DataFrame] = field(default_factory=dict)
    facts: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)
    sources: dict[str, FileSource] = field(default_factory=dict)
    causes: int = 0  # how many of the problems (listed first) are of whole files or headers


_OTHER_SEPARATORS = {";": "';'", "\t": "tab", "|": "'|'"}
# When more than this share of the rows has another number of fields than the header, the header is wrong
# (a name missing or added), and one problem says so instead of one per row.
_MISMATCH_SHARE = 0.5


def _separator_hint(header: list[str], f: DataFile) -> str | None:
    """The separator the file seems to use instead of a comma, when its header is one field that splits
    into contract column names on it."""
    if len(header) != 1:
        return None
    for sep, name in _OTHER_SEPARATORS.items():
        names = [n.strip() for n in header[0].split(sep)]
        if len(names) > 1 and sum(n in f.column_names for n in names) >= min(2, len(f.column_names)):
            return name
    return None


def _read_raw(path: Path, label: str, f: DataFile, out: list[Problem], max_bytes: int) -> pd.DataFrame | None:
    """The known columns as text (empty string = missing), indexed by line number; None when unreadable."""
    if not path.is_file():
        out.append(Problem(label, None, None, None, "file is missing"))
        return None
    size = path.stat().st_size
    if size > max_bytes:
        out.append(Problem(label, None, None, None, file_too_large(size, max_bytes)))
        return None
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        byte = data[err.start]
        out.append(Problem(label, line, None, None, f"is not UTF-8 text (byte 0x{byte:02x} on this line; files saved "
                                                    "as Latin-1 or Windows-1252 look like this): save it as UTF-8"))
        return None
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    mismatched: list[tuple[int, int]] = []
    previous_end = 0
    try:
        for record in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if header is None:
                header = record
                header_line = start
                continue
            if not record:  # a blank line
                continue
            if len(record) != len(header):
                mismatched.append((start, len(record)))
                continue
            rows.append(record)
            lines.append(start)
    except csv.Error as err:
        out.append(Problem(label, reader.line_num, None, None, f"is not valid CSV ({err})"))
        return None
    if not header:
        out.append(Problem(label, 1, None, None, "file is empty (no header row)"))
        return None
    separator = _separator_hint(header, f)
    if separator is not None:
        out.append(Problem(label, header_line, None, None, f"looks like {separator}-separated: the contract needs a "
                                                           "comma between columns (save it as comma-separated CSV)"))
        return None
    if mismatched and len(mismatched) > _MISMATCH_SHARE * (len(mismatched) + len(rows)):
        counts = sorted({n for _, n in mismatched})
        out.append(Problem(label, header_line, None, None,
                           f"the header has {len(header)} fields but {len(mismatched)} of {len(mismatched) + len(rows)} "
                           f"rows have {' or '.join(map(str, counts))} (first on line {mismatched[0][0]}): a column "
                           "name is missing from the header or a column was added"))
        return None
    for line, n in mismatched:
        out.append(Problem(label, line, None, None, f"has {n} fields, the header has {len(header)}"))
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if name in seen:
            out.append(Problem(label, header_line, name, None, "appears twice in the header"))
            continue
        seen[name] = i
        if name not in f.column_names:
            out.append(Problem(label, header_line, name, None, "is not a column of this file"))
    for name in f.column_names:
        if name not in seen:
            out.append(Problem(label, header_line, name, None, "column is missing"))
    by_position = list(zip(*rows)) if rows else [()] * len(header)
    data_columns = {name: list(by_position[seen[name]]) for name in f.column_names if name in seen}
    return pd.DataFrame(data_columns, index=pd.Index(lines, name="line", dtype="int64"), dtype=object)


_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PARSE_RULE = {
    "integer": "is not a whole number",
    "binary": "is not 0 or 1",
    "number": "is not a number",
    "date": "is not a date (YYYY-MM-DD)",
}


_INT_LIMIT = 2**63  # the nullable Int64 columns hold no more
_FIRST_DAY = (pd.Timestamp.min + pd.Timedelta(days=1)).date()  # the datetime64[ns] columns hold no earlier day
_LAST_DAY = pd.Timestamp.max.date()


class _CellRule(ValueError):
    """A cell of the right form that breaks a rule of its own (too large); its text is the rule."""


def _parse_cell(kind: str, text: str) -> Any:
    """The typed value of a non-empty cell, or raises ValueError (with the rule when it is not the kind's)."""
    if kind in ("integer", "binary"):
        if not _INT.match(text) or len(text) > 30:
            raise ValueError
        value = int(text)
        if abs(value) >= _INT_LIMIT:
            raise _CellRule("is too large to be a count or code")
        return value
    if kind == "number":
        if not _FLOAT.match(text):
            raise ValueError
        value = float(text)
        if not math.isfinite(value):
            raise _CellRule("is too large: beyond the range of a number (it would be read as infinity)")
        return value
    if kind == "date":
        if not _DATE.match(text):
            raise ValueError
        day = dt.date.fromisoformat(text)
        if not _FIRST_DAY <= day <= _LAST_DAY:  # a frame's dates hold no other (they would crash the loading)
            raise _CellRule(f"is outside the dates {_FIRST_DAY.isoformat()} to {_LAST_DAY.isoformat()} that can be read")
        return pd.Timestamp(day)
    return text


def _parse_column(c: Column, raw: pd.Series, label: str, out: list[Problem], bad: set[tuple[int, str]]) -> pd.Series:
    texts = raw.tolist()
    if c.kind in ("integer", "binary", "number", "date"):
        # Each distinct text is parsed once (a long file repeats its codes, months and dates), and only the cells
        # whose text fails are looked at one by one, to report them.
        parsed: dict[str, Any] = {}
        failed: dict[str, str] = {}
        for text in set(texts):
            if text == "":
                continue
            try:
                parsed[text] = _parse_cell(c.kind, text)
            except ValueError as err:
                failed[text] = str(err) if isinstance(err, _CellRule) else _PARSE_RULE[c.kind]
        if failed:
            for line, text in zip(raw.index.tolist(), texts):
                if text in failed:
                    if (int(line), c.name) not in bad:  # a cell already reported (by the source reader) is not reported again
                        out.append(Problem(label, int(line), c.name, _shown(text), failed[text]))
                    bad.add((int(line), c.name))
        values = [parsed.get(text) for text in texts]
    else:
        values = [None if text == "" else text for text in texts]
    if c.kind == "date":
        return pd.Series(pd.to_datetime(values), index=raw.index, name=c.name).astype(c.dtype)
    if c.kind == "number":
        return pd.Series([float("nan") if v is None else v for v in values], index=raw.index, name=c.name, dtype=c.dtype)
    return pd.Series(values, index=raw.index, name=c.name, dtype=c.dtype)


def parse_file(
    f: DataFile, raw: pd.DataFrame, label: str, out: list[Problem], reported: set[tuple[int, str]] | None = None
) -> tuple[pd.DataFrame, set[tuple[int, str]]]:
    """Typed frame of the raw text (unparseable cells become missing and are reported unless already in
    ``reported``), and the bad cells (``reported`` included)."""
    bad: set[tuple[int, str]] = set(reported or ())
    columns = {name: _parse_column(f.column(name), raw[name], label, out, bad) for name in raw.columns}
    typed = pd.DataFrame(columns, index=raw.index)
    return typed, bad


def _schema_problems(
    f: DataFile, typed: pd.DataFrame, raw: pd.DataFrame, label: str, bad: set[tuple[int, str]]
) -> list[Problem]:
    schema = file_schema(f, tuple(typed.columns))
    try:
        schema.validate(typed, lazy=True)
        return []
    except pe.SchemaErrors as err:
        cases = err.failure_cases
    out: list[Problem] = []
    duplicated_lines: set[int] = set()
    for case in cases.itertuples(index=False):
        line = None if pd.isna(case.index) else int(case.index)
        if case.check == UNIQUE_KEY_CHECK:
            if line is not None:
                duplicated_lines.add(line)
            continue
        column = None if case.column is None or pd.isna(case.column) else str(case.column)
        if line is not None and column is not None and (line, column) in bad:
            continue  # already reported as unparseable
        if case.check == "not_nullable":
            out.append(Problem(label, line, column, None, "is empty, but a value is required"))
        elif line is not None and column in raw.columns:
            out.append(Problem(label, line, column, _shown(raw.at[line, column]), str(case.check)))
        else:  # schema-level failures should not occur after parsing; report them plainly if they do
            out.append(Problem(label, line, column, _shown(case.failure_case), str(case.check)))
    if duplicated_lines:
        out.extend(_duplicate_problems(f, typed.loc[sorted(duplicated_lines)], raw, label))
    return out


def _duplicate_problems(f: DataFile, rows: pd.DataFrame, raw: pd.DataFrame, label: str) -> list[Problem]:
    """Each repeat of a key, pointing at the line where the key first appears."""
    first: dict[tuple, int] = {}
    out = []
    for line, key in zip(rows.index, rows[list(f.key)].itertuples(index=False, name=None)):
        if key not in first:
            first[key] = int(line)
            continue
        shown = ", ".join(raw.at[line, k] for k in f.key)
        out.append(Problem(label, int(line), ", ".join(f.key), shown, f"repeats the key of line {first[key]}"))
    return out


def _sort_problem(f: DataFile, typed: pd.DataFrame, raw: pd.DataFrame, label: str) -> list[Problem]:
    """The first row out of key order (one problem per file)."""
    if not all(k in typed.columns for k in f.key):
        return []
    keys = typed[list(f.key)].dropna()
    if len(keys) == 0 or pd.MultiIndex.from_frame(keys).is_monotonic_increasing:
        return []  # in order (checked in one pass in C; the walk below only finds the first row out of order)
    previous = None
    for line, key in zip(keys.index, keys.itertuples(index=False, name=None)):
        if previous is not None and key < previous:
            return [
                Problem(
                    label, int(line), f.key[0], _shown(raw.at[line, f.key[0]]),
                    f"is out of order: rows must be sorted by {', '.join(f.key)}",
                )
            ]
        previous = key
    return []


# -- dataset.yaml ----------------------------------------------------------------------------------------


def _check_facts(
    path: Path, label: str, ds: Dataset, out: list[Problem], data_dir: Path | None = None, prefix: str = ""
) -> tuple[dict[str, Any] | None, dict[str, FileSource]]:
    """The facts of ``dataset.yaml`` (None when unusable) and the source files it names per contract file."""
    if not path.is_file():
        out.append(Problem(label, None, None, None, "file is missing"))
        return None, {}
    try:
        facts, text = read_yaml(path)
    except YamlFileError as err:
        out.append(Problem(label, err.line, None, None, err.rule))
        return None, {}
    if not isinstance(facts, dict):
        out.append(Problem(label, None, None, None, "is not a mapping of keys to values"))
        return None, {}
    lines = key_lines(text)
    known = {fact.name: fact for fact in ds.facts}
    ok = True
    for name in facts:
        if name not in known:
            out.append(
                Problem(label, lines.get(str(name)), str(name), None, f"is not a known key (known: {', '.join(known)})")
            )
    for fact in ds.facts:
        if fact.name not in facts:
            if fact.required:
                out.append(Problem(label, None, fact.name, None, "is missing"))
                ok = False
            continue
        value = facts[fact.name]
        if fact.type == "bool" and not isinstance(value, bool):
            out.append(Problem(label, lines.get(fact.name), fact.name, _shown(value), "is not true or false"))
            ok = False
        elif fact.type == "str" and not (isinstance(value, str) and value.strip()):
            out.append(Problem(label, lines.get(fact.name), fact.name, _shown(value), "is not a non-empty text"))
            ok = False
    sources: dict[str, FileSource] = {}
    if data_dir is not None and facts.get("sources") is not None:
        source_lines = nested_key_lines(text, "sources")
        column_lines = {name: nested_key_lines(text, "sources", name, "columns") for name in source_lines}
        sources = parse_sources(facts["sources"], ds, data_dir, prefix, label,
                                {"": lines.get("sources"), **source_lines}, column_lines, out)
    return (facts if ok else None), sources


def check_other_dataset_yaml(path: Path, label: str) -> list[Problem]:
    """Problems of a ``dataset.yaml`` in a folder of ``data/`` that is not one of the datasets: the render
    still reads it (for the synthetic-data notice), so it must be a mapping with a true/false ``synthetic``
    and a text ``notice`` when they are given."""
    try:
        facts, text = read_yaml(path)
    except YamlFileError as err:
        return [Problem(label, err.line, None, None, err.rule)]
    if facts is None:
        return []
    if not isinstance(facts, dict):
        return [Problem(label, None, None, None, "is not a mapping of keys to values (every data/*/dataset.yaml is "
                                                 "read for the synthetic-data notice)")]
    lines = key_lines(text)
    out = []
    if "synthetic" in facts and not isinstance(facts["synthetic"], bool):
        out.append(Problem(label, lines.get("synthetic"), "synthetic", _shown(facts["synthetic"]), "is not true or false"))
    if "notice" in facts and facts["notice"] is not None and not isinstance(facts["notice"], str):
        out.append(Problem(label, lines.get("notice"), "notice", _shown(facts["notice"]), "is not a text"))
    return out


# -- rules across rows and files -------------------------------------------------------------------------


def _eq(value: Any, target: Any) -> bool:
    """``value == target`` that is False, not an error, for a missing value."""
    return not pd.isna(value) and value == target


def _missing(value: Any) -> bool:
    """``pd.isna`` of one plain value (None, NaN, NA, NaT), at a fraction of its cost in a loop over many rows."""
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)


def _has(frames: dict[str, pd.DataFrame], name: str, *columns: str) -> bool:
    return name in frames and all(c in frames[name].columns for c in columns)


def _id_lookup(frame: pd.DataFrame, column: str) -> dict[str, dict[str, Any]]:
    """Values of each ID's row (first occurrence) by column name, keyed by ID."""
    names = list(frame.columns)
    out: dict[str, dict[str, Any]] = {}
    # Plain lists, not iterrows: a row-by-row walk through pandas costs seconds on a large file.
    for values in zip(*(frame[name].tolist() for name in names)):
        pid = values[names.index(column)]
        if not pd.isna(pid) and pid not in out:
            out[pid] = dict(zip(names, values))
    return out


def _rows(frame: pd.DataFrame, *columns: str) -> Iterable[tuple]:
    """``(line, value of each column)`` for every row, in frame order, as plain Python values."""
    return zip(frame.index.tolist(), *(frame[c].tolist() for c in columns))


def _missing_rows(
    frames: dict[str, pd.DataFrame], name: str, label: str, ids: Iterable[str], months: Sequence[int] | None
) -> list[Problem]:
    """Problems for expected (participant, month) rows that a long file lacks."""
    if not _has(frames, name, "participant_id", *(["month"] if months else [])):
        return []
    frame = frames[name]
    out = []
    if months:
        present = set(zip(frame["participant_id"], frame["month"]))
        for pid in ids:
            for m in months:
                if (pid, m) not in present:
                    out.append(Problem(label, None, "participant_id", pid, f"has no row for month {m}"))
    else:
        present_ids = set(frame["participant_id"].dropna())
        for pid in ids:
            if pid not in present_ids:
                out.append(Problem(label, None, "participant_id", pid, "has no row"))
    return out


def _ips_pain_rules(frames: dict[str, pd.DataFrame], raw: dict[str, pd.DataFrame], labels: dict[str, str]) -> list[Problem]:
    out: list[Problem] = []
    participants = frames.get("participants.csv")
    people: dict[str, dict[str, Any]] = {}
    if participants is not None and "participant_id" in participants.columns:
        people = _id_lookup(participants, "participant_id")

    # Characteristics may be missing only for withdrawn participants.
    if _has(frames, "participants.csv", "withdrawn"):
        f = dataset("ips-pain").file("participants.csv")
        for c in f.columns:
            if c.missing != "if withdrawn" or c.name not in participants.columns:
                continue
            rows = participants[(participants["withdrawn"] == 0).fillna(False) & participants[c.name].isna()]
            for line in rows.index:
                if raw["participants.csv"].at[line, c.name] == "":
                    out.append(
                        Problem(labels["participants.csv"], int(line), c.name, None,
                                "is empty, but a value is required for a participant who did not withdraw")
                    )

    # Follow-up rows belong to analysed participants only.
    follow_up = ("questionnaires.csv", "employment.csv", "work_12m.csv", "jobs.csv")
    if people and _has(frames, "participants.csv", "withdrawn"):
        for name in follow_up:
            if not _has(frames, name, "participant_id"):
                continue
            for line, pid in _rows(frames[name], "participant_id"):
                if pd.isna(pid):
                    continue
                if pid not in people:
                    out.append(Problem(labels[name], int(line), "participant_id", pid, "is not in participants.csv"))
                elif _eq(people[pid]["withdrawn"], 1):
                    out.append(
                        Problem(labels[name], int(line), "participant_id", pid,
                                "is a withdrawn participant (withdrawn participants have no follow-up rows)")
                    )
        analysed = [pid for pid, row in people.items() if _eq(row["withdrawn"], 0)]
        out += _missing_rows(frames, "questionnaires.csv", labels["questionnaires.csv"], analysed, (0, 6, 12))
        out += _missing_rows(frames, "employment.csv", labels["employment.csv"], analysed, (6, 12, 24))
        out += _missing_rows(frames, "work_12m.csv", labels["work_12m.csv"], analysed, None)

    # hscl is the mean of all answered items, i.e. the item-weighted mean of its two subscale means (weights
    # 10 and 15 when every item is answered), so it always lies between them.
    if _has(frames, "questionnaires.csv", "hscl", "hscl_anxiety", "hscl_depression"):
        q = frames["questionnaires.csv"]
        low = q[["hscl_anxiety", "hscl_depression"]].min(axis=1)
        high = q[["hscl_anxiety", "hscl_depression"]].max(axis=1)
        off = (q["hscl"] < low - _HSCL_TOLERANCE) | (q["hscl"] > high + _HSCL_TOLERANCE)
        for line in q.index[off.fillna(False)]:
            out.append(
                Problem(labels["questionnaires.csv"], int(line), "hscl", raw["questionnaires.csv"].at[line, "hscl"],
                        f"is not between hscl_anxiety and hscl_depression ({_fmt(low[line])} and "
                        f"{_fmt(high[line])}); the total is the mean of the answered items")
            )

    # Employment since baseline is cumulative: once 1, never 0 at a later month.
    if _has(frames, "employment.csv", "participant_id", "month", "employed"):
        e = frames["employment.csv"].dropna(subset=["participant_id", "month"])
        # Each participant's first month with employed = 1; a 0 at a later month breaks the rule.
        first = e[(e["employed"] == 1).fillna(False)].groupby("participant_id")["month"].min()
        first_of = e["participant_id"].map(first)
        later_zero = ((e["employed"] == 0).fillna(False) & first_of.notna()
                      & (e["month"].astype("float64") > first_of.astype("float64")))
        broken = e[later_zero.to_numpy()].sort_values(["participant_id", "month"], kind="stable")
        for line, month_employed in zip(broken.index.tolist(), broken["participant_id"].map(first).tolist()):
            out.append(
                Problem(labels["employment.csv"], int(line), "employed", "0",
                        f"is 0 after employed = 1 at month {int(month_employed)} (employment is cumulative)")
            )

    # Jobs: IPS participants only, numbered 1, 2, … without gaps.
    if _has(frames, "jobs.csv", "participant_id"):
        jobs = frames["jobs.csv"]
        if people and _has(frames, "participants.csv", "arm"):
            for line, pid in _rows(jobs, "participant_id"):
                if pid in people and _eq(people[pid]["arm"], "TAU"):
                    out.append(Problem(labels["jobs.csv"], int(line), "participant_id", pid, "is not in the IPS arm"))
        if "job_number" in jobs.columns:
            numbered = jobs.dropna(subset=["participant_id", "job_number"])
            numbered = numbered.assign(_order=range(len(numbered))).sort_values(
                ["participant_id", "job_number", "_order"], kind="stable")
            by_person = numbered.groupby("participant_id", sort=False)
            expected = by_person.cumcount() + 1
            repeated = (numbered.duplicated(["participant_id", "job_number"], keep=False)
                        .groupby(numbered["participant_id"], sort=False).transform("any").astype(bool))
            gaps = numbered[((numbered["job_number"] != expected) & ~repeated).to_numpy()]
            gaps = gaps.assign(_expected=expected[gaps.index]) if len(gaps) else gaps.assign(_expected=[])
            # The first gap of each participant (a repeated key is reported as such, not as a gap).
            for line, pid, number, expected_number in _rows(gaps.drop_duplicates("participant_id"), "participant_id",
                                                            "job_number", "_expected"):
                out.append(
                    Problem(labels["jobs.csv"], int(line), "job_number", str(number),
                            f"leaves a gap: the jobs of {pid} must be numbered 1, 2, … (expected {expected_number})")
                )

    # work_12m.job_sector is the sector of the first job, for IPS participants with a job.
    if _has(frames, "work_12m.csv", "participant_id", "job_sector"):
        w = frames["work_12m.csv"]
        first_jobs: dict[str, str] = {}
        any_jobs: set[str] = set()
        if _has(frames, "jobs.csv", "participant_id", "job_number", "job_sector"):
            j = frames["jobs.csv"]
            any_jobs = set(j["participant_id"].dropna())
            for _, pid, number, sector in _rows(j, "participant_id", "job_number", "job_sector"):
                if _eq(number, 1) and not pd.isna(sector):
                    first_jobs.setdefault(pid, sector)
        for line, pid, sector in _rows(w, "participant_id", "job_sector"):
            if pd.isna(sector) or pd.isna(pid):
                continue
            if pid in people and _has(frames, "participants.csv", "arm") and _eq(people[pid]["arm"], "TAU"):
                out.append(
                    Problem(labels["work_12m.csv"], int(line), "job_sector", sector,
                            "is given for a TAU participant (only for IPS participants with a job)")
                )
            elif "jobs.csv" in frames and pid not in any_jobs:
                out.append(
                    Problem(labels["work_12m.csv"], int(line), "job_sector", sector,
                            "is given, but jobs.csv lists no job for this participant")
                )
            elif pid in first_jobs and first_jobs[pid] != sector:
                out.append(
                    Problem(labels["work_12m.csv"], int(line), "job_sector", sector,
                            f"differs from job 1 of this participant in jobs.csv ('{first_jobs[pid]}')")
                )
    return out


def _instep_rules(frames: dict[str, pd.DataFrame], raw: dict[str, pd.DataFrame], labels: dict[str, str]) -> list[Problem]:
    out: list[Problem] = []
    people: dict[str, dict[str, Any]] = {}
    if _has(frames, "participants.csv", "participant_id"):
        people = _id_lookup(frames["participants.csv"], "participant_id")
    label = labels["recruitment.csv"]

    if _has(frames, "recruitment.csv", "outcome"):
        r = frames["recruitment.csv"]
        recruited_on_line: dict[str, int] = {}
        # A column the file lacks reads as missing throughout, which no rule below flags.
        names = ("outcome", "ineligible_reason", "method", "participant_id", "setting")
        columns = [r[c].tolist() if c in r.columns else [None] * len(r) for c in names]
        has_ids = "participant_id" in r.columns
        raw_ids = raw["recruitment.csv"]["participant_id"].tolist() if has_ids else [None] * len(r)
        for line, outcome, reason, method, pid, setting, raw_id in zip(r.index.tolist(), *columns, raw_ids):
            if _missing(outcome):
                continue
            if not _missing(reason) and outcome != "enquired_ineligible":
                out.append(
                    Problem(label, int(line), "ineligible_reason", reason,
                            f"is given, but outcome is {outcome} (only for enquired_ineligible)")
                )
            if method == "poster" and outcome == "no_reply":
                out.append(
                    Problem(label, int(line), "outcome", outcome,
                            "is not possible for method poster (only people who enquired have rows)")
                )
            if not has_ids:
                continue
            if outcome == "recruited" and _missing(pid) and raw_id == "":
                out.append(Problem(label, int(line), "participant_id", None, "is empty, but outcome is recruited"))
            if _missing(pid):
                continue
            if outcome != "recruited":
                out.append(
                    Problem(label, int(line), "participant_id", pid, f"is given, but outcome is {outcome} (only for recruited)")
                )
                continue
            if pid in recruited_on_line:
                out.append(
                    Problem(label, int(line), "participant_id", pid, f"is recruited twice (also on line {recruited_on_line[pid]})")
                )
                continue
            recruited_on_line[pid] = int(line)
            if people:
                if pid not in people:
                    out.append(Problem(label, int(line), "participant_id", pid, "is not in participants.csv"))
                elif (
                    "setting" in people[pid]
                    and not _missing(setting)
                    and not pd.isna(people[pid]["setting"])
                    and setting != people[pid]["setting"]
                ):
                    out.append(
                        Problem(label, int(line), "setting", setting,
                                f"differs from the setting of {pid} in participants.csv ({people[pid]['setting']})")
                    )
        if "participant_id" in r.columns:
            p = frames["participants.csv"] if _has(frames, "participants.csv", "participant_id") else None
            if p is not None:
                for line, pid in _rows(p, "participant_id"):
                    if not pd.isna(pid) and pid not in recruited_on_line:
                        out.append(
                            Problem(labels["participants.csv"], int(line), "participant_id", pid,
                                    "has no recruited row in recruitment.csv")
                        )

    if people and _has(frames, "followup.csv", "participant_id"):
        for line, pid in _rows(frames["followup.csv"], "participant_id"):
            if not pd.isna(pid) and pid not in people:
                out.append(Problem(labels["followup.csv"], int(line), "participant_id", pid, "is not in participants.csv"))
        out += _missing_rows(frames, "followup.csv", labels["followup.csv"], list(people), (3, 6, 12))
    return out


def _no_rows(frames: dict[str, pd.DataFrame], labels: dict[str, str], ds: Dataset) -> list[Problem]:
    """Files read without problems in their header that hold no data row, where the analyses need one."""
    out = []
    for f in ds.files:
        if f.name in frames and len(frames[f.name]) == 0 and f.name not in _MAY_BE_EMPTY:
            out.append(Problem(labels[f.name], None, None, None,
                               "has no data rows (only a header): the analyses need at least one"))
    return out


# A trial in which no IPS participant found a job has no jobs.
_MAY_BE_EMPTY = {"jobs.csv"}
_MIN_ANALYSED_PER_ARM = 2  # a mean and SD per arm need two values


def _ips_pain_minimum(frames: dict[str, pd.DataFrame], labels: dict[str, str]) -> list[Problem]:
    """What the comparisons of arms need: two analysed participants per arm, and at each month of the primary
    outcome at least one response per arm."""
    out: list[Problem] = []
    if not _has(frames, "participants.csv", "participant_id", "arm", "withdrawn"):
        return out
    p = frames["participants.csv"]
    if len(p) == 0:
        return out
    analysed = p[(p["withdrawn"] == 0).fillna(False)]
    for arm in ("IPS", "TAU"):
        n = int((analysed["arm"] == arm).sum())
        if n < _MIN_ANALYSED_PER_ARM:
            out.append(Problem(labels["participants.csv"], None, "arm", arm,
                               f"has {n} analysed participant{'s' if n != 1 else ''}: the comparisons of arms need at "
                               f"least {_MIN_ANALYSED_PER_ARM} per arm"))
    if _has(frames, "employment.csv", "participant_id", "month", "employed") and len(frames["employment.csv"]):
        e = frames["employment.csv"]
        arm_of = dict(zip(analysed["participant_id"], analysed["arm"]))
        answered = e[e["employed"].notna()]
        for month in (6, 12, 24):
            at = answered[answered["month"] == month]
            for arm in ("IPS", "TAU"):
                if not any(arm_of.get(pid) == arm for pid in at["participant_id"]):
                    out.append(Problem(labels["employment.csv"], None, "employed", None,
                                       f"has no response at month {month} in the {arm} arm: the primary comparison "
                                       "needs at least one per arm and month"))
    return out


def _instep_minimum(frames: dict[str, pd.DataFrame], labels: dict[str, str]) -> list[Problem]:
    """The pilot's tables are by arm: each arm needs a participant."""
    if not _has(frames, "participants.csv", "arm") or len(frames["participants.csv"]) == 0:
        return []
    arms = set(frames["participants.csv"]["arm"].dropna())
    return [Problem(labels["participants.csv"], None, "arm", arm, "has no participant: the tables by arm need one")
            for arm in ("IPS", "TAU") if arm not in arms]


_RULES = {"ips-pain": _ips_pain_rules, "instep": _instep_rules}
_MINIMUM = {"ips-pain": _ips_pain_minimum, "instep": _instep_minimum}


# -- entry points ----------------------------------------------------------------------------------------


def _is_structural(p: Problem) -> bool:
    """A problem of a whole file or of its header (a missing file or column, an unreadable file): the cause of
    anything else wrong with that file, so it is listed first."""
    return p.line is None or (p.value is None and p.line == 1 and p.row_word == "line")


def check_dataset(data_dir: str | Path, name: str, max_bytes: int | None = None) -> CheckedDataset:
    """Read and check one dataset folder; the typed frames are indexed by line (or source row) number.

    Problems are ordered cause first: ``dataset.yaml``, then each file's file- and header-level problems,
    then the problems of cells and rows by file and line. Checks that need a column or file that is missing
    are not run, so a missing column is one problem, not one per row."""
    data_dir = Path(data_dir)
    max_bytes = max_file_bytes() if max_bytes is None else max_bytes
    ds = dataset(name)
    prefix = f"{data_dir.resolve().name}/{ds.name}"
    result = CheckedDataset(ds)
    structural: list[Problem] = []
    result.facts, sources = _check_facts(
        data_dir / ds.name / "dataset.yaml", f"{prefix}/dataset.yaml", ds, structural, data_dir, prefix
    )
    result.sources = sources
    labels = {f.name: f"{prefix}/{f.name}" for f in ds.files}
    cells: list[Problem] = []
    reads: dict[str, SourceRead] = {}
    for f in ds.files:
        found: list[Problem] = []
        bad_source: set[tuple[int, str]] = set()
        if f.name in sources:
            read = read_source(sources[f.name], f, max_bytes, found)
            reads[f.name] = read
            raw, bad_source = read.raw, read.bad
        elif f.name in _unusable_sources(result, structural):
            raw = None  # its source entry in dataset.yaml is broken (reported there)
        else:
            raw = _read_raw(data_dir / ds.name / f.name, labels[f.name], f, found, max_bytes)
        structural += [p for p in found if _is_structural(p)]
        cells += [p for p in found if not _is_structural(p)]
        if raw is None:
            continue
        typed, bad = parse_file(f, raw, labels[f.name], cells, bad_source)
        cells.extend(_schema_problems(f, typed, raw, labels[f.name], bad))
        if f.name not in sources:
            cells.extend(_sort_problem(f, typed, raw, labels[f.name]))
        elif all(k in typed.columns for k in f.key):
            # A source file need not be sorted; the contract's order is by key (rows keep their source numbers).
            typed = typed.sort_values(list(f.key), kind="stable")
            raw = raw.loc[typed.index]
        result.frames[f.name] = typed
        result.raw[f.name] = raw
    cells += _RULES[ds.name](result.frames, result.raw, labels)
    # What the analyses need beyond the contract (rows, arms) is judged only on otherwise valid data, so that
    # a broken cell is not also reported as a missing arm.
    later = [] if structural or cells else _no_rows(result.frames, labels, ds) + _MINIMUM[ds.name](result.frames, labels)
    order = {labels[f.name]: i for i, f in enumerate(ds.files, start=1)} | {f"{prefix}/dataset.yaml": 0}
    for file_name, fs in sources.items():  # problems found while reading a source carry its name already
        order[fs.label] = min(order.get(fs.label, len(order)), order[labels[file_name]])
    by_place = lambda p: (order.get(p.file, len(order)), p.line or 0)  # noqa: E731 - a sort key
    problems = sorted(structural, key=by_place) + sorted(cells, key=by_place) + later
    located = []
    for p in problems:
        for file_name, fs in sources.items():
            p = locate(p, fs, reads.get(file_name))
        located.append(p)
    result.problems = located
    result.causes = len(structural)
    return result


def _unusable_sources(result: CheckedDataset, problems: list[Problem]) -> set[str]:
    """Contract files whose ``sources:`` entry is broken: they are not read from a CSV instead."""
    names = {f.name for f in result.dataset.files}
    return {name for p in problems if p.column and p.column.startswith("sources.")
            for name in names if p.column[len("sources."):].startswith(name)}


def validate_dataset(data_dir: str | Path | None, name: str, max_bytes: int | None = None) -> list[Problem]:
    """Every problem of one dataset folder (``ips-pain`` or ``instep``) of ``data_dir``."""
    return check_dataset(default_data_dir() if data_dir is None else data_dir, name, max_bytes).problems


def validate_data_dir(data_dir: str | Path | None = None, max_bytes: int | None = None) -> list[Problem]:
    """Every problem of every file of ``data_dir`` (default: the project's ``data/``), never only the first:
    both datasets, and the ``dataset.yaml`` of any other folder (the render reads those too)."""
    folder = Path(default_data_dir() if data_dir is None else data_dir)
    causes: list[Problem] = []
    rest: list[Problem] = []
    for d in DATASETS:
        checked = check_dataset(folder, d.name, max_bytes)
        causes += checked.problems[: checked.causes]
        rest += checked.problems[checked.causes :]
    known = {d.name for d in DATASETS}
    for path in sorted(folder.glob("*/dataset.yaml")):
        if path.parent.name not in known:
            causes += check_other_dataset_yaml(path, f"{folder.resolve().name}/{path.parent.name}/dataset.yaml")
    return causes + rest


def validate_project_data(project_dir: str | Path) -> None:
    """Raise :class:`DataValidationError` listing every problem of ``project_dir/data``; return if clean."""
    problems = validate_data_dir(Path(project_dir) / "data")
    if problems:
        raise DataValidationError(problems)
