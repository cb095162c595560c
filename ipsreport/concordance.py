"""Concordance of the published numbers with the values this report computes, and the render's provenance."""

from __future__ import annotations

import hashlib
import json
import math
import platform
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from importlib import metadata
from pathlib import Path

import pandas as pd
import yaml

from ipsreport.format import MINUS, fmt_p, round_half_up
from ipsreport.provenance import git_commit  # noqa: F401 (the appendix prints it from here)

__all__ = [
    "STATUSES",
    "PublishedItem",
    "load_published",
    "compare_published",
    "concordance_summary",
    "describe_statistic",
    "describe_location",
    "concordance_display",
    "not_exact",
    "mismatch_filter_html",
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


# --- what each row is, in words -------------------------------------------------------------------------------

# The last part of a published key names the statistic. Keys ending in a group (ips, tau, all) or an event are
# counts of people.
_STATISTICS = {
    "count": "n", "n": "N (respondents)", "percent": "%", "p_value": "P", "mean": "mean", "sd": "SD",
    "median": "median", "q1": "lower quartile", "q3": "upper quartile", "min": "minimum", "max": "maximum",
    "estimate": "coefficient", "se": "SE", "z": "z", "odds_ratio": "odds ratio",
    "or_ci_low": "odds ratio, lower 95% CI limit", "or_ci_high": "odds ratio, upper 95% CI limit",
    "employed": "n employed", "recruited": "n recruited", "approached": "n approached",
    "ineligible": "n ineligible", "enquiries": "n enquiries", "chi2": "χ²", "df": "degrees of freedom",
    "min_percent": "lowest %", "max_percent": "highest %", "themes": "number of themes",
}
_PERCENT_KEYS = re.compile(r"(^|\.)(percent|min_percent|max_percent)$")
# Units of means, SDs, quantiles and model coefficients, found from the key (questionnaire scales by range).
_SCALES = {"odi": "score 0–100", "eq_vas": "score 0–100", "hscl": "score 1–4", "hscl_anxiety": "score 1–4",
           "hscl_depression": "score 1–4", "bpi_current": "score 0–10", "bpi_worst": "score 0–10",
           "bpi_average": "score 0–10", "bpi_least": "score 0–10"}
_OUTCOME_NAMES = {"odi": "Pain-related disability (ODI)", "eq_vas": "Health-related quality of life (EQ-VAS)",
                  "hscl": "Psychological distress (HSCL-25)", "hscl_anxiety": "Anxiety (HSCL-25)",
                  "hscl_depression": "Depression (HSCL-25)", "bpi_current": "Pain now (BPI)",
                  "bpi_worst": "Worst pain (BPI)", "bpi_average": "Average pain (BPI)",
                  "bpi_least": "Least pain (BPI)"}
_TERMS = {"group": "group (IPS vs TAU)", "time": "time (per 6 months)", "group x time": "group × time",
          "group_time": "group × time", "intercept": "intercept"}
_GROUPS = {"all": "all", "ips": "IPS", "tau": "TAU"}
_MEASURED = {"mean", "sd", "median", "q1", "q3", "min", "max", "estimate", "se"}


def _unit(key: str) -> str:
    parts = key.split(".")
    for part in parts:
        if part in _SCALES:
            return _SCALES[part]
    if any("hours" in p for p in parts):
        return "hours"
    if any(w in p for p in parts for w in ("age", "years", "unemployed")):
        return "years"
    return ""


def describe_statistic(key: str) -> str:
    """What a published number is, from its key: the statistic and, for measured quantities, the unit
    ('mean, score 0–100', 'lower quartile, years', '%', 'P', 'n')."""
    last = key.rsplit(".", 1)[-1]
    if _PERCENT_KEYS.search(key):
        return _STATISTICS[last]
    label = _STATISTICS.get(last, "n")
    unit = _unit(key) if last in _MEASURED else ""
    return f"{label}, {unit}" if unit else label


def describe_location(location: str) -> str:
    """Where the number is printed, in words: the paper's tables named as such ('Paper Table 2', not to be
    confused with this report's tables) and the data file's internal names replaced by labels."""
    pieces = []
    for raw in location.split(","):
        piece = raw.strip()
        column = re.match(r'^(\w+) \(column "([^"]+)" for z\)$', piece)
        if column:  # 'estimate (column "F Score" for z)': the statistic column says which number it is
            if column.group(1) == "z":
                pieces.append(f'printed in the column "{column.group(2)}"')
            continue
        dotted = re.match(r"^(all|ips|tau)\.(\w+)$", piece)
        if dotted:  # 'all.median' → 'all'; the statistic column says 'median'
            pieces.append(_GROUPS[dotted.group(1)])
            continue
        if piece in _OUTCOME_NAMES:
            pieces.append(_OUTCOME_NAMES[piece])
        elif piece in _TERMS:
            pieces.append(_TERMS[piece])
        elif piece in _STATISTICS:
            continue
        else:
            pieces.append(piece)
    text = ", ".join(pieces)
    return re.sub(r"(?<!Paper )\bTable (\d+)", r"Paper Table \1", text)


def _display_number(text: str, key: str) -> str:
    """A printed or computed number as the report prints numbers: a typographic minus, and a P value that rounds
    to zero as '<0.001'."""
    text = str(text).strip()
    if key.endswith("p_value") and re.fullmatch(r"0?\.0+", text):
        return fmt_p(0.0)
    return re.sub(r"(?<![\w.])-(?=\d|\.\d)", MINUS, text)


def concordance_display(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`compare_published` as the appendix shows them: ``where`` (the paper's table or
    section and row, in words), ``statistic`` (with its unit), ``printed``, ``computed``, ``status``, ``note``."""
    return pd.DataFrame({
        "where": [describe_location(x) for x in table["location"]],
        "statistic": [describe_statistic(k) for k in table["key"]],
        "printed": [_display_number(v, k) for v, k in zip(table["printed"], table["key"])],
        "computed": [_display_number(v, k) for v, k in zip(table["computed"], table["key"])],
        "status": list(table["status"]),
        "note": list(table["note"]),
    })


def not_exact(tables: dict[str, pd.DataFrame], undetermined: bool = False) -> pd.DataFrame:
    """The rows of several studies' concordance tables that are not exact matches, those that differ first, then
    those the paper contradicts, then those within rounding, with a ``study`` column; display columns as in
    :func:`concordance_display`. Numbers 'not determined by the margins' (shown for information) are left out
    unless ``undetermined``."""
    frames = []
    for study, table in tables.items():
        shown = concordance_display(table)
        shown.insert(0, "study", study)
        keep = shown["status"] != "exact"
        if not undetermined:
            keep &= shown["status"] != "not determined by the margins"
        frames.append(shown[keep])
    if not frames:
        return pd.DataFrame(columns=["study", "where", "statistic", "printed", "computed", "status", "note"])
    rows = pd.concat(frames, ignore_index=True)
    # Real differences first; numbers the margins do not determine (shown for information) last.
    priority = {"differs": 0, "inconsistent in the paper": 1, "within rounding": 2, "not computed": 3,
                "not determined by the margins": 4}
    rank = [priority.get(s, 5) for s in rows["status"]]
    return rows.assign(_rank=rank).sort_values("_rank", kind="stable").drop(columns="_rank").reset_index(drop=True)


def mismatch_filter_html(table_ids: list[str], status_header: str = "Status") -> str:
    """A checkbox that hides the rows whose status is 'exact' in the given tables (HTML only; a few lines of
    script, no external resources). Table ids are the floats' labels, e.g. ``tbl-concordance-trial``."""
    ids = json.dumps([str(t) for t in table_ids])
    header = json.dumps(status_header)
    return (
        '<p class="ipsr-filter"><input type="checkbox" id="ipsr-only-not-exact"> '
        '<label for="ipsr-only-not-exact">Show only the numbers that are not exact matches</label></p>\n'
        "<script>\n(function () {\n"
        "  var box = document.getElementById('ipsr-only-not-exact');\n"
        f"  var ids = {ids}, header = {header};\n"
        "  function apply() {\n"
        "    ids.forEach(function (id) {\n"
        "      var table = document.querySelector('#' + id + ' table');\n"
        "      if (!table) { return; }\n"
        "      var heads = Array.prototype.map.call(table.querySelectorAll('thead th'), function (th) {\n"
        "        return th.textContent.trim(); });\n"
        "      var col = heads.indexOf(header);\n"
        "      if (col < 0) { return; }\n"
        "      table.querySelectorAll('tbody tr').forEach(function (row) {\n"
        "        var cell = row.children[col];\n"
        "        var exact = cell && cell.textContent.trim().toLowerCase() === 'exact';\n"
        "        row.hidden = box.checked && exact;\n"
        "      });\n"
        "    });\n"
        "  }\n"
        "  box.addEventListener('change', apply);\n"
        "})();\n</script>"
    )


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


def render_time() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
