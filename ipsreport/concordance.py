"""Concordance of the published numbers with the values this report computes, and the render's provenance."""

from __future__ import annotations

import hashlib
import math
import platform
import re
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from importlib import metadata
from pathlib import Path

import pandas as pd
import yaml

from ipsreport.format import round_half_up

__all__ = [
    "STATUSES",
    "PublishedItem",
    "load_published",
    "compare_published",
    "concordance_summary",
    "data_file_hashes",
    "package_versions",
    "git_commit",
]

# Order matters: the summary lists statuses in this order.
STATUSES = ("exact", "within rounding", "inconsistent in the paper", "differs", "not determined by the margins",
            "not computed")
# A published item whose note starts like this is a printed number the paper's own numbers contradict.
_INCONSISTENT = re.compile(r"^(internally )?inconsistent\b", re.IGNORECASE)


@dataclass(frozen=True)
class PublishedItem:
    key: str
    location: str
    printed: str
    decimals: int
    determined: bool
    note: str

    @property
    def inconsistent(self) -> bool:
        """The note says the printed value contradicts the paper's other numbers."""
        return bool(_INCONSISTENT.match(self.note))


def load_published(path: str | Path) -> list[PublishedItem]:
    """Read a published-values file (see docs/data-contract.md) into items, in file order."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    items = []
    for entry in raw["items"]:
        items.append(PublishedItem(
            key=str(entry["key"]), location=str(entry.get("location", "")), printed=str(entry["printed"]).strip(),
            decimals=int(entry.get("decimals", 0)), determined=bool(entry.get("determined", True)),
            note=str(entry.get("note", "") or ""),
        ))
    return items


def _status(item: PublishedItem, computed) -> str:
    if not item.determined:
        return "not determined by the margins"
    if computed is None or (isinstance(computed, float) and math.isnan(computed)):
        return "not computed"
    if isinstance(computed, str):
        return "exact" if computed == item.printed else "differs"
    printed = item.printed.replace("\u2212", "-").replace(" ", "")
    if printed.startswith("<"):
        bound = float(printed[1:])
        status = "exact" if computed < bound else "differs"
    else:
        try:
            value = Decimal(printed)
        except InvalidOperation:
            return "differs"
        shown = round_half_up(computed, item.decimals)
        unit = Decimal(1).scaleb(-item.decimals)
        if shown == value:
            status = "exact"
        elif isinstance(computed, int):
            status = "differs"  # a count is never rounded: off by one is a real difference
        elif abs(shown - value) <= unit:
            status = "within rounding"
        else:
            status = "differs"
    if status != "exact" and item.inconsistent:
        # The data cannot match a printed number that the paper itself contradicts: flag it as such.
        return "inconsistent in the paper"
    return status


def compare_published(items: list[PublishedItem], computed: dict) -> pd.DataFrame:
    """One row per published number: where it is printed, the printed value, the computed value shown at the
    printed precision, the status and the note.

    Columns: ``key``, ``location``, ``printed``, ``computed``, ``computed_raw``, ``status``, ``note``.
    A number is 'exact' when the computed value, rounded half-up to the printed decimals, is the printed
    value; 'within rounding' when a non-count is one unit of the last printed decimal away; 'inconsistent in
    the paper' when it is not exact and the item's note says the printed number contradicts the paper's others; 'not determined
    by the margins' for numbers the reconstruction cannot pin down (shown for information).
    """
    rows = []
    for item in items:
        value = computed.get(item.key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            shown = f"{round_half_up(value, item.decimals):f}" if not math.isnan(value) else ""
        else:
            shown = "" if value is None else str(value)
        rows.append({"key": item.key, "location": item.location, "printed": item.printed, "computed": shown,
                     "computed_raw": value, "status": _status(item, value), "note": item.note})
    return pd.DataFrame(rows)


def concordance_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Counts per status (every status listed, zero included): ``status``, ``count``."""
    counts = table["status"].value_counts()
    return pd.DataFrame({"status": list(STATUSES), "count": [int(counts.get(s, 0)) for s in STATUSES]})


def data_file_hashes(data_dir: str | Path) -> pd.DataFrame:
    """SHA-256 (first 16 hex digits) and size of every data file: ``file``, ``bytes``, ``sha256``."""
    data_dir = Path(data_dir)
    rows = []
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file() and not p.name.startswith(".")):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        rows.append({"file": path.relative_to(data_dir.parent).as_posix(), "bytes": path.stat().st_size,
                     "sha256": digest[:16]})
    return pd.DataFrame(rows)


def package_versions(names=("ipsreport", "numpy", "pandas", "scipy", "statsmodels", "matplotlib",
                            "great-tables", "pandera", "nbclient", "ipykernel", "pypandoc-binary", "typst")) -> pd.DataFrame:
    rows = [{"package": "python", "version": platform.python_version()}]
    for name in names:
        try:
            rows.append({"package": name, "version": metadata.version(name)})
        except metadata.PackageNotFoundError:
            rows.append({"package": name, "version": "not installed"})
    return pd.DataFrame(rows)


def git_commit(project_dir: str | Path) -> str | None:
    """The checked-out commit (with '+changes' when the work tree differs), or None outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=project_dir, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=project_dir,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+changes" if dirty else "")


def render_time() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
