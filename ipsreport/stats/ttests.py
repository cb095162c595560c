"""Two-group comparison of a continuous outcome: Levene's test, then Student's or Welch's t test.

This mirrors SPSS's independent-samples t test, which prints both rows and the Levene test used to choose
between "equal variances assumed" (Student) and "not assumed" (Welch); the IPS in Pain Table 3 mixes the two.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ._base import ResultMixin, StatTest, as_float_array

__all__ = [
    "compare_means",
    "levene_mean",
    "student_t_from_summary",
    "welch_t_from_summary",
    "MeanComparison",
    "TTestResult",
    "LeveneResult",
    "T_TESTS",
]


@dataclass(frozen=True)
class TTestResult(ResultMixin):
    """A two-sample t test of mean1 − mean2.

    Fields: ``variant`` (``"student"`` pooled variance or ``"welch"`` unequal variances), ``t``, ``df``
    (Welch–Satterthwaite for Welch, n1 + n2 − 2 for Student), ``p_value`` (two-sided), ``mean_diff``,
    ``se`` (of the difference), ``ci_low``, ``ci_high`` (of the difference), ``level``.
    """

    variant: str
    t: float
    df: float
    p_value: float
    mean_diff: float
    se: float
    ci_low: float
    ci_high: float
    level: float


def _t_result(variant: str, diff: float, se: float, df: float, level: float) -> TTestResult:
    if not (se > 0 and df > 0):
        return TTestResult(variant, math.nan, df, math.nan, diff, se, math.nan, math.nan, level)
    t = diff / se
    p = float(2 * stats.t.sf(abs(t), df))
    q = float(stats.t.ppf(0.5 + level / 2, df))
    return TTestResult(variant, t, df, p, diff, se, diff - q * se, diff + q * se, level)


def student_t_from_summary(n1: int, mean1: float, sd1: float, n2: int, mean2: float, sd2: float,
                           level: float = 0.95) -> TTestResult:
    """Student's pooled-variance t test from summary statistics (sd with ddof = 1).

    sp² = ((n1−1)s1² + (n2−1)s2²)/(n1+n2−2), se = sp √(1/n1 + 1/n2), df = n1 + n2 − 2.
    Equivalent to ``scipy.stats.ttest_ind_from_stats(..., equal_var=True)``; R ``t.test(var.equal=TRUE)``.
    """
    df = n1 + n2 - 2
    sp2 = ((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / df if df > 0 else math.nan
    se = math.sqrt(sp2 * (1 / n1 + 1 / n2)) if df > 0 else math.nan
    return _t_result("student", mean1 - mean2, se, float(df), level)


def welch_t_from_summary(n1: int, mean1: float, sd1: float, n2: int, mean2: float, sd2: float,
                         level: float = 0.95) -> TTestResult:
    """Welch's unequal-variance t test from summary statistics, Welch–Satterthwaite df.

    se = √(s1²/n1 + s2²/n2), df = se⁴ / ((s1²/n1)²/(n1−1) + (s2²/n2)²/(n2−1)).
    Reference: Welch BL (1947) Biometrika 34:28–35. Equivalent to
    ``scipy.stats.ttest_ind_from_stats(..., equal_var=False)``; R ``t.test()`` default.
    """
    if n1 < 2 or n2 < 2:
        return _t_result("welch", mean1 - mean2, math.nan, math.nan, level)
    v1, v2 = sd1**2 / n1, sd2**2 / n2
    se = math.sqrt(v1 + v2)
    denom = v1**2 / (n1 - 1) + v2**2 / (n2 - 1)
    df = (v1 + v2) ** 2 / denom if denom > 0 else math.nan
    return _t_result("welch", mean1 - mean2, se, df, level)


T_TESTS: dict[str, StatTest] = {
    t.name: t
    for t in (
        StatTest(
            "student",
            "Student's t test (equal variances assumed)",
            "continuous",
            student_t_from_summary,
            "scipy.stats.ttest_ind(x, y, equal_var=True)",
        ),
        StatTest(
            "welch",
            "Welch's t test (equal variances not assumed)",
            "continuous",
            welch_t_from_summary,
            "scipy.stats.ttest_ind(x, y, equal_var=False)",
        ),
    )
}


@dataclass(frozen=True)
class LeveneResult(ResultMixin):
    """Levene's test centred on the group means. Fields: ``statistic`` (F), ``df1``, ``df2``, ``p_value``."""

    statistic: float
    df1: int
    df2: int
    p_value: float


