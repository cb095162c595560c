"""Source files as the trial holds them (SPSS ``.sav``, Stata ``.dta``, Excel ``.xlsx``, CSV), read into the
contract's columns through the ``sources:`` mapping of ``dataset.yaml``.

A dataset may name, per contract file, the file it is read from and how its variables become contract
columns::

    sources:
      participants.csv:
        file: trial.sav                  # relative to the dataset folder, inside data/
        columns:
          participant_id: {source: id, format: "NO-{:03d}"}   # numeric ID -> the contract's ID
          arm: {source: group, codes: {1: IPS, 2: TAU}}        # code or value label -> contract code
          randomized_on: randdate                              # only renamed
      jobs.csv:
        file: trial.xlsx
        sheet: jobs                      # Excel: the sheet to read

A contract column the mapping does not list is read from the source variable of the same name; source
variables the contract does not use are ignored. Each cell becomes the text the contract CSV would hold
(numbers written in full, dates as ``YYYY-MM-DD``, missing values empty), so the rest of validation and
loading is the same for a source file as for a CSV. Problems are located in the source's terms (file, sheet,
row, variable, value as the source holds it) as well as by contract column (see
:class:`~ipsreport.data.problems.Problem`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import posixpath
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ipsreport.data.dictionary import Column, DataFile, Dataset
from ipsreport.data.problems import Problem, file_too_large
from ipsreport.data.quoting import escape_controls, shorten

__all__ = [
    "SOURCE_SUFFIXES",
    "ColumnSource",
    "FileSource",
    "SourceRead",
    "parse_sources",
    "read_source",
    "locate",
]

SOURCE_SUFFIXES = {".sav": "SPSS", ".dta": "Stata", ".xlsx": "Excel", ".csv": "CSV"}
_ENTRY_KEYS = ("file", "sheet", "columns")
_COLUMN_KEYS = ("source", "codes", "format")
# One replacement field taking an integer: "{}", "{:03d}", "{0:4d}"; nothing that reaches attributes.
_FORMAT_SPEC = re.compile(r"^0?\d{0,2}d$")


@dataclass(frozen=True)
class ColumnSource:
    """How one contract column is read: the source ``variable``, optional ``codes`` (source code or value
    label → contract code) and optional ID ``format`` (``NO-{:03d}``) applied to a whole-number value."""

    column: str
    variable: str
    codes: Mapping[Any, Any] | None = None
    format: str | None = None


@dataclass(frozen=True)
class FileSource:
    """The source of one contract file: ``path`` on disk, ``label`` as messages show it, the Excel ``sheet``
    (None otherwise) and a :class:`ColumnSource` for every contract column."""

    contract_file: str
    contract_label: str
    path: Path
    label: str
    sheet: str | None
    columns: Mapping[str, ColumnSource]

    @property
    def kind(self) -> str:
        """``SPSS``, ``Stata``, ``Excel`` or ``CSV``."""
        return SOURCE_SUFFIXES[self.path.suffix.lower()]

    @property
    def row_word(self) -> str:
        return "line" if self.kind == "CSV" else "row"

    def variable_of(self, column: str) -> str:
        return self.columns[column].variable if column in self.columns else column


@dataclass
class SourceRead:
    """What reading one source gave: the contract columns as text indexed by source row (None when the file
    could not be read), the source value of every cell whose contract text differs from it, and the cells
    already reported (so that contract checks do not report them twice)."""

    raw: pd.DataFrame | None
    source_text: dict[tuple[int, str], str] = field(default_factory=dict)
    bad: set[tuple[int, str]] = field(default_factory=set)


# -- the mapping in dataset.yaml -------------------------------------------------------------------------


def _valid_format(fmt: str) -> bool:
    try:
        parts = list(string.Formatter().parse(fmt))
    except ValueError:
        return False
    fields = [(name, spec, conv) for _, name, spec, conv in parts if name is not None]
    if len(fields) != 1:
        return False
    name, spec, conv = fields[0]
    return name in ("", "0") and conv is None and (spec == "" or bool(_FORMAT_SPEC.match(spec)))


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float)) and not (isinstance(value, float) and not math.isfinite(value))


def _inside(data_dir: Path, folder: Path, relative: str) -> Path | None:
    """``folder/relative`` when it names a file inside ``data_dir`` (judged on the names, so that a data
    folder reached through a link still works), else None."""
    if not relative or relative.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", relative) or "\\" in relative:
        return None
    joined = posixpath.normpath(posixpath.join(folder.relative_to(data_dir).as_posix(), relative))
    if joined == "." or joined.startswith("../") or joined == "..":
        return None
    return data_dir / joined


def parse_sources(
    value: Any,
    ds: Dataset,
    data_dir: Path,
    prefix: str,
    yaml_label: str,
    lines: Mapping[str, int],
    column_lines: Mapping[str, Mapping[str, int]],
    out: list[Problem],
) -> dict[str, FileSource]:
    """The ``sources:`` value of a ``dataset.yaml`` as :class:`FileSource` per contract file; every mistake
    in it is appended to ``out`` (located at its line of ``dataset.yaml``) and the entry is left out."""

    def problem(key: str, rule: str, line: int | None = None, value: Any = None) -> None:
        shown = None if value is None else shorten(str(value))
        if line is None:  # the key's own line, else the line of the file entry it belongs to
            line = lines.get(key)
            if line is None:
                line = next((lines[n] for n in lines if n and key.startswith(n + ".")), None)
        out.append(Problem(yaml_label, line, f"sources.{key}" if key else "sources", shown, rule))

    if value is None:
        return {}
    if not isinstance(value, dict):
        problem("", "is not a mapping of contract files to their sources", lines.get(""))
        return {}
    folder = data_dir / ds.name
    found: dict[str, FileSource] = {}
    known_files = {f.name: f for f in ds.files}
    for name, entry in value.items():
        key = str(name)
        if key not in known_files:
            problem(key, f"is not a file of this dataset (files: {', '.join(known_files)})")
            continue
        f = known_files[key]
        if not isinstance(entry, dict):
            problem(key, "is not a mapping with file: (and sheet:, columns:)")
            continue
        ok = True
        for extra in entry:
            if extra not in _ENTRY_KEYS:
                problem(f"{key}.{extra}", f"is not a known key (known: {', '.join(_ENTRY_KEYS)})")
                ok = False
        file_name = entry.get("file")
        if not isinstance(file_name, str) or not file_name.strip():
            problem(f"{key}.file", "is missing or not a file name")
            continue
        suffix = Path(file_name).suffix.lower()
        if suffix not in SOURCE_SUFFIXES:
            problem(f"{key}.file", f"is not a source file ({', '.join(SOURCE_SUFFIXES)})", value=file_name)
            continue
        path = _inside(data_dir, folder, file_name)
        if path is None:
            problem(f"{key}.file", "is not a relative path inside the data folder", value=file_name)
            continue
        sheet = entry.get("sheet")
        if suffix == ".xlsx" and not (isinstance(sheet, str) and sheet.strip()):
            problem(f"{key}.sheet", "is missing: an Excel source names the sheet to read")
            ok = False
        elif suffix != ".xlsx" and sheet is not None:
            problem(f"{key}.sheet", "is only for Excel (.xlsx) sources", value=sheet)
            ok = False
        columns = _parse_columns(entry.get("columns"), f, key, column_lines.get(key, {}), problem)
        if columns is None or not ok:
            continue
        found[key] = FileSource(
            contract_file=key,
            contract_label=f"{prefix}/{key}",
            path=path,
            label=f"{prefix.rsplit('/', 1)[0]}/{path.relative_to(data_dir).as_posix()}",
            sheet=sheet if suffix == ".xlsx" else None,
            columns=columns,
        )
    return found


def _parse_columns(value: Any, f: DataFile, key: str, lines: Mapping[str, int], problem) -> dict[str, ColumnSource] | None:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        problem(f"{key}.columns", "is not a mapping of contract columns to source variables")
        return None
    ok = True
    columns: dict[str, ColumnSource] = {}
    for column, spec in value.items():
        where = f"{key}.columns.{column}"
        line = lines.get(str(column))
        if str(column) not in f.column_names:
            problem(where, f"is not a column of {f.name}", line)
            ok = False
            continue
        if isinstance(spec, str) and spec.strip():
            columns[str(column)] = ColumnSource(str(column), spec)
            continue
        if not isinstance(spec, dict):
            problem(where, "is neither a source variable name nor a mapping with source: (codes:, format:)", line)
            ok = False
            continue
        unknown = [k for k in spec if k not in _COLUMN_KEYS]
        variable = spec.get("source", column)
        codes, fmt = spec.get("codes"), spec.get("format")
        if unknown:
            problem(where, f"has unknown keys {', '.join(map(str, unknown))} (known: {', '.join(_COLUMN_KEYS)})", line)
            ok = False
        if not (isinstance(variable, str) and variable.strip()):
            problem(where, "source: is not a variable name", line)
            ok = False
        if codes is not None and not (
            isinstance(codes, dict) and codes and all(_scalar(k) and _scalar(v) for k, v in codes.items())
        ):
            problem(where, "codes: is not a mapping of source codes or labels to contract codes", line)
            ok = False
        if fmt is not None and not (isinstance(fmt, str) and _valid_format(fmt)):
            problem(where, "format: is not an ID format with one whole-number field, such as NO-{:03d}", line, fmt)
            ok = False
        if codes is not None and fmt is not None:
            problem(where, "has both codes: and format: (use one)", line)
            ok = False
        if ok:
            columns[str(column)] = ColumnSource(str(column), str(variable), codes, fmt)
    if not ok:
        return None
    return {c: columns.get(c, ColumnSource(c, c)) for c in f.column_names}


# -- reading a source ------------------------------------------------------------------------------------


@dataclass
class _Table:
    header: list[str]
    rows: list[tuple[int, list[Any]]]  # (row number as the source counts it, cells)
    labels: dict[str, dict[Any, str]] = field(default_factory=dict)


def _read_stat(fs: FileSource, out: list[Problem], max_bytes: int) -> _Table | None:
    import pyreadstat

    reader = pyreadstat.read_sav if fs.kind == "SPSS" else pyreadstat.read_dta
    # pyreadstat opens the file in C, out of sight of Python's audit hooks, through which the render learns
    # which data files a chapter read (and so when to re-run it); opening it here makes the read visible.
    with open(fs.path, "rb"):
        pass
    try:
        frame, meta = reader(str(fs.path), apply_value_formats=False, user_missing=False)
    except Exception as err:  # pyreadstat raises its own error types and OSError; all mean "cannot read"
        out.append(Problem(fs.label, None, None, None, f"is not a readable {fs.kind} file ({type(err).__name__}: {err})"))
        return None
    header = [str(c) for c in frame.columns]
    cells = frame.astype(object).where(frame.notna(), None).values.tolist()
    rows = [(i, list(r)) for i, r in enumerate(cells, start=1)]
    labels = {str(k): dict(v) for k, v in (meta.variable_value_labels or {}).items()}
    return _Table(header, rows, labels)


_XLSX_EXPANSION = 10  # how much larger than the size cap a workbook may grow when unzipped


def _read_xlsx(fs: FileSource, out: list[Problem], max_bytes: int) -> _Table | None:
    import zipfile

    import openpyxl

    try:  # a workbook is a zip file: judge it by what it unpacks to, not by its compressed size
        with zipfile.ZipFile(fs.path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (OSError, zipfile.BadZipFile):
        unpacked = 0  # reported as unreadable below
    if unpacked > _XLSX_EXPANSION * max_bytes:
        out.append(Problem(fs.label, None, None, None, f"unpacks to {unpacked / 1e6:,.1f} MB, more than "
                           f"{_XLSX_EXPANSION} times the {max_bytes / 1e6:,.1f} MB validation reads of one file"))
        return None
    try:
        book = openpyxl.load_workbook(fs.path, read_only=True, data_only=True)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as err:
        out.append(Problem(fs.label, None, None, None, f"is not a readable Excel workbook ({type(err).__name__})"))
        return None
    try:
        if fs.sheet not in book.sheetnames:
            shown = ", ".join(shorten(s, 40) for s in book.sheetnames[:20])
            out.append(Problem(fs.label, None, None, None, f"has no sheet {fs.sheet!r} (sheets: {shown})", sheet=fs.sheet))
            return None
        rows_iter = book[fs.sheet].iter_rows(values_only=True)
        header: list[str] | None = None
        rows: list[tuple[int, list[Any]]] = []
        for number, row in enumerate(rows_iter, start=1):
            cells = list(row)
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                continue
            if header is None:
                header = ["" if c is None else str(c).strip() for c in cells]
                continue
            cells += [None] * (len(header) - len(cells))
            rows.append((number, cells[: len(header)]))
    finally:
        book.close()
    if header is None:
        out.append(Problem(fs.label, None, None, None, "sheet is empty (no header row)", sheet=fs.sheet))
        return None
    return _Table(header, rows)


def _read_csv(fs: FileSource, out: list[Problem], max_bytes: int) -> _Table | None:
    data = fs.path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        out.append(Problem(fs.label, None, None, None, f"is not UTF-8 text (line {line}); save it as UTF-8"))
        return None
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[tuple[int, list[Any]]] = []
    previous_end = 0
    try:
        for record in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if header is None:
                header = record
                continue
            if record:
                rows.append((start, [c if c != "" else None for c in record] + [None] * (len(header) - len(record))))
    except csv.Error as err:
        out.append(Problem(fs.label, reader.line_num, None, None, f"is not valid CSV ({err})", row_word="line"))
        return None
    if header is None:
        out.append(Problem(fs.label, None, None, None, "file is empty (no header row)"))
        return None
    return _Table(header, rows)


def _number_text(value: float) -> str:
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _plain_text(value: Any) -> str:
    """The text a contract CSV would hold for a source cell (no mapping applied)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return _number_text(float(value))
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        if value.hour == value.minute == value.second == value.microsecond == 0:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _lookup_codes(codes: Mapping[Any, Any]) -> tuple[dict[float, Any], dict[str, Any]]:
    by_number: dict[float, Any] = {}
    by_text: dict[str, Any] = {}
    for k, v in codes.items():
        if isinstance(k, (int, float)) and not isinstance(k, bool):
            by_number[float(k)] = v
        else:
            by_text[str(k)] = v
    return by_number, by_text


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _convert_column(
    fs: FileSource, c: Column, spec: ColumnSource, index: int, table: _Table, read: SourceRead, out: list[Problem]
) -> list[str]:
    labels = table.labels.get(spec.variable, {})
    by_number, by_text = _lookup_codes(spec.codes) if spec.codes else ({}, {})
    texts: list[str] = []
    for row, cells in table.rows:
        value = cells[index]
        plain = _plain_text(value)
        if plain == "" or (isinstance(value, str) and not value.strip()):
            texts.append("")
            continue
        text = plain
        if spec.codes is not None:
            number = _as_number(value)
            label = labels.get(value)
            if number is not None and number in by_number:
                mapped = by_number[number]
            elif isinstance(value, str) and value in by_text:
                mapped = by_text[value]
            elif label is not None and str(label) in by_text:
                mapped = by_text[str(label)]
            else:
                known = ", ".join(shorten(str(k), 30) for k in list(spec.codes)[:12])
                has_label = f" (its value label is {escape_controls(shorten(str(label), 40))!r})" if label else ""
                out.append(Problem(fs.label, row, c.name, shorten(plain), f"is not in the codes of {c.name} in "
                                   f"dataset.yaml ({known}){has_label}", sheet=fs.sheet, variable=spec.variable,
                                   row_word=fs.row_word))
                read.bad.add((row, c.name))
                texts.append(plain)  # not empty: an unmapped value is not also a missing one
                continue
            text = _plain_text(mapped)
        elif spec.format is not None:
            number = _as_number(value)
            if number is None or not math.isfinite(number) or not number.is_integer() or abs(number) >= 1e15:
                out.append(Problem(fs.label, row, c.name, shorten(plain), f"is not a whole number, which the ID format "
                                   f"{spec.format} of {c.name} needs", sheet=fs.sheet, variable=spec.variable,
                                   row_word=fs.row_word))
                read.bad.add((row, c.name))
                texts.append("")
                continue
            text = spec.format.format(int(number))
        if text != plain:
            read.source_text[(row, c.name)] = plain
        texts.append(text)
    return texts


