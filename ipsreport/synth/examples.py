"""Example source files: the reconstructed data written as a trial might hold them, in SPSS (``.sav``, value
labels), Stata (``.dta``, value labels) and Excel (``.xlsx``, one sheet per file, labels as text), each with
the ``dataset.yaml`` whose ``sources:`` mapping reads it back into the contract's columns.

They show the mapping format (``docs/data-contract.md``) at work and let the tests check that a source file
gives exactly the values of the contract CSV it was written from. Source variables carry the names,
numeric IDs and numeric codes such files usually have (``id``, ``group`` = 1/2, ``sex`` = 1/2); the SPSS
mapping matches codes, the Stata and Excel mappings match value labels. File headers carry a fixed time
stamp, so that writing them again gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ipsreport.data.dictionary import DATASETS, Dataset

__all__ = ["EXAMPLE_FORMATS", "write_examples"]

EXAMPLE_FORMATS = ("spss", "stata", "excel")
_SUFFIX = {"spss": ".sav", "stata": ".dta", "excel": ".xlsx"}
_FIXED_TIME = dt.datetime(2020, 1, 1)


@dataclass(frozen=True)
class _Var:
    """A contract column as a source holds it: its ``variable`` name, numeric ``labels`` (code → label), the
    contract code of each source code (``codes``), or the ``format`` that makes its number an ID."""

    variable: str
    labels: dict[int, str] | None = None
    codes: dict[int, Any] | None = None
    format: str | None = None


def _coded(variable: str, pairs: list[tuple[Any, str]]) -> _Var:
    """A category stored as 1, 2, … with value labels; ``pairs`` are (contract code, label) in code order."""
    return _Var(variable, labels={i: label for i, (_, label) in enumerate(pairs, 1)},
                codes={i: code for i, (code, _) in enumerate(pairs, 1)})


_NO_YES = {0: "No", 1: "Yes"}
_NO_ID = _Var("id", format="NO-{:03d}")
_UK_ID = _Var("pid", format="UK-{:03d}")
_ARM = _coded("group", [("IPS", "Individual placement and support"), ("TAU", "Treatment as usual")])
_SETTING = _coded("setting", [("primary_care", "Primary care"), ("pain_service", "Pain service")])

_SPECS: dict[str, dict[str, dict[str, _Var]]] = {
    "ips-pain": {
        "participants.csv": {
            "participant_id": _NO_ID,
            "arm": _ARM,
            "withdrawn": _Var("dropout", labels=_NO_YES),
            "randomized_on": _Var("randdate"),
            "female": _Var("sex", labels={1: "Male", 2: "Female"}, codes={1: 0, 2: 1}),
            "benefit_type": _coded("benefit", [("work_assessment_allowance", "Work assessment allowance"),
                                               ("disability_benefit", "Disability benefit"),
                                               ("other_benefit", "Other benefit"), ("none", "No benefit")]),
        },
        "questionnaires.csv": {"participant_id": _NO_ID, "month": _Var("visit")},
        "employment.csv": {"participant_id": _NO_ID, "month": _Var("visit"),
                           "employed": _Var("working", labels=_NO_YES)},
        "work_12m.csv": {"participant_id": _NO_ID},
        "jobs.csv": {"participant_id": _NO_ID, "job_number": _Var("jobno")},
        "historical_controls.csv": {"control_id": _Var("regno", format="HC-{:04d}"),
                                    "employed_12m": _Var("employed", labels=_NO_YES)},
    },
    "instep": {
        "recruitment.csv": {
            "contact_id": _Var("contact", format="UK-C{:04d}"),
            "method": _coded("method", [("database_mailout", "Database mail-out"),
                                        ("hand_search_telephone", "Hand search and telephone"),
                                        ("poster", "Poster"), ("opportunistic_gp", "Opportunistic, GP"),
                                        ("opportunistic_pain_service", "Opportunistic, pain service")]),
            "setting": _SETTING,
            "outcome": _coded("outcome", [("no_reply", "No reply"), ("enquired_ineligible", "Enquired, ineligible"),
                                          ("not_contactable", "Not contactable"), ("recruited", "Recruited"),
                                          ("after_closure", "After closure")]),
            "ineligible_reason": _coded("inelig", [("in_paid_work", "In paid work"), ("retired", "Retired"),
                                                   ("no_chronic_pain", "No chronic pain"), ("other", "Other")]),
            "participant_id": _UK_ID,
        },
        "participants.csv": {
            "participant_id": _UK_ID,
            "arm": _ARM,
            "setting": _SETTING,
            "recruited_on": _Var("recdate"),
            "sex": _coded("sex", [("male", "Male"), ("female", "Female")]),
        },
        "followup.csv": {"participant_id": _UK_ID},
        "employer_themes.csv": {},
    },
}


def _source_frame(ds: Dataset, name: str, frame: pd.DataFrame, fmt: str) -> tuple[pd.DataFrame, dict]:
    """The contract frame as the source holds it, and the value labels of its numeric variables."""
    spec = _SPECS[ds.name][name]
    out: dict[str, list] = {}
    labels: dict[str, dict[int, str]] = {}
    for c in ds.file(name).columns:
        var = spec.get(c.name, _Var(c.name))
        values = frame[c.name].tolist()
        missing = [pd.isna(v) for v in values]
        if var.format is not None:
            values = [None if m else int(re.search(r"\d+$", str(v)).group()) for v, m in zip(values, missing)]
        elif var.codes is not None:
            back = {code: number for number, code in var.codes.items()}
            if fmt == "excel":
                values = [None if m else var.labels[back[v]] for v, m in zip(values, missing)]
            else:
                values = [None if m else back[v] for v, m in zip(values, missing)]
        elif c.kind == "date":
            values = [None if m else (pd.Timestamp(v).to_pydatetime() if fmt == "excel" else pd.Timestamp(v).date())
                      for v, m in zip(values, missing)]
        elif c.kind in ("integer", "binary"):
            values = [None if m else int(v) for v, m in zip(values, missing)]
        elif c.kind == "number":
            values = [None if m else float(v) for v, m in zip(values, missing)]
        else:
            values = [("" if fmt != "excel" else None) if m else str(v) for v, m in zip(values, missing)]
        numeric = var.format is not None or var.codes is not None or c.kind in ("integer", "binary", "number")
        if fmt != "excel" and numeric:  # SPSS and Stata numeric variables are doubles; missing is NaN
            values = [float("nan") if v is None else float(v) for v in values]
        out[var.variable] = values
        if var.labels and fmt != "excel":
            labels[var.variable] = dict(var.labels)
    return pd.DataFrame(out), labels


def _mapping(ds: Dataset, fmt: str) -> dict[str, Any]:
    """The ``sources:`` value of the example's ``dataset.yaml``."""
    sources: dict[str, Any] = {}
    for f in ds.files:
        spec = _SPECS[ds.name][f.name]
        columns: dict[str, Any] = {}
        for column, var in spec.items():
            if var.format is not None:
                columns[column] = {"source": var.variable, "format": var.format}
            elif var.codes is not None:
                keys = var.codes if fmt == "spss" else {var.labels[n]: code for n, code in var.codes.items()}
                columns[column] = {"source": var.variable, "codes": dict(keys)}
            elif var.variable != column:
                columns[column] = var.variable
        stem = f.name.removesuffix(".csv")
        entry: dict[str, Any] = {"file": f"{ds.name}.xlsx" if fmt == "excel" else f"{stem}{_SUFFIX[fmt]}"}
        if fmt == "excel":
            entry["sheet"] = stem
        if columns:
            entry["columns"] = columns
        sources[f.name] = entry
    return sources


