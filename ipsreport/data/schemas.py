"""Pandera schemas of the typed data frames, built from the data dictionary.

Every check carries, as its ``error``, the rule text a person reads in a validation problem
(``is not one of IPS, TAU``), so translating pandera's failure cases needs no second table of messages.
Cross-column and cross-file rules (cumulative employment, follow-up IDs) are in :mod:`ipsreport.data.validate`.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ipsreport.data.dictionary import DATASETS, Column, DataFile, grid_text, grid_tolerance

__all__ = ["UNIQUE_KEY_CHECK", "column_schema", "file_schema", "schemas"]

# The name pandera gives the failure cases of ``DataFrameSchema(unique=[...])``.
UNIQUE_KEY_CHECK = "multiple_fields_uniqueness"


def _bound(c: Column, value: float | dt.date) -> float | pd.Timestamp:
    return pd.Timestamp(value) if c.kind == "date" else value


def _bound_text(c: Column, value: float | dt.date) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(int(value)) if float(value).is_integer() else str(value)


def _on_grid(step: Fraction | tuple[Fraction, ...]):
    steps = step if isinstance(step, tuple) else (step,)
    sizes = [(float(s), grid_tolerance(s)) for s in steps]

    def check(values: pd.Series) -> pd.Series:
        # Whole-column arithmetic (np.round rounds half to even, as round() does); pandera passes the column
        # without its missing values.
        x = values.to_numpy(dtype=float)
        fits = np.zeros(len(x), dtype=bool)
        for size, tol in sizes:
            fits |= np.abs(x - np.round(x / size) * size) <= tol
        return pd.Series(fits, index=values.index)

    return check


def column_schema(c: Column) -> pa.Column:
    """The pandera column of one dictionary column (missing values are left to ``nullable``)."""
    checks: list[pa.Check] = []
    if c.codes:
        shown = ", ".join(str(v) for v in c.codes)
        rule = "is not 0 or 1" if c.kind == "binary" else f"is not one of {shown}"
        checks.append(pa.Check.isin(list(c.codes), error=rule))
    if c.pattern:
        what = "the ID pattern" if c.kind == "id" else "the pattern"
        checks.append(pa.Check.str_matches(c.pattern, error=f"does not match {what} {c.pattern}"))
    lo, hi = c.minimum, c.maximum
    if lo is not None and hi is not None:
        checks.append(
            pa.Check.in_range(
                _bound(c, lo), _bound(c, hi), error=f"is outside the range {_bound_text(c, lo)} to {_bound_text(c, hi)}"
            )
        )
    elif lo is not None:
        checks.append(pa.Check.ge(_bound(c, lo), error=f"is below the minimum {_bound_text(c, lo)}"))
    elif hi is not None:
        checks.append(pa.Check.le(_bound(c, hi), error=f"is above the maximum {_bound_text(c, hi)}"))
    if c.grid is not None:
        checks.append(pa.Check(_on_grid(c.grid), error=f"is not {grid_text(c.grid)}"))
    return pa.Column(c.dtype, checks=checks, nullable=c.nullable, name=c.name)


def file_schema(f: DataFile, columns: tuple[str, ...] | None = None) -> pa.DataFrameSchema:
    """The schema of one file; ``columns`` restricts it to the columns present (the key check needs them all)."""
    present = f.column_names if columns is None else tuple(n for n in f.column_names if n in columns)
    unique = list(f.key) if all(k in present for k in f.key) else None
    return pa.DataFrameSchema(
        {n: column_schema(f.column(n)) for n in present},
        unique=unique,
        strict=True,
        ordered=False,
        name=f.name,
    )


def schemas() -> dict[tuple[str, str], pa.DataFrameSchema]:
    """Every file's schema, keyed by (dataset, file name)."""
    return {(d.name, f.name): file_schema(f) for d in DATASETS for f in d.files}