def read_source(fs: FileSource, f: DataFile, max_bytes: int, out: list[Problem]) -> SourceRead:
    """Read ``fs`` into the text of the contract columns of ``f``; problems (unreadable file, missing sheet or
    variable, a code not in the mapping, an ID that is not a whole number) are appended to ``out``."""
    if not fs.path.is_file():
        out.append(Problem(fs.label, None, None, None, f"file is missing (the source of {f.name} in dataset.yaml)"))
        return SourceRead(None)
    size = fs.path.stat().st_size
    if size > max_bytes:
        out.append(Problem(fs.label, None, None, None, file_too_large(size, max_bytes)))
        return SourceRead(None)
    reader = {"SPSS": _read_stat, "Stata": _read_stat, "Excel": _read_xlsx, "CSV": _read_csv}[fs.kind]
    table = reader(fs, out, max_bytes)
    if table is None:
        return SourceRead(None)
    read = SourceRead(None)
    position: dict[str, int] = {}
    for i, name in enumerate(table.header):
        if name in position:
            out.append(Problem(fs.label, None, None, None, "appears twice in the header", sheet=fs.sheet, variable=name,
                               row_word=fs.row_word))
            continue
        position[name] = i
    data: dict[str, list[str]] = {}
    for c in f.columns:
        spec = fs.columns[c.name]
        if spec.variable not in position:
            out.append(Problem(fs.label, None, c.name, None, f"source variable is missing ({fs.kind} {'sheet' if fs.sheet else 'file'} has "
                               f"{_names(table.header)})", sheet=fs.sheet, variable=spec.variable, row_word=fs.row_word))
            continue
        data[c.name] = _convert_column(fs, c, spec, position[spec.variable], table, read, out)
    lines = [row for row, _ in table.rows]
    read.raw = pd.DataFrame(data, index=pd.Index(lines, name="line", dtype="int64"), dtype=object)
    return read


def _names(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(shorten(n, 30) for n in names[:limit])
    return shown + (f", … {len(names) - limit} more" if len(names) > limit else "")


def locate(p: Problem, fs: FileSource, read: SourceRead | None) -> Problem:
    """A problem found in the contract columns of ``fs``'s contract file, moved to the source's terms."""
    if p.file != fs.contract_label:
        return p
    variable = None
    if p.column is not None:
        variable = ", ".join(fs.variable_of(c) for c in p.column.split(", "))
    source_value = None
    if read is not None and p.line is not None and p.column is not None:
        source_value = read.source_text.get((p.line, p.column))
    rule = p.rule.replace(" line ", f" {fs.row_word} ")  # "repeats the key of line 3" points into the same file
    return replace(p, file=fs.label, sheet=fs.sheet, variable=variable, source_value=source_value,
                   row_word=fs.row_word, rule=rule)
