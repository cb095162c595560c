"""Adjusting P values for the number of tests in a family (Holm's step-down method).

A family is the set of tests a report interprets together; which tests form a family is a design choice
(``config/design.yaml``), not something this module decides.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ._base import as_float_array

__all__ = ["holm_adjust"]


def holm_adjust(p_values: Iterable[float]) -> np.ndarray:
    """Holm-adjusted P values, in the order given.

    With the m P values sorted ascending, p(1) ≤ … ≤ p(m), the adjusted value of p(i) is
    max over j ≤ i of min(1, (m − j + 1) p(j)): the step-down multiplier, kept monotone so that a smaller
    raw P never gets a larger adjusted one. Rejecting where the adjusted P is below α controls the
    family-wise error rate at α under any dependence between the tests.

    Missing values (NaN) are not counted in m and stay NaN. Ties keep their input order, which does not
    change the result.

    Reference: Holm S (1979) Scand J Statist 6:65–70. Equivalent to R ``p.adjust(p, "holm")``.
    """
    p = as_float_array(list(p_values))
    if ((p < 0) | (p > 1)).any():
        raise ValueError(f"P values must lie in [0, 1], got {p[(p < 0) | (p > 1)].tolist()}")
    out = np.full(p.shape, np.nan)
    present = np.flatnonzero(~np.isnan(p))
    m = len(present)
    if m == 0:
        return out
    order = present[np.argsort(p[present], kind="stable")]
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        out[index] = running
    return out