def levene_mean(*samples: Iterable[float]) -> LeveneResult:
    """Levene's test of equal variances, deviations from the group *means* (as SPSS), NaNs dropped.

    It is the one-way ANOVA F on |x_ij − mean_i|. NaN statistic and p when it is undefined (a group with
    fewer than 2 values, or no within-group spread of the deviations).

    Reference: Levene H (1960), in Contributions to Probability and Statistics, 278–292.
    Equivalent to ``scipy.stats.levene(*samples, center="mean")``.
    """
    groups = [_clean(s) for s in samples]
    k = len(groups)
    n = sum(len(g) for g in groups)
    if k < 2 or any(len(g) < 2 for g in groups):
        return LeveneResult(math.nan, k - 1, n - k, math.nan)
    res = stats.levene(*groups, center="mean")
    return LeveneResult(float(res.statistic), k - 1, n - k, float(res.pvalue))


def _clean(values: Iterable[float]) -> np.ndarray:
    a = as_float_array(values)
    return a[~np.isnan(a)]


@dataclass(frozen=True)
class MeanComparison(ResultMixin):
    """Comparison of a continuous outcome between group 1 (IPS) and group 2 (TAU).

    Fields:
    - ``n1``, ``mean1``, ``sd1``, ``n2``, ``mean2``, ``sd2`` — non-missing n, mean, SD (ddof = 1).
    - ``levene_statistic``, ``levene_p`` — Levene's test centred on the means.
    - ``variant`` — ``"student"`` when ``levene_p >= alpha_levene`` (or Levene is undefined), else
      ``"welch"``, unless forced; ``test_label`` — its footnote text from the registry.
    - ``t``, ``df``, ``p_value``, ``mean_diff`` (mean1 − mean2), ``se``, ``ci_low``, ``ci_high`` — for the
      chosen variant.
    - ``p_student``, ``p_welch`` — both p values, for concordance checks.
    - ``level`` — confidence level of the CI.
    """

    n1: int
    mean1: float
    sd1: float
    n2: int
    mean2: float
    sd2: float
    levene_statistic: float
    levene_p: float
    variant: str
    test_label: str
    t: float
    df: float
    p_value: float
    mean_diff: float
    se: float
    ci_low: float
    ci_high: float
    p_student: float
    p_welch: float
    level: float


def compare_means(x: Iterable[float], y: Iterable[float], alpha_levene: float = 0.05,
                  variant: str = "auto", level: float = 0.95) -> MeanComparison:
    """Compare group 1 values ``x`` (IPS) with group 2 values ``y`` (TAU); NaNs are dropped.

    ``variant="auto"`` picks Student when Levene's p ≥ ``alpha_levene`` and Welch otherwise (SPSS practice);
    ``"student"`` or ``"welch"`` forces a variant. See :class:`MeanComparison` for the returned fields.
    """
    a, b = _clean(x), _clean(y)
    n1, n2 = len(a), len(b)
    m1 = float(a.mean()) if n1 else math.nan
    m2 = float(b.mean()) if n2 else math.nan
    s1 = float(a.std(ddof=1)) if n1 > 1 else math.nan
    s2 = float(b.std(ddof=1)) if n2 > 1 else math.nan
    lev = levene_mean(a, b)
    if variant == "auto":
        variant = "welch" if lev.p_value < alpha_levene else "student"
    if variant not in T_TESTS:
        raise ValueError(f"variant must be 'auto', 'student' or 'welch', got {variant!r}")
    student = student_t_from_summary(n1, m1, s1, n2, m2, s2, level)
    welch = welch_t_from_summary(n1, m1, s1, n2, m2, s2, level)
    chosen = student if variant == "student" else welch
    return MeanComparison(
        n1=n1, mean1=m1, sd1=s1, n2=n2, mean2=m2, sd2=s2,
        levene_statistic=lev.statistic, levene_p=lev.p_value,
        variant=variant, test_label=T_TESTS[variant].label,
        t=chosen.t, df=chosen.df, p_value=chosen.p_value, mean_diff=chosen.mean_diff, se=chosen.se,
        ci_low=chosen.ci_low, ci_high=chosen.ci_high,
        p_student=student.p_value, p_welch=welch.p_value, level=level,
    )
