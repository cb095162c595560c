"""Single-proportion confidence intervals, pinned to the audit's pilot table and to statsmodels."""

import math
from decimal import ROUND_HALF_UP, Decimal

import pytest
from statsmodels.stats.proportion import proportion_confint

from ipsreport.stats.proportions import clopper_pearson_ci, summarize_proportion, wilson_ci


def printed(value: float, decimals: int) -> str:
    return str(Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


# published-numbers-audit.md, "Seed 004 (pilot): raw counts and 95% CIs": k, n, Wilson %, Clopper-Pearson %.
PILOT_TABLE = [
    (37, 1028, "2.6-4.9", "2.5-4.9"),
    (26, 1017, "1.8-3.7", "1.7-3.7"),
    (57, 1017, "4.4-7.2", "4.3-7.2"),
    (26, 57, "33.4-58.4", "32.4-59.3"),
    (6, 6, "61.0-100.0", "54.1-100.0"),
    (5, 5, "56.6-100.0", "47.8-100.0"),
    (13, 13, "77.2-100.0", "75.3-100.0"),
    (22, 50, "31.2-57.7", "30.0-58.7"),
    (30, 50, "46.2-72.4", "45.2-73.6"),
    (11, 22, "30.7-69.3", "28.2-71.8"),
    (19, 28, "49.3-82.1", "47.6-84.1"),
    (5, 50, "4.3-21.4", "3.3-21.8"),
    (4, 22, "7.3-38.5", "5.2-40.3"),
    (1, 28, "0.6-17.7", "0.1-18.3"),
    (8, 22, "19.7-57.0", "17.2-59.3"),
    (8, 28, "15.3-47.1", "13.2-48.7"),
]


@pytest.mark.parametrize(("k", "n", "wilson", "exact"), PILOT_TABLE)
def test_pilot_table_intervals(k, n, wilson, exact):
    w = summarize_proportion(k, n)
    assert f"{printed(w.ci_low, 1)}-{printed(w.ci_high, 1)}" == wilson
    cp = summarize_proportion(k, n, method="clopper_pearson")
    assert f"{printed(cp.ci_low, 1)}-{printed(cp.ci_high, 1)}" == exact


@pytest.mark.parametrize("n", [1, 7, 22, 50, 315])
def test_wilson_and_exact_match_statsmodels(n):
    for k in range(n + 1):
        # statsmodels: proportion_confint(k, n, alpha=0.05, method="wilson" | "beta")
        assert wilson_ci(k, n) == pytest.approx(proportion_confint(k, n, method="wilson"), abs=1e-12)
        assert clopper_pearson_ci(k, n) == pytest.approx(proportion_confint(k, n, method="beta"), abs=1e-10)


def test_wilson_at_other_levels_matches_statsmodels():
    for level in (0.80, 0.90, 0.99):
        assert wilson_ci(8, 22, level) == pytest.approx(
            proportion_confint(8, 22, alpha=1 - level, method="wilson"), abs=1e-12)


def test_bounds_are_exact_at_zero_and_n():
    assert wilson_ci(0, 10)[0] == 0.0 and wilson_ci(10, 10)[1] == 1.0
    assert clopper_pearson_ci(0, 10)[0] == 0.0 and clopper_pearson_ci(10, 10)[1] == 1.0
    # Clopper-Pearson with k = 0: upper = 1 - (alpha/2)^(1/n)
    assert clopper_pearson_ci(0, 10)[1] == pytest.approx(1 - 0.025 ** (1 / 10))


def test_summary_fields_and_empty_denominator():
    s = summarize_proportion(11, 22)
    assert (s.count, s.n, s.percent, s.ci_method, s.level) == (11, 22, 50.0, "wilson", 0.95)
    assert s.to_frame().columns.tolist() == ["count", "n", "percent", "ci_low", "ci_high", "ci_method", "level"]
    empty = summarize_proportion(0, 0)
    assert math.isnan(empty.percent) and math.isnan(empty.ci_low)


@pytest.mark.parametrize(("k", "n"), [(-1, 5), (6, 5)])
def test_invalid_counts_raise(k, n):
    with pytest.raises(ValueError):
        wilson_ci(k, n)
    with pytest.raises(ValueError):
        summarize_proportion(3, 5, method="agresti")
