"""Plumbing shared by the statistics modules: the result mixin and the test-registry record."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__: list[str] = []


class ResultMixin:
    """Give a frozen result dataclass a dict view and a one-row tidy DataFrame view."""

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    def to_frame(self) -> pd.DataFrame:
        """One-row DataFrame whose columns are the dataclass fields, in declaration order."""
        return pd.DataFrame([self.to_dict()])


@dataclass(frozen=True)
class StatTest:
    """One registered statistical test: a row of the registry the table footnotes are built from.

    Fields: ``name`` (stable key stored in results, e.g. ``"pearson"``), ``label`` (footnote text),
    ``kind`` (``"categorical"`` or ``"continuous"``), ``function`` (callable computing it),
    ``reference`` (the equivalent base-implementation call, as pseudo-code).
    """

    name: str
    label: str
    kind: str
    function: Callable[..., Any]
    reference: str


def as_float_array(values: Any) -> np.ndarray:
    """Any 1-d array-like (list, numpy, pandas incl. nullable dtypes) as float64, missing → NaN."""
    if not isinstance(values, pd.Series):
        values = pd.Series(values if hasattr(values, "__len__") else list(values), dtype=object)
    return pd.to_numeric(values, errors="raise").astype("Float64").to_numpy(dtype=float, na_value=np.nan)
