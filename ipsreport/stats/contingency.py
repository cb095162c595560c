"""Two-group comparison of a binary outcome (2×2 table): chi-square / Fisher test, odds ratio, risk difference.

The table is always laid out with group 1 (IPS) in the first row and the event ("yes") in the first column:

    [[k1, n1 - k1],
     [k2, n2 - k2]]

so the odds ratio and the risk difference are group 1 relative to group 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ._base import ResultMixin, StatTest
from .proportions import wilson_ci

__all__ = [
    "compare_proportions",
    "chi2_test_2x2",
    "fisher_test_2x2",
    "odds_ratio_woolf",
    "newcombe_risk_difference",
    "choose_categorical_test",
    "ProportionComparison",
    "Chi2Result",
    "OddsRatio",
    "RiskDifference",
    "CONTINGENCY_TESTS",
    "compare_proportions_grid",
]

# The rule stated in the paper ("in cases in which one cell had an expected cell count less than 5,
# exact P values (Fisher's exact test significance) were used") and gtsummary's default.
EXPECTED_COUNT_THRESHOLD = 5.0


def _table(k1: int, n1: int, k2: int, n2: int) -> np.ndarray:
    for k, n in ((k1, n1), (k2, n2)):
        if n <= 0 or k < 0 or k > n:
            raise ValueError(f"need 0 <= k <= n and n > 0, got k={k}, n={n}")
    return np.array([[k1, n1 - k1], [k2, n2 - k2]], dtype=float)


def _expected(table: np.ndarray) -> np.ndarray:
    return np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()


@dataclass(frozen=True)
class Chi2Result(ResultMixin):
    """Pearson chi-square test of a 2×2 table.

    Fields: ``statistic`` (chi²), ``df`` (1), ``p_value``, ``n`` (grand total), ``min_expected``,
    ``n_expected_below_5``, ``correction`` (True = Yates). ``statistic``/``p_value`` are NaN when a row or
    column total is 0 (the test is undefined).
    """

    statistic: float
    df: int
    p_value: float
    n: int
    min_expected: float
    n_expected_below_5: int
    correction: bool


def chi2_test_2x2(k1: int, n1: int, k2: int, n2: int, correction: bool = False) -> Chi2Result:
    """Pearson chi-square test for k1/n1 vs k2/n2, without (default) or with Yates' continuity correction.

    chi² = N (|ad − bc| − c)² / (r1 r2 c1 c2) with c = 0, or c = N/2 for Yates (never below 0, as scipy).
    Also used on its own for the ancillary IPS vs historical-control comparison (19/36 vs 52/315:
    chi² = 26.34, df 1, n 351).

    Reference: Pearson K (1900); Yates F (1934) JRSS Suppl 1:217–235.
    Equivalent to ``scipy.stats.chi2_contingency(table, correction=correction)`` and
    R ``chisq.test(table, correct=correction)``.
    """
    t = _table(k1, n1, k2, n2)
    (a, b), (c, d) = t
    total = t.sum()
    expected = _expected(t)
    min_exp = float(expected.min())
    n_below = int((expected < EXPECTED_COUNT_THRESHOLD).sum())
    margins = t.sum(axis=1).prod() * t.sum(axis=0).prod()
    if margins == 0:
        stat = p = math.nan
    else:
        diff = abs(a * d - b * c)
        if correction:
            diff = max(diff - total / 2, 0.0)
        stat = float(total * diff**2 / margins)
        p = float(stats.chi2.sf(stat, 1))
    return Chi2Result(stat, 1, p, int(total), min_exp, n_below, correction)


def fisher_test_2x2(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided Fisher exact p for k1/n1 vs k2/n2 (sum of tables no more probable than the observed).

    Reference: Fisher RA (1935) JRSS 98:39–82. Equivalent to
    ``scipy.stats.fisher_exact(table, alternative="two-sided").pvalue`` and R ``fisher.test(table)$p.value``.
    """
    t = _table(k1, n1, k2, n2).astype(int)
    return float(stats.fisher_exact(t, alternative="two-sided").pvalue)


@dataclass(frozen=True)
class OddsRatio(ResultMixin):
    """Odds ratio (group 1 vs group 2) with Woolf's log-scale Wald CI.

    Fields: ``odds_ratio``, ``ci_low``, ``ci_high``, ``log_se``, ``haldane`` (True when 0.5 was added to
    every cell because one cell was 0), ``level``.
    """

    odds_ratio: float
    ci_low: float
    ci_high: float
    log_se: float
    haldane: bool
    level: float


def odds_ratio_woolf(k1: int, n1: int, k2: int, n2: int, level: float = 0.95) -> OddsRatio:
    """Odds ratio ad/bc with the Woolf CI exp(log OR ± z √(1/a + 1/b + 1/c + 1/d)).

    The Haldane–Anscombe correction (add 0.5 to every cell) is applied only when some cell is 0, and is
    flagged in ``haldane``.

    References: Woolf B (1955) Ann Hum Genet 19:251–253; Haldane JBS (1956) Ann Hum Genet 20:309–311.
    Equivalent to ``statsmodels.stats.contingency_tables.Table2x2(table).oddsratio_confint()`` when no cell is 0.
    """
    t = _table(k1, n1, k2, n2)
    haldane = bool((t == 0).any())
    if haldane:
        t = t + 0.5
    (a, b), (c, d) = t
    log_or = math.log(a * d / (b * c))
    se = math.sqrt((1 / t).sum())
    z = stats.norm.ppf(0.5 + level / 2)
    return OddsRatio(math.exp(log_or), math.exp(log_or - z * se), math.exp(log_or + z * se), se, haldane, level)


