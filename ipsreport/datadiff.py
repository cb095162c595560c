"""What changed in the data between two renders, as counts only: rows added, removed and changed per file and
column, matched by each file's key (the data dictionary's, e.g. ``participant_id`` and ``month``; for a file the
dictionary does not describe, a unique ``id`` or ``*_id`` column; else rows are matched by content).

A render keeps per-row digests of every CSV file under ``data/`` in the cache folder; the next render compares
its own with them. Digests are truncated SHA-256 of the key and of each cell, so the cache and the report hold
no ID and no value.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["FileDataDiff", "row_digests", "diff_row_digests", "load_digests", "save_digests", "MAX_BYTES"]

MAX_BYTES = 50 * 1024 * 1024  # larger files are fingerprinted only (validation rejects them anyway)


@dataclass(frozen=True)
class FileDataDiff:
    """Changes to one data file: ``file`` (project-relative), ``status`` (``changed``, ``added`` — a new file —
    or ``removed``), ``rows_added``, ``rows_removed``, ``rows_changed`` (rows with the same key and another
    value in some column), ``columns`` (``(column, rows changed)`` pairs), ``columns_added``,
    ``columns_removed`` and ``keyed`` (False when rows could only be matched by their whole content, so an edit
    counts as one row removed and one added)."""

    file: str
    status: str
    rows_added: int = 0
    rows_removed: int = 0
    rows_changed: int = 0
    columns: tuple[tuple[str, int], ...] = ()
    columns_added: tuple[str, ...] = ()
    columns_removed: tuple[str, ...] = ()
    keyed: bool = True


def _digest(text: str, n: int = 16) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]


def _key_columns(project_dir: Path, relative: Path) -> tuple[str, ...]:
    try:
        from .data.dictionary import dataset

        return tuple(dataset(relative.parent.name).file(relative.name).key)
    except (ImportError, KeyError, ValueError, LookupError):
        return ()


def _id_column(header: list[str], rows: list[list[str]]) -> tuple[str, ...]:
    """For a file the data dictionary does not describe: the first column named ``id`` or ``*_id`` whose
    values are present and unique, as the key; else none."""
    for i, name in enumerate(header):
        if name == "id" or name.endswith("_id"):
            values = [r[i] if i < len(r) else "" for r in rows]
            if all(values) and len(set(values)) == len(values):
                return (name,)
    return ()


def _file_digests(path: Path, key: tuple[str, ...]) -> dict[str, Any] | None:
    if path.stat().st_size > MAX_BYTES:
        return None
    try:
        with open(path, encoding="utf-8", newline="") as f:
            records = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    if not records:
        return {"columns": [], "keyed": False, "rows": {}}
    header = records[0]
    if not key:
        key = _id_column(header, records[1:])
    keyed = bool(key) and all(k in header for k in key)
    index = [header.index(k) for k in key] if keyed else []
    rows: dict[str, list[str]] = {}
    seen: Counter = Counter()
    cell_digests: dict[str, str] = {}  # a long file repeats its codes, months and dates: each is hashed once
    for record in records[1:]:
        cells = record + [""] * (len(header) - len(record))
        ident = "\x1f".join(cells[i] for i in index) if keyed else "\x1f".join(cells)
        seen[ident] += 1
        digests = []
        for c in cells[: len(header)]:
            d = cell_digests.get(c)
            if d is None:
                d = cell_digests[c] = _digest(c, 12)
            digests.append(d)
        rows[_digest(f"{ident}\x1e{seen[ident]}")] = digests
    return {"columns": header, "keyed": keyed, "rows": rows}


def row_digests(project_dir: Path) -> dict[str, dict[str, Any]]:
    """``{file: {"columns": [...], "keyed": bool, "rows": {key digest: [cell digests]}}}`` for every CSV file
    under ``data/`` (files that cannot be read as UTF-8 CSV are left out)."""
    root = Path(project_dir)
    out = {}
    for path in sorted((root / "data").rglob("*.csv")):
        relative = path.relative_to(root / "data")
        found = _file_digests(path, _key_columns(root, relative))
        if found is not None:
            out[path.relative_to(root).as_posix()] = found
    return out


def diff_row_digests(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> list[FileDataDiff]:
    """Per file whose rows differ: counts of rows added, removed and changed, and of changed rows per column."""
    out = []
    for name in sorted(set(old) | set(new)):
        if name not in old:
            out.append(FileDataDiff(name, "added", rows_added=len(new[name]["rows"]), keyed=new[name]["keyed"]))
            continue
        if name not in new:
            out.append(FileDataDiff(name, "removed", rows_removed=len(old[name]["rows"]), keyed=old[name]["keyed"]))
            continue
        a, b = old[name], new[name]
        if a == b:
            continue
        rows_a, rows_b = a["rows"], b["rows"]
        shared = [c for c in b["columns"] if c in a["columns"]]
        ia = {c: a["columns"].index(c) for c in shared}
        ib = {c: b["columns"].index(c) for c in shared}
        per_column: Counter = Counter()
        changed = 0
        for key in rows_a.keys() & rows_b.keys():
            cols = [c for c in shared if rows_a[key][ia[c]] != rows_b[key][ib[c]]]
            if cols:
                changed += 1
                per_column.update(cols)
        out.append(FileDataDiff(
            name, "changed", rows_added=len(rows_b.keys() - rows_a.keys()),
            rows_removed=len(rows_a.keys() - rows_b.keys()), rows_changed=changed,
            columns=tuple((c, per_column[c]) for c in shared if per_column[c]),
            columns_added=tuple(c for c in b["columns"] if c not in a["columns"]),
            columns_removed=tuple(c for c in a["columns"] if c not in b["columns"]),
            keyed=a["keyed"] and b["keyed"],
        ))
    return out


def load_digests(path: Path) -> dict[str, dict[str, Any]] | None:
    """The digests a previous render saved at ``path``; None when there are none (or they are unreadable)."""
    try:
        found = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def save_digests(digests: dict[str, dict[str, Any]], path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(digests, sort_keys=True), encoding="utf-8")
    tmp.replace(path)
