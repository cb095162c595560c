"""Mantel–Haenszel odds ratio, its Robins–Breslow–Greenland CI and the Breslow–Day test, worked by hand."""

import math
from fractions import Fraction as F

import pytest
from scipy import stats

from ipsreport.stats.stratified import mantel_haenszel_odds_ratio

# Two strata, (k1, n1, k2, n2): stratum 1 is [[4, 2], [2, 4]] (n = 12, OR 4), stratum 2 is [[3, 1], [1, 3]]
# (n = 8, OR 9).
STRATA = [(4, 6, 2, 6), (3, 4, 1, 4)]


def test_mh_odds_ratio_and_rgb_interval_by_hand():
    # R = ad/n, S = bc/n, P = (a+d)/n, Q = (b+c)/n:
    # stratum 1: R = 16/12 = 4/3, S = 4/12 = 1/3, P = 8/12 = 2/3, Q = 1/3;
    # stratum 2: R = 9/8, S = 1/8, P = 6/8 = 3/4, Q = 1/4.
    sum_r, sum_s = F(4, 3) + F(9, 8), F(1, 3) + F(1, 8)  # 59/24, 11/24
    assert (sum_r, sum_s) == (F(59, 24), F(11, 24))
    pr = F(2, 3) * F(4, 3) + F(3, 4) * F(9, 8)  # 8/9 + 27/32 = 499/288
    ps_qr = (F(2, 3) * F(1, 3) + F(1, 3) * F(4, 3)) + (F(3, 4) * F(1, 8) + F(1, 4) * F(9, 8))  # 2/3 + 3/8
    qs = F(1, 3) * F(1, 3) + F(1, 4) * F(1, 8)  # 1/9 + 1/32 = 41/288
    assert (pr, ps_qr, qs) == (F(499, 288), F(25, 24), F(41, 288))
    var = pr / (2 * sum_r**2) + ps_qr / (2 * sum_r * sum_s) + qs / (2 * sum_s**2)
    se = math.sqrt(var)
    result = mantel_haenszel_odds_ratio(STRATA)
    assert result.odds_ratio == pytest.approx(59 / 11, rel=1e-12)  # 5.3636
    assert result.log_se == pytest.approx(se, rel=1e-12)
    assert result.ci_low == pytest.approx(59 / 11 * math.exp(-1.959963984540054 * se), rel=1e-9)
    assert result.ci_high == pytest.approx(59 / 11 * math.exp(1.959963984540054 * se), rel=1e-9)
    assert (result.n_strata, result.df) == (2, 1)


def test_breslow_day_by_hand():
    # Both strata have equal row and column totals (r1 = c1 = r), so with the margins fixed B = C = r − A and
    # D = A; the expected count with odds ratio ψ solves A² / (r − A)² = ψ: A = r√ψ / (1 + √ψ), and
    # V = 1 / (2/A + 2/(r − A)) = A (r − A) / (2r).
    psi = 59 / 11
    root = math.sqrt(psi)
    chi2 = tarone_sum_obs = tarone_sum_exp = sum_v = 0.0
    for a, r in ((4, 6), (3, 4)):
        big_a = r * root / (1 + root)
        v = big_a * (r - big_a) / (2 * r)
        chi2 += (a - big_a) ** 2 / v
        tarone_sum_obs, tarone_sum_exp, sum_v = tarone_sum_obs + a, tarone_sum_exp + big_a, sum_v + v
    tarone = chi2 - (tarone_sum_obs - tarone_sum_exp) ** 2 / sum_v
    result = mantel_haenszel_odds_ratio(STRATA)
    assert result.breslow_day == pytest.approx(chi2, rel=1e-9)
    assert result.breslow_day_p == pytest.approx(stats.chi2.sf(chi2, 1), rel=1e-9)
    assert result.tarone == pytest.approx(tarone, rel=1e-9)
    assert result.homogeneity_p_value == result.tarone_p == pytest.approx(stats.chi2.sf(tarone, 1), rel=1e-9)


def test_equal_stratum_odds_ratios_give_no_heterogeneity():
    # Two copies of the same table: the common OR is that table's (ad/bc = 4) and Breslow–Day is 0.
    result = mantel_haenszel_odds_ratio([(4, 6, 2, 6), (8, 12, 4, 12)])
    assert result.odds_ratio == pytest.approx(4.0, rel=1e-12)
    assert result.breslow_day == pytest.approx(0.0, abs=1e-12)
    assert result.breslow_day_p == pytest.approx(1.0)


def test_a_single_stratum_is_the_crude_odds_ratio_without_a_homogeneity_test():
    result = mantel_haenszel_odds_ratio([(4, 6, 2, 6)])
    assert result.odds_ratio == pytest.approx(4.0)
    assert math.isnan(result.homogeneity_p_value)


def test_bad_strata_are_rejected_with_their_position():
    with pytest.raises(ValueError, match="stratum 2"):
        mantel_haenszel_odds_ratio([(4, 6, 2, 6), (5, 4, 1, 4)])
    with pytest.raises(ValueError, match="0 or infinite"):
        mantel_haenszel_odds_ratio([(0, 6, 2, 6), (0, 4, 1, 4)])
