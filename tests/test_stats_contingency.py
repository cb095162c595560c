"""2×2 comparisons pinned to the published values (audit) and cross-checked against scipy and statsmodels."""

import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import Table2x2
from statsmodels.stats.proportion import confint_proportions_2indep

from ipsreport.stats import STAT_TESTS, footnote_for_tests, footnote_labels, get_test
from ipsreport.stats.contingency import (
    chi2_test_2x2,
    compare_proportions,
    fisher_test_2x2,
    newcombe_risk_difference,
    odds_ratio_woolf,
)


def printed(value: float, decimals: int) -> str:
    return str(Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


def table(k1, n1, k2, n2):
    return np.array([[k1, n1 - k1], [k2, n2 - k2]])


# IPS in Pain Table 2 and the >=20 h/week row, as printed: counts, test, P, OR (95% CI).
PUBLISHED = [
    ((11, 34, 6, 19), "pearson", "0.954", ("1.04", "0.31", "3.46")),   # 6 months
    ((19, 36, 7, 18), "pearson", "0.336", ("1.76", "0.56", "5.56")),   # 12 months
    ((22, 37, 7, 17), "pearson", "0.211", ("2.10", "0.65", "6.74")),   # 24 months
    ((6, 34, 2, 17), "fisher", "0.703", ("1.61", "0.29", "8.96")),     # worked >= 20 h/week
]


@pytest.mark.parametrize(("counts", "test", "p", "odds"), PUBLISHED)
def test_published_table2(counts, test, p, odds):
    r = compare_proportions(*counts)
    assert r.test == test
    assert printed(r.p_value, 3) == p
    assert tuple(printed(v, 2) for v in (r.odds_ratio, r.or_ci_low, r.or_ci_high)) == odds
    assert not r.or_haldane


def test_published_baseline_fisher_row():
    # Table 1 'Above cutoff (HSCL >= 1.75)': 32/33 vs 16/18, Fisher P = 0.282 (Pearson would give 0.241).
    r = compare_proportions(32, 33, 16, 18)
    assert r.test == "fisher" and r.n_expected_below_5 == 2
    assert printed(r.min_expected, 2) == "1.06"
    assert printed(r.p_value, 3) == "0.282" and printed(r.p_pearson, 3) == "0.241"
    assert math.isnan(r.statistic) and math.isnan(r.df)


def test_published_historical_controls():
    # Ancillary analysis: IPS 19/36 vs historical controls 52/315, chi2(1, n = 351) = 26.34; OR 5.65 (2.75-11.60).
    c = chi2_test_2x2(19, 36, 52, 315)
    assert (printed(c.statistic, 2), c.df, c.n) == ("26.34", 1, 351)
    assert printed(chi2_test_2x2(19, 36, 52, 315, correction=True).statistic, 2) == "24.14"
    r = compare_proportions(19, 36, 52, 315)
    assert r.test == "pearson" and r.p_value == pytest.approx(2.86e-07, rel=1e-2)
    assert tuple(printed(v, 2) for v in (r.odds_ratio, r.or_ci_low, r.or_ci_high)) == ("5.65", "2.75", "11.60")


def test_audit_pilot_employment():
    # Audit, pilot: IPS 8/22 vs TAU 8/28: difference 7.8 pp, Newcombe -17.1 to 32.4; Fisher 0.761; OR 1.43 (0.43-4.72).
    r = compare_proportions(8, 22, 8, 28)
    assert [printed(v, 1) for v in (r.risk_difference, r.rd_ci_low, r.rd_ci_high)] == ["7.8", "-17.1", "32.4"]
    assert printed(r.p_fisher, 3) == "0.761"
    assert tuple(printed(v, 2) for v in (r.odds_ratio, r.or_ci_low, r.or_ci_high)) == ("1.43", "0.43", "4.72")


def test_audit_yates_and_fisher_alternatives():
    # The audit's "computed" column lists the rejected variants: 19/36 vs 7/18 -> Yates 0.500, Fisher 0.395.
    r = compare_proportions(19, 36, 7, 18)
    assert printed(r.p_yates, 3) == "0.500" and printed(r.p_fisher, 3) == "0.395"


@pytest.mark.parametrize("counts", [(11, 34, 6, 19), (19, 36, 52, 315), (3, 9, 8, 10), (0, 12, 5, 14), (7, 7, 2, 9)])
def test_chi2_matches_scipy_and_statsmodels(counts):
    t = table(*counts)
    for correction in (False, True):
        ours = chi2_test_2x2(*counts, correction=correction)
        # scipy: chi2_contingency(t, correction=...)
        ref = stats.chi2_contingency(t, correction=correction)
        assert ours.statistic == pytest.approx(ref.statistic, rel=1e-12, abs=1e-12)
        assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-10)
        assert ours.min_expected == pytest.approx(ref.expected_freq.min())
    # statsmodels: Table2x2(t, shift_zeros=False).test_nominal_association() (Pearson, no correction)
    assert chi2_test_2x2(*counts).statistic == pytest.approx(
        Table2x2(t, shift_zeros=False).test_nominal_association().statistic)


