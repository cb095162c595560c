"""Confidence intervals for a single binomial proportion (Wilson score, Clopper–Pearson exact)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from ._base import ResultMixin

__all__ = ["wilson_ci", "clopper_pearson_ci", "summarize_proportion", "ProportionSummary"]

_CI_METHODS = ("wilson", "clopper_pearson")


def _check(k: int, n: int, level: float) -> None:
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")


def wilson_ci(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials, as proportions (0–1).

    ``(p + z²/2n ± z √(p(1−p)/n + z²/4n²)) / (1 + z²/n)``; bounds are exactly 0 / 1 when k = 0 / n.
    Returns ``(nan, nan)`` when n = 0.

    References: Wilson EB (1927) JASA 22:209–212; Newcombe RG (1998) Stat Med 17:857–872 (method 3).
    Equivalent to ``statsmodels.stats.proportion.proportion_confint(k, n, method="wilson")``.
    """
    _check(k, n, level)
    if n == 0:
        return (math.nan, math.nan)
    z = stats.norm.ppf(0.5 + level / 2)
    z2 = z * z
    centre = (k + z2 / 2) / (n + z2)
    half = z / (n + z2) * math.sqrt(k * (n - k) / n + z2 / 4)
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return (low, high)


def clopper_pearson_ci(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper–Pearson 'exact' interval from beta quantiles, as proportions (0–1).

    Lower = Beta(α/2; k, n−k+1) (0 when k = 0), upper = Beta(1−α/2; k+1, n−k) (1 when k = n).
    Returns ``(nan, nan)`` when n = 0.

    Reference: Clopper CJ, Pearson ES (1934) Biometrika 26:404–413.
    Equivalent to ``proportion_confint(k, n, method="beta")`` and R ``binom.test(k, n)$conf.int``.
    """
    _check(k, n, level)
    if n == 0:
        return (math.nan, math.nan)
    alpha = 1 - level
    low = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return (low, high)


@dataclass(frozen=True)
class ProportionSummary(ResultMixin):
    """A proportion with its confidence interval.

    Fields: ``count``, ``n`` (denominator), ``percent`` (0–100, unrounded), ``ci_low``, ``ci_high``
    (percent), ``ci_method`` (``"wilson"`` or ``"clopper_pearson"``), ``level``.
    """

    count: int
    n: int
    percent: float
    ci_low: float
    ci_high: float
    ci_method: str
    level: float


def summarize_proportion(k: int, n: int, level: float = 0.95, method: str = "wilson") -> ProportionSummary:
    """Summarize k of n as a percentage with a Wilson (default) or Clopper–Pearson CI, all in percent."""
    if method not in _CI_METHODS:
        raise ValueError(f"method must be one of {_CI_METHODS}, got {method!r}")
    k, n = int(k), int(n)
    low, high = (wilson_ci if method == "wilson" else clopper_pearson_ci)(k, n, level)
    percent = 100 * k / n if n else math.nan
    return ProportionSummary(k, n, percent, 100 * low, 100 * high, method, level)
