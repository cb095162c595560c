"""Descriptive summaries by arm (counts and valid percentages, means, SDs, medians and quartiles).

Percentages use valid-percent semantics: missing values are excluded from the denominator and counted
separately in ``n_missing``. Input is a mapping from arm label to values (any 1-d array-like, NaN = missing),
e.g. ``split_by_arm(df, "female")``; arms keep the mapping's order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ._base import as_float_array
from .proportions import clopper_pearson_ci, wilson_ci

__all__ = [
    "split_by_arm",
    "summarize_binary",
    "summarize_categorical",
    "summarize_continuous",
    "quantile",
    "QUANTILE_METHODS",
]

QUANTILE_METHODS: dict[str, str] = {
    "linear": "numpy default (Hyndman & Fan type 7): interpolate at position (n − 1)p",
    "stata": "Stata summarize, detail definition (Hyndman & Fan type 2): with P = np, the mean of the "
             "P-th and (P+1)-th order statistics when P is an integer, else the ceil(P)-th",
}


def split_by_arm(df: pd.DataFrame, column: str, arm_col: str = "arm",
                 arms: Sequence[object] | None = None) -> dict[object, pd.Series]:
    """``{arm: df[column] for that arm}``, arms in the given order (default: order of first appearance)."""
    if arms is None:
        arms = list(pd.unique(df[arm_col].dropna()))
    return {arm: df.loc[df[arm_col] == arm, column] for arm in arms}


def _with_overall(series_by_arm: Mapping[object, Iterable], overall: str | None) -> dict[object, pd.Series]:
    out = {arm: pd.Series(np.asarray(v, dtype=object) if not isinstance(v, pd.Series) else v.to_numpy(),
                          dtype=object).reset_index(drop=True)
           for arm, v in series_by_arm.items()}
    if overall is not None:
        if overall in out:
            raise ValueError(f"overall label {overall!r} clashes with an arm")
        out = {overall: pd.concat(list(out.values()), ignore_index=True), **out}
    return out


def summarize_binary(series_by_arm: Mapping[object, Iterable], level: float = 0.95, ci_method: str = "wilson",
                     overall: str | None = None) -> pd.DataFrame:
    """Count and valid percentage of 1s per arm, with a CI for the percentage.

    Values must be 0/1 (or booleans); NaN is missing. ``overall``: label of an extra first row pooling all
    arms (None = no such row).

    Returns one row per arm with columns ``arm``, ``count`` (1s), ``n`` (non-missing: the denominator),
    ``n_missing``, ``percent`` (0–100, NaN when n = 0), ``ci_low``, ``ci_high`` (percent; Wilson by
    default, ``ci_method="clopper_pearson"`` for the exact interval).
    """
    ci = {"wilson": wilson_ci, "clopper_pearson": clopper_pearson_ci}[ci_method]
    rows = []
    for arm, values in _with_overall(series_by_arm, overall).items():
        a = as_float_array(values)
        valid = a[~np.isnan(a)]
        if not np.isin(valid, (0.0, 1.0)).all():
            raise ValueError(f"binary values must be 0/1, arm {arm!r} has {sorted(set(valid) - {0.0, 1.0})}")
        k, n = int(valid.sum()), int(valid.size)
        low, high = ci(k, n, level)
        rows.append({"arm": arm, "count": k, "n": n, "n_missing": int(a.size - n),
                     "percent": 100 * k / n if n else math.nan, "ci_low": 100 * low, "ci_high": 100 * high})
    return pd.DataFrame(rows, columns=["arm", "count", "n", "n_missing", "percent", "ci_low", "ci_high"])


def summarize_categorical(series_by_arm: Mapping[object, Iterable], levels: Sequence[object] | None = None,
                          overall: str | None = None) -> pd.DataFrame:
    """Counts and valid percentages of each level per arm (long: one row per arm × level).

    ``levels`` fixes the order (and includes levels with zero count); default: sorted observed levels.
    Columns: ``arm``, ``level``, ``count``, ``n`` (non-missing in the arm), ``n_missing``, ``percent``.
    """
    data = _with_overall(series_by_arm, overall)
    if levels is None:
        observed = pd.concat(list(data.values()), ignore_index=True).dropna().unique()
        levels = sorted(observed, key=str)
    rows = []
    for arm, values in data.items():
        valid = values.dropna()
        n = int(valid.size)
        unknown = set(valid) - set(levels)
        if unknown:
            raise ValueError(f"arm {arm!r} has values outside levels: {sorted(map(str, unknown))}")
        for lev in levels:
            k = int((valid == lev).sum())
            rows.append({"arm": arm, "level": lev, "count": k, "n": n, "n_missing": int(values.size - n),
                         "percent": 100 * k / n if n else math.nan})
    return pd.DataFrame(rows, columns=["arm", "level", "count", "n", "n_missing", "percent"])


def quantile(values: Iterable[float], p: float, method: str = "linear") -> float:
    """The p-quantile (0 ≤ p ≤ 1) of the non-missing values.

    ``"linear"``: numpy's default (Hyndman & Fan type 7). ``"stata"``: Stata's ``summarize, detail`` /
    ``tabstat`` definition (H&F type 2), used by the InStep pilot (Stata 12): with sorted x_(1..n) and
    P = n·p, the mean of x_(P) and x_(P+1) when P is an integer, otherwise x_(⌈P⌉); this equals
    ``numpy.quantile(x, p, method="averaged_inverted_cdf")``.

    Reference: Hyndman RJ, Fan Y (1996) Am Stat 50:361–365; StataCorp, [R] summarize, Methods and formulas.
    """
    if method not in QUANTILE_METHODS:
        raise ValueError(f"method must be one of {list(QUANTILE_METHODS)}, got {method!r}")
    if not 0 <= p <= 1:
        raise ValueError("p must be in [0, 1]")
    x = np.sort(as_float_array(values))
    x = x[~np.isnan(x)]
    n = x.size
    if n == 0:
        return math.nan
    if method == "linear":
        return float(np.quantile(x, p))
    pos = n * p
    i = int(math.floor(pos + 1e-9))
    if abs(pos - i) <= 1e-9:  # integer position
        if i <= 0:
            return float(x[0])
        if i >= n:
            return float(x[-1])
        return float((x[i - 1] + x[i]) / 2)
    return float(x[int(math.ceil(pos)) - 1])


def summarize_continuous(series_by_arm: Mapping[object, Iterable], quantile_method: str = "linear",
                         overall: str | None = None) -> pd.DataFrame:
    """Mean, SD, median and quartiles per arm over non-missing values.

    Returns one row per arm with columns ``arm``, ``n`` (non-missing), ``n_missing``, ``mean``, ``sd``
    (ddof = 1; NaN when n < 2), ``median``, ``q1``, ``q3`` (by ``quantile_method``, see :func:`quantile`),
    ``min``, ``max``, ``quantile_method``.
    """
    if quantile_method not in QUANTILE_METHODS:
        raise ValueError(f"quantile_method must be one of {list(QUANTILE_METHODS)}, got {quantile_method!r}")
    rows = []
    for arm, values in _with_overall(series_by_arm, overall).items():
        a = as_float_array(values)
        v = a[~np.isnan(a)]
        n = int(v.size)
        rows.append({
            "arm": arm, "n": n, "n_missing": int(a.size - n),
            "mean": float(v.mean()) if n else math.nan,
            "sd": float(v.std(ddof=1)) if n > 1 else math.nan,
            "median": quantile(v, 0.5, quantile_method),
            "q1": quantile(v, 0.25, quantile_method),
            "q3": quantile(v, 0.75, quantile_method),
            "min": float(v.min()) if n else math.nan,
            "max": float(v.max()) if n else math.nan,
            "quantile_method": quantile_method,
        })
    return pd.DataFrame(rows, columns=["arm", "n", "n_missing", "mean", "sd", "median", "q1", "q3",
                                       "min", "max", "quantile_method"])