def _fix_sav_time(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[92:109] = _FIXED_TIME.strftime("%d %b %y%H:%M:%S").encode("ascii")  # creation date (9) and time (8)
    path.write_bytes(bytes(data))


def _fix_dta_time(path: Path) -> None:
    data = path.read_bytes()
    stamp = _FIXED_TIME.strftime("%d %b %Y %H:%M").encode("ascii")
    data = re.sub(rb"<timestamp>\x11.{17}</timestamp>", b"<timestamp>\x11" + stamp + b"</timestamp>", data, count=1,
                  flags=re.DOTALL)
    path.write_bytes(data)


def _write_xlsx(path: Path, sheets: dict[str, pd.DataFrame]) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, frame in sheets.items():
        sheet = book.create_sheet(title)
        sheet.append(list(frame.columns))
        for row in frame.itertuples(index=False, name=None):
            sheet.append([None if v is None or (isinstance(v, float) and v != v) else v for v in row])
        for cell in sheet[1]:
            cell.font = openpyxl.styles.Font(bold=True)
    book.properties.created = book.properties.modified = _FIXED_TIME
    buffer = io.BytesIO()
    book.save(buffer)
    # Zip entries carry the time of writing; rewrite them with a fixed one.
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the saving time as "modified"
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2020-01-01T00:00:00Z", content)
            target.writestr(fixed, content)


def _dataset_yaml(ds: Dataset, facts: dict[str, Any], fmt: str) -> str:
    header = (f"# Example: the reconstructed {ds.title} data as {fmt.upper() if fmt == 'spss' else fmt.title()} "
              "source files, read through the mapping below.\n# Written by `ipsreport synthesize`; see "
              "docs/data-contract.md, \"Source files\".\n")
    body = {"synthetic": facts["synthetic"], "description": facts["description"],
            "notice": facts.get("notice") or "", "generated_by": "ipsreport synthesize (example source files)",
            "sources": _mapping(ds, fmt)}
    return header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=110, default_flow_style=None)


def write_examples(data_dir: str | Path, examples_dir: str | Path) -> list[Path]:
    """Write ``examples_dir/{spss,stata,excel}/{ips-pain,instep}/`` from the contract files of ``data_dir``
    (which must validate) and return the paths written."""
    import pyreadstat

    from ipsreport.data.validate import DataValidationError, check_dataset

    written: list[Path] = []
    for ds in DATASETS:
        checked = check_dataset(data_dir, ds.name)
        if checked.problems:
            raise DataValidationError(checked.problems)
        frames = {f.name: checked.frames[f.name].reset_index(drop=True) for f in ds.files}
        for fmt in EXAMPLE_FORMATS:
            folder = Path(examples_dir) / fmt / ds.name
            folder.mkdir(parents=True, exist_ok=True)
            sheets = {}
            for f in ds.files:
                frame, labels = _source_frame(ds, f.name, frames[f.name], fmt)
                stem = f.name.removesuffix(".csv")
                if fmt == "excel":
                    sheets[stem] = frame
                    continue
                path = folder / f"{stem}{_SUFFIX[fmt]}"
                if fmt == "spss":
                    pyreadstat.write_sav(frame, str(path), variable_value_labels=labels)
                    _fix_sav_time(path)
                else:
                    pyreadstat.write_dta(frame, str(path), variable_value_labels=labels)
                    _fix_dta_time(path)
                written.append(path)
            if sheets:
                path = folder / f"{ds.name}.xlsx"
                _write_xlsx(path, sheets)
                written.append(path)
            meta = folder / "dataset.yaml"
            meta.write_text(_dataset_yaml(ds, checked.facts or {}, fmt), encoding="utf-8", newline="\n")
            written.append(meta)
    return written
