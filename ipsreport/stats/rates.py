"""Confidence intervals for an event rate: k events over a fixed exposure (exact Poisson, Garwood)."""

from __future__ import annotations

import math

from scipy import stats

__all__ = ["poisson_exact_ci", "poisson_rate_ci"]


def poisson_exact_ci(k: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) interval for a Poisson mean from one observed count ``k``.

    Lower = χ²(α/2; 2k) / 2 (0 when k = 0), upper = χ²(1 − α/2; 2k + 2) / 2: the means for which
    P(X ≥ k) and P(X ≤ k) equal α/2.

    Reference: Garwood F (1936) Biometrika 28:437–442. Equivalent to R ``poisson.test(k)$conf.int``.
    """
    if k < 0 or int(k) != k:
        raise ValueError(f"k must be a non-negative whole count, got {k}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    alpha = 1 - level
    low = 0.0 if k == 0 else float(stats.chi2.ppf(alpha / 2, 2 * k)) / 2
    high = float(stats.chi2.ppf(1 - alpha / 2, 2 * k + 2)) / 2
    return (low, high)


def poisson_rate_ci(k: int, exposure: float, level: float = 0.95) -> tuple[float, float, float]:
    """Rate k / exposure with its exact Poisson interval, exposure treated as fixed: ``(rate, low, high)``.

    Returns NaNs when the exposure is not positive.
    """
    if not exposure > 0:
        return (math.nan, math.nan, math.nan)
    low, high = poisson_exact_ci(k, level)
    return (k / exposure, low / exposure, high / exposure)
