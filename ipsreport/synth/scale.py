"""A K-times larger copy of the reconstructed data, for measuring how the book's render time grows with data size.

Every participant-level file is repeated K times; each copy of a person gets new IDs, consistently across the files
that share them, so every margin keeps its proportion (counts times K, percentages and means unchanged). IDs are
written two digits wider (``NO-00001``, ``HC-000001``, ``UK-00001``, ``UK-C000001``), a form the data dictionary
accepts. Files that are not participant-level (the employer interview themes, the published targets) are copied
as they are. The data set's notice says that the copy is scaled.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pandas as pd
import yaml

__all__ = ["scale_data", "SCALED_FILES"]

# file (relative to the data folder) -> the ID columns to renumber; each ID family is renumbered consistently
# across the files of its data set.
SCALED_FILES: dict[str, tuple[str, ...]] = {
    "ips-pain/participants.csv": ("participant_id",),
    "ips-pain/employment.csv": ("participant_id",),
    "ips-pain/jobs.csv": ("participant_id",),
    "ips-pain/questionnaires.csv": ("participant_id",),
    "ips-pain/work_12m.csv": ("participant_id",),
    "ips-pain/historical_controls.csv": ("control_id",),
    "instep/participants.csv": ("participant_id",),
    "instep/followup.csv": ("participant_id",),
    "instep/recruitment.csv": ("contact_id", "participant_id"),
}
_ID = re.compile(r"^(?P<prefix>[A-Z]+-C?)(?P<number>\d+)$")
_WIDER = 2  # digits added to every ID


def _families(source: Path) -> dict[tuple[str, str], list[str]]:
    """The IDs of each (data set, prefix) in order of first appearance."""
    seen: dict[tuple[str, str], dict[str, None]] = {}
    for name, columns in SCALED_FILES.items():
        frame = pd.read_csv(source / name, dtype=str, keep_default_na=False)
        for column in columns:
            for value in frame[column]:
                match = _ID.match(value)
                if match:
                    seen.setdefault((name.split("/")[0], match["prefix"]), {})[value] = None
    return {key: list(ids) for key, ids in seen.items()}


def _renumbering(families: dict[tuple[str, str], list[str]], k: int) -> dict[tuple[str, int], dict[str, str]]:
    """(data set, copy) -> old ID -> new ID, the copies numbered one after another."""
    maps: dict[tuple[str, int], dict[str, str]] = {}
    for (dataset, prefix), ids in sorted(families.items()):
        width = max(len(_ID.match(i)["number"]) for i in ids) + _WIDER  # type: ignore[index]
        for copy in range(k):
            target = maps.setdefault((dataset, copy), {})
            for position, old in enumerate(ids):
                target[old] = f"{prefix}{copy * len(ids) + position + 1:0{width}d}"
    return maps


def scale_data(source: Path | str, out: Path | str, k: int) -> list[Path]:
    """Write a ``k``-times larger copy of the data folder ``source`` into ``out`` (a different folder, replaced if
    it holds an earlier copy); return the files written."""
    source, out = Path(source).resolve(), Path(out).resolve()
    if k < 1:
        raise ValueError("the scale must be a whole number of at least 1")
    if out == source or source in out.parents:
        raise ValueError(f"{out}: write the scaled copy outside the source folder {source}")
    missing = [name for name in SCALED_FILES if not (source / name).is_file()]
    if missing:
        raise ValueError(f"{source}: not a reconstructed data folder (missing {', '.join(missing)})")
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(source, out, ignore=shutil.ignore_patterns("__pycache__"))
    maps = _renumbering(_families(source), k)
    written = []
    for name, columns in SCALED_FILES.items():
        frame = pd.read_csv(source / name, dtype=str, keep_default_na=False)
        dataset = name.split("/")[0]
        copies = []
        for copy in range(k):
            part = frame.copy()
            for column in columns:
                part[column] = part[column].map(lambda v, m=maps[(dataset, copy)]: m.get(v, v))
            copies.append(part)
        buffer = io.StringIO()
        pd.concat(copies, ignore_index=True).to_csv(buffer, index=False, lineterminator="\n")
        (out / name).write_text(buffer.getvalue(), encoding="utf-8")
        written.append(out / name)
    for dataset in sorted({name.split("/")[0] for name in SCALED_FILES}):
        meta_file = out / dataset / "dataset.yaml"
        if meta_file.is_file() and k > 1:
            meta = yaml.safe_load(meta_file.read_text(encoding="utf-8")) or {}
            meta["notice"] = (str(meta.get("notice", "")).strip() + f" This copy is scaled {k}-fold for load "
                              "testing: every participant appears "
                              f"{k} times under new IDs.").strip()
            meta_file.write_text(yaml.safe_dump(meta, sort_keys=False, allow_unicode=True), encoding="utf-8")
            written.append(meta_file)
    return written