@pytest.mark.parametrize("counts", [(11, 34, 6, 19), (6, 34, 2, 17), (32, 33, 16, 18), (8, 22, 8, 28)])
def test_fisher_and_odds_ratio_match_references(counts):
    t = table(*counts)
    # scipy: fisher_exact(t, alternative="two-sided")
    assert fisher_test_2x2(*counts) == pytest.approx(stats.fisher_exact(t).pvalue, rel=1e-12)
    o = odds_ratio_woolf(*counts)
    # statsmodels: Table2x2(t).oddsratio, .oddsratio_confint()  (Woolf / log-Wald)
    assert o.odds_ratio == pytest.approx(Table2x2(t).oddsratio)
    assert (o.ci_low, o.ci_high) == pytest.approx(Table2x2(t).oddsratio_confint(), rel=1e-10)


def test_haldane_only_when_a_cell_is_zero():
    o = odds_ratio_woolf(0, 12, 5, 14)
    assert o.haldane
    # by hand with 0.5 added: (0.5 * 9.5) / (12.5 * 5.5)
    assert o.odds_ratio == pytest.approx(0.5 * 9.5 / (12.5 * 5.5))
    assert o.log_se == pytest.approx(math.sqrt(1 / 0.5 + 1 / 12.5 + 1 / 5.5 + 1 / 9.5))
    assert not odds_ratio_woolf(1, 12, 5, 14).haldane
    assert compare_proportions(0, 12, 5, 14).or_haldane


def _wilson_by_hand(k, n, z=1.959963984540054):
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


@pytest.mark.parametrize("counts", [(8, 22, 8, 28), (19, 36, 7, 18), (56, 70, 48, 80), (9, 10, 3, 10)])
def test_newcombe_matches_hand_formula_and_statsmodels(counts):
    k1, n1, k2, n2 = counts
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = _wilson_by_hand(k1, n1)
    l2, u2 = _wilson_by_hand(k2, n2)
    # Newcombe (1998) method 10
    low = p1 - p2 - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = p1 - p2 + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    rd = newcombe_risk_difference(*counts)
    assert (rd.ci_low, rd.ci_high) == pytest.approx((100 * low, 100 * high), rel=1e-10)
    # statsmodels: confint_proportions_2indep(k1, n1, k2, n2, compare="diff", method="newcomb")
    ref = confint_proportions_2indep(k1, n1, k2, n2, compare="diff", method="newcomb")
    assert (rd.ci_low / 100, rd.ci_high / 100) == pytest.approx(ref, rel=1e-10)


def test_newcombe_published_example():
    # Newcombe (1998) Table II, example (a): 56/70 vs 48/80 -> 0.2, 95% CI 0.0524 to 0.3339 (method 10).
    rd = newcombe_risk_difference(56, 70, 48, 80)
    assert (round(rd.ci_low / 100, 4), round(rd.ci_high / 100, 4)) == (0.0524, 0.3339)


def test_auto_rule_threshold_is_expected_count_below_5():
    # every expected count exactly 5 -> Pearson; one slightly below -> Fisher
    assert compare_proportions(5, 10, 5, 10).test == "pearson"
    r = compare_proportions(4, 9, 5, 10)
    assert r.min_expected < 5 and r.test == "fisher"


def test_forced_test_and_unknown_test():
    r = compare_proportions(6, 34, 2, 17, test="pearson")
    assert r.test == "pearson" and printed(r.p_value, 3) == "0.586"  # audit: Pearson 0.586
    assert printed(compare_proportions(6, 34, 2, 17, test="yates").p_value, 3) == "0.892"  # audit: Yates 0.892
    with pytest.raises(ValueError):
        compare_proportions(6, 34, 2, 17, test="barnard")


def test_degenerate_margin_falls_back_to_fisher():
    r = compare_proportions(10, 10, 8, 8)  # nobody unemployed: chi-square undefined
    assert r.test == "fisher" and r.p_value == 1.0
    assert math.isnan(r.p_pearson)


def test_invalid_counts_raise():
    with pytest.raises(ValueError):
        compare_proportions(5, 4, 1, 3)
    with pytest.raises(ValueError):
        compare_proportions(0, 0, 1, 3)


def test_footnote_is_generated_from_the_registry():
    results = [compare_proportions(*c) for c, *_ in PUBLISHED]
    assert footnote_labels(r.test for r in results) == [
        "Pearson's chi-squared test without continuity correction", "Fisher's exact test (two-sided)"]
    assert footnote_for_tests([r.test for r in results] + ["welch"]) == (
        "Statistical tests performed: Pearson's chi-squared test without continuity correction; "
        "Fisher's exact test (two-sided); Welch's t test (equal variances not assumed)")
    assert footnote_for_tests([]) == ""
    assert results[0].test_label == STAT_TESTS["pearson"].label
    with pytest.raises(KeyError):
        get_test("mcnemar")


def test_registry_functions_compute_the_registered_test():
    counts = (6, 34, 2, 17)
    assert get_test("fisher").function(*counts) == pytest.approx(stats.fisher_exact(table(*counts)).pvalue)
    assert get_test("pearson").function(*counts) == pytest.approx(
        stats.chi2_contingency(table(*counts), correction=False).pvalue)


def test_result_frame_columns_are_stable():
    cols = compare_proportions(8, 22, 8, 28).to_frame().columns.tolist()
    assert cols == [
        "count1", "n1", "percent1", "count2", "n2", "percent2", "test", "test_label", "statistic", "df",
        "p_value", "p_pearson", "p_yates", "p_fisher", "min_expected", "n_expected_below_5", "odds_ratio",
        "or_ci_low", "or_ci_high", "or_haldane", "risk_difference", "rd_ci_low", "rd_ci_high", "level"]
