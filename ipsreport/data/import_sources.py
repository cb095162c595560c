"""Writing the contract CSV files from a dataset's source files (``ipsreport import``).

Each dataset whose ``dataset.yaml`` names sources is validated as a whole first; only when every dataset is
clean are the files written, each through a temporary file and a rename, so a failed import leaves the
previous files as they were. The CSV text is exactly what validation read from the sources (numbers in
full, dates ``YYYY-MM-DD``, missing values empty), in the dictionary's column order and the key's row order.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path

import yaml

from ipsreport.data.dictionary import DATASETS
from ipsreport.data.problems import DataValidationError, Problem
from ipsreport.data.validate import check_dataset

__all__ = ["contract_csv_text", "write_contract_csvs"]


def contract_csv_text(columns: tuple[str, ...], raw) -> str:
    """The contract CSV text of a raw (text) frame: header, then one line per row, ``\\n`` line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in raw[list(columns)].itertuples(index=False, name=None):
        writer.writerow(row)
    return buffer.getvalue()


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_contract_csvs(data_dir: str | Path, out_dir: str | Path | None = None, max_bytes: int | None = None) -> list[Path]:
    """Write ``out_dir/<dataset>/<file>.csv`` for every contract file read from a source under ``data_dir``
    and return the paths written. When ``out_dir`` is another folder, every file of such a dataset is written
    there with a ``dataset.yaml`` without ``sources:``, so that the folder is a complete contract dataset. Raises
    :class:`DataValidationError` with every problem (and writes nothing) when a dataset with sources does not
    validate."""
    data_dir = Path(data_dir)
    target = data_dir if out_dir is None else Path(out_dir)
    problems: list[Problem] = []
    plans: list[tuple[Path, str]] = []
    for ds in DATASETS:
        if not (data_dir / ds.name / "dataset.yaml").is_file():
            continue
        checked = check_dataset(data_dir, ds.name, max_bytes)
        if not checked.sources:
            continue
        if checked.problems:
            problems += checked.problems
            continue
        elsewhere = target.resolve() != data_dir.resolve()
        for name in [f.name for f in ds.files] if elsewhere else checked.sources:
            columns = checked.dataset.file(name).column_names
            plans.append((target / ds.name / name, contract_csv_text(columns, checked.raw[name])))
        if elsewhere and checked.facts is not None:
            facts = {k: v for k, v in checked.facts.items() if k != "sources"}
            plans.append((target / ds.name / "dataset.yaml", yaml.safe_dump(facts, sort_keys=False, allow_unicode=True)))
    if problems:
        raise DataValidationError(problems)
    for path, text in plans:
        _write_atomically(path, text)
    return [path for path, _ in plans]