@dataclass(frozen=True)
class RiskDifference(ResultMixin):
    """Risk difference p1 − p2 in percentage points with Newcombe's hybrid score CI.

    Fields: ``difference``, ``ci_low``, ``ci_high`` (percentage points), ``level``.
    """

    difference: float
    ci_low: float
    ci_high: float
    level: float


def newcombe_risk_difference(k1: int, n1: int, k2: int, n2: int, level: float = 0.95) -> RiskDifference:
    """Difference of proportions with Newcombe's hybrid score interval (method 10, from Wilson intervals).

    With (l1, u1), (l2, u2) the Wilson intervals of p1, p2 and D = p1 − p2:
    lower = D − √((p1 − l1)² + (u2 − p2)²), upper = D + √((u1 − p1)² + (p2 − l2)²).

    Reference: Newcombe RG (1998) Stat Med 17:873–890, method 10.
    Equivalent to ``statsmodels.stats.proportion.confint_proportions_2indep(k1, n1, k2, n2,
    compare="diff", method="newcomb")``.
    """
    _table(k1, n1, k2, n2)
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_ci(k1, n1, level)
    l2, u2 = wilson_ci(k2, n2, level)
    diff = p1 - p2
    low = diff - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = diff + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return RiskDifference(100 * diff, 100 * low, 100 * high, level)


def _pearson_p(k1: int, n1: int, k2: int, n2: int) -> float:
    return chi2_test_2x2(k1, n1, k2, n2, correction=False).p_value


def _yates_p(k1: int, n1: int, k2: int, n2: int) -> float:
    return chi2_test_2x2(k1, n1, k2, n2, correction=True).p_value


CONTINGENCY_TESTS: dict[str, StatTest] = {
    t.name: t
    for t in (
        StatTest(
            "pearson",
            "Pearson's chi-squared test without continuity correction",
            "categorical",
            _pearson_p,
            "scipy.stats.chi2_contingency(table, correction=False)",
        ),
        StatTest(
            "fisher",
            "Fisher's exact test (two-sided)",
            "categorical",
            fisher_test_2x2,
            "scipy.stats.fisher_exact(table, alternative='two-sided')",
        ),
        StatTest(
            "yates",
            "Pearson's chi-squared test with Yates' continuity correction",
            "categorical",
            _yates_p,
            "scipy.stats.chi2_contingency(table, correction=True)",
        ),
    )
}


def choose_categorical_test(min_expected: float) -> str:
    """The default test: ``"fisher"`` when any expected count is below 5, else ``"pearson"``."""
    if math.isnan(min_expected):
        raise ValueError("no default test: the expected counts are undefined")
    return "fisher" if min_expected < EXPECTED_COUNT_THRESHOLD else "pearson"


@dataclass(frozen=True)
class ProportionComparison(ResultMixin):
    """Comparison of a binary outcome between group 1 (IPS) and group 2 (TAU).

    Fields:
    - ``count1``, ``n1``, ``percent1``, ``count2``, ``n2``, ``percent2`` — counts, valid denominators,
      percentages 0–100 (unrounded).
    - ``test`` — registry name of the test giving ``p_value``: ``"pearson"`` (chi-square without continuity
      correction) or ``"fisher"`` (two-sided exact); ``test_label`` — its footnote text.
    - ``statistic``, ``df`` — Pearson chi² and 1 when ``test == "pearson"``, NaN when ``"fisher"``.
    - ``p_value`` — from ``test``; ``p_pearson``, ``p_yates``, ``p_fisher`` — all three, for concordance checks.
    - ``min_expected``, ``n_expected_below_5`` — the expected counts behind the automatic choice.
    - ``odds_ratio``, ``or_ci_low``, ``or_ci_high`` — Woolf CI; ``or_haldane`` True when 0.5 was added
      to every cell (a cell was 0).
    - ``risk_difference``, ``rd_ci_low``, ``rd_ci_high`` — percent1 − percent2 in percentage points,
      Newcombe hybrid score CI (method 10).
    - ``level`` — confidence level of both intervals.
    """

    count1: int
    n1: int
    percent1: float
    count2: int
    n2: int
    percent2: float
    test: str
    test_label: str
    statistic: float
    df: float
    p_value: float
    p_pearson: float
    p_yates: float
    p_fisher: float
    min_expected: float
    n_expected_below_5: int
    odds_ratio: float
    or_ci_low: float
    or_ci_high: float
    or_haldane: bool
    risk_difference: float
    rd_ci_low: float
    rd_ci_high: float
    level: float


