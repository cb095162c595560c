"""The registry of reported values: chapters register every statistic they report under a stable dotted key.

A chapter runs in its own kernel (under Quarto or the built-in engine), so the registry writes through to a
JSON file named by the environment variable ``IPSREPORT_RESULTS_FILE`` (one file per chapter), or, under
Quarto, into the folder ``IPSREPORT_RESULTS_DIR`` with one file per chapter. The render step merges the
files into ``_book/results.json``. Outside a render (tests, an interactive session) values stay in memory.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["register", "register_many", "registered", "clear", "merge_result_files", "diff_results"]

_KEY = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")
_values: dict[str, Any] = {}


def _plain(value: Any) -> Any:
    """Turn numpy scalars into JSON-ready Python values; NaN becomes None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    raise TypeError(f"only numbers and strings can be registered, not {type(value).__name__}")


def _target_file() -> Path | None:
    explicit = os.environ.get("IPSREPORT_RESULTS_FILE")
    if explicit:
        return Path(explicit)
    folder = os.environ.get("IPSREPORT_RESULTS_DIR")
    if folder:
        # Under Quarto: one file per rendered document, named after it.
        doc = os.environ.get("QUARTO_DOCUMENT_PATH", "") + "/" + os.environ.get("QUARTO_DOCUMENT_FILE", "")
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", doc.strip("/")) or f"kernel-{os.getpid()}"
        return Path(folder) / f"{name}.json"
    return None


def register(key: str, value: Any) -> None:
    """Record a reported value under ``key``.

    Returns None, so a cell ending in a registration shows nothing (a cell's last value is displayed).
    """
    if not _KEY.match(key):
        raise ValueError(f"result key {key!r} is not a lower-case dotted name")
    _values[key] = _plain(value)
    target = _target_file()
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(_values, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(target)


def register_many(values: Mapping[str, Any], prefix: str = "") -> None:
    """Register every item of ``values`` (keys joined to ``prefix`` with a dot)."""
    for key, value in values.items():
        register(f"{prefix}.{key}" if prefix else key, value)


def registered() -> dict[str, Any]:
    """A copy of what this process has registered."""
    return dict(_values)


def clear() -> None:
    _values.clear()


def merge_result_files(files: list[Path]) -> dict[str, Any]:
    """Merge per-chapter result files; a key registered twice with different values is an error."""
    merged: dict[str, Any] = {}
    origin: dict[str, Path] = {}
    for path in files:
        for key, value in json.loads(Path(path).read_text(encoding="utf-8")).items():
            if key in merged and merged[key] != value:
                raise ValueError(
                    f"result {key!r} registered with different values in {origin[key].name} and {Path(path).name}"
                )
            merged[key] = value
            origin[key] = Path(path)
    return dict(sorted(merged.items()))


def diff_results(old: Mapping[str, Any], new: Mapping[str, Any], rel_tol: float = 1e-12) -> list[tuple[str, Any, Any]]:
    """Keys whose value changed, appeared or disappeared: ``(key, old, new)`` with None for absent."""
    changed = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
            if math.isclose(a, b, rel_tol=rel_tol, abs_tol=0.0):
                continue
        elif a == b:
            continue
        changed.append((key, a, b))
    return changed