def compare_proportions(k1: int, n1: int, k2: int, n2: int, test: str = "auto",
                        level: float = 0.95) -> ProportionComparison:
    """Compare k1/n1 (group 1, IPS) with k2/n2 (group 2, TAU).

    ``test="auto"`` follows the paper (and gtsummary): Pearson chi-square without continuity correction when
    every expected count is ≥ 5, else Fisher's exact test (two-sided). ``test`` may also name a registered
    test: ``"pearson"``, ``"fisher"``, ``"yates"``.

    See :class:`ProportionComparison` for the returned fields. References: see :func:`chi2_test_2x2`,
    :func:`fisher_test_2x2`, :func:`odds_ratio_woolf`, :func:`newcombe_risk_difference`.
    """
    k1, n1, k2, n2 = int(k1), int(n1), int(k2), int(n2)
    pearson = chi2_test_2x2(k1, n1, k2, n2, correction=False)
    yates = chi2_test_2x2(k1, n1, k2, n2, correction=True)
    p_fisher = fisher_test_2x2(k1, n1, k2, n2)
    if test == "auto":
        test = choose_categorical_test(pearson.min_expected)
    if test not in CONTINGENCY_TESTS:
        raise ValueError(f"unknown test {test!r}; choose 'auto' or one of {sorted(CONTINGENCY_TESTS)}")
    if test == "pearson":
        stat, df, p = pearson.statistic, 1.0, pearson.p_value
    elif test == "yates":
        stat, df, p = yates.statistic, 1.0, yates.p_value
    else:
        stat, df, p = math.nan, math.nan, p_fisher
    orr = odds_ratio_woolf(k1, n1, k2, n2, level)
    rd = newcombe_risk_difference(k1, n1, k2, n2, level)
    return ProportionComparison(
        count1=k1, n1=n1, percent1=100 * k1 / n1,
        count2=k2, n2=n2, percent2=100 * k2 / n2,
        test=test, test_label=CONTINGENCY_TESTS[test].label,
        statistic=stat, df=df, p_value=p,
        p_pearson=pearson.p_value, p_yates=yates.p_value, p_fisher=p_fisher,
        min_expected=pearson.min_expected, n_expected_below_5=pearson.n_expected_below_5,
        odds_ratio=orr.odds_ratio, or_ci_low=orr.ci_low, or_ci_high=orr.ci_high, or_haldane=orr.haldane,
        risk_difference=rd.difference, rd_ci_low=rd.ci_low, rd_ci_high=rd.ci_high,
        level=level,
    )


def compare_proportions_grid(k1: np.ndarray, n1: int, k2: np.ndarray, n2: int) -> dict[str, np.ndarray]:
    """:func:`compare_proportions` (``test="auto"``) of k1[i]/n1 vs k2[i]/n2 for many tables at once, for the
    fields a grid of scenarios needs: ``test``, ``p_value``, ``odds_ratio``, ``risk_difference``.

    Each value equals the one :func:`compare_proportions` returns for that table (the same arithmetic in the
    same order): Pearson's chi² for every table in one call of its distribution, Fisher's exact test only for
    the tables whose smallest expected count is below 5, where the automatic choice needs it, and none of the
    confidence intervals. A grid of k tables so costs milliseconds, not k full comparisons.
    """
    k1 = np.asarray(k1, dtype=int).ravel()
    k2 = np.asarray(k2, dtype=int).ravel()
    if k1.shape != k2.shape:
        raise ValueError("k1 and k2 must have the same length")
    n1, n2 = int(n1), int(n2)
    count = len(k1)
    stat = np.full(count, math.nan)
    min_expected = np.empty(count)
    odds = np.empty(count)
    difference = np.empty(count)
    for i, (a_, c_) in enumerate(zip(k1.tolist(), k2.tolist())):
        _table(a_, n1, c_, n2)  # the same checks of the counts
        a, b, c, d = float(a_), float(n1 - a_), float(c_), float(n2 - c_)
        total = a + b + c + d
        rows, cols = (a + b, c + d), (a + c, b + d)
        min_expected[i] = min(r * s / total for r in rows for s in cols)
        margins = (rows[0] * rows[1]) * (cols[0] * cols[1])
        if margins != 0:
            stat[i] = total * abs(a * d - b * c) ** 2 / margins
        if a == 0 or b == 0 or c == 0 or d == 0:  # Haldane–Anscombe, as odds_ratio_woolf
            a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
        odds[i] = math.exp(math.log(a * d / (b * c)))
        difference[i] = 100 * (a_ / n1 - c_ / n2)
    if np.isnan(min_expected).any():
        raise ValueError("no default test: the expected counts are undefined")
    fisher = min_expected < EXPECTED_COUNT_THRESHOLD
    p = np.where(np.isnan(stat), math.nan, stats.chi2.sf(np.where(np.isnan(stat), 0.0, stat), 1))
    for i in np.flatnonzero(fisher):
        p[i] = fisher_test_2x2(int(k1[i]), n1, int(k2[i]), n2)
    return {"test": np.where(fisher, "fisher", "pearson").astype(object), "p_value": p,
            "odds_ratio": odds, "risk_difference": difference}
