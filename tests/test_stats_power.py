"""Sample size and power for two proportions, pinned to the audit and cross-checked against statsmodels."""

import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    power_proportions_2indep,
    proportion_effectsize,
    samplesize_proportions_2indep_onetail,
)

from ipsreport.stats.power import (
    inflate_for_attrition,
    people_to_approach,
    power_curve,
    power_two_proportions,
    sample_size_two_proportions,
)


def printed(value: float, decimals: int) -> str:
    return str(Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


Z975, Z90 = stats.norm.ppf(0.975), stats.norm.ppf(0.90)


def test_paper_sample_size_is_the_unpooled_formula():
    # Paper: 61% vs 23%, alpha .05, power .90 -> n = 31 per group. Audit: unpooled 30.20 -> 31.
    s = sample_size_two_proportions(0.61, 0.23)
    assert (printed(s.n_exact, 2), s.n_per_group, s.n_total) == ("30.20", 31, 62)
    # by hand: (z_.975 + z_.90)^2 (p1 q1 + p2 q2) / d^2
    assert s.n_exact == pytest.approx((Z975 + Z90) ** 2 * (0.61 * 0.39 + 0.23 * 0.77) / 0.38**2, rel=1e-12)


def test_pooled_matches_statsmodels():
    s = sample_size_two_proportions(0.61, 0.23, method="pooled")
    assert (printed(s.n_exact, 2), s.n_per_group) == ("33.32", 34)  # audit: 33.32 -> 34
    # statsmodels: samplesize_proportions_2indep_onetail(diff=0.38, prop2=0.23, power=0.9, alpha=0.05)
    assert s.n_exact == pytest.approx(samplesize_proportions_2indep_onetail(0.38, 0.23, 0.9, alpha=0.05), rel=1e-10)
    for ratio in (0.5, 2.0):
        r = sample_size_two_proportions(0.61, 0.23, method="pooled", ratio=ratio)
        assert r.n_exact == pytest.approx(
            samplesize_proportions_2indep_onetail(0.38, 0.23, 0.9, ratio=ratio, alpha=0.05), rel=1e-10)
        assert r.n2_exact == pytest.approx(ratio * r.n_exact)


def test_continuity_corrected_and_fully_pooled():
    cc = sample_size_two_proportions(0.61, 0.23, method="pooled_cc")
    assert (printed(cc.n_exact, 2), cc.n_per_group) == ("38.41", 39)  # audit: Casagrande-Pike-Smith 38.41 -> 39
    n = sample_size_two_proportions(0.61, 0.23, method="pooled").n_exact
    assert cc.n_exact == pytest.approx(n / 4 * (1 + math.sqrt(1 + 4 / (n * 0.38))) ** 2)
    # audit: the corrected formula gives 31 only at power .80 (30.30)
    at80 = sample_size_two_proportions(0.61, 0.23, power=0.80, method="pooled_cc")
    assert (printed(at80.n_exact, 2), at80.n_per_group) == ("30.30", 31)
    full = sample_size_two_proportions(0.61, 0.23, method="fully_pooled")
    assert (printed(full.n_exact, 2), full.n_per_group) == ("35.45", 36)  # audit: 35.45 -> 36


def test_cohens_h_reference_differs_as_the_audit_says():
    # statsmodels: NormalIndPower().solve_power(proportion_effectsize(0.61, 0.23), alpha=0.05, power=0.9)
    h_n = NormalIndPower().solve_power(proportion_effectsize(0.61, 0.23), alpha=0.05, power=0.9)
    assert printed(h_n, 2) == "33.48" and math.ceil(h_n) == 34
    assert math.ceil(h_n) != sample_size_two_proportions(0.61, 0.23).n_per_group


@pytest.mark.parametrize("method", ["unpooled", "pooled", "pooled_cc", "fully_pooled"])
@pytest.mark.parametrize("ratio", [1.0, 0.5])
def test_power_inverts_sample_size(method, ratio):
    s = sample_size_two_proportions(0.61, 0.23, power=0.85, method=method, ratio=ratio)
    assert power_two_proportions(0.61, 0.23, s.n_exact, method=method, ratio=ratio) == pytest.approx(0.85, abs=1e-9)
    assert power_two_proportions(0.61, 0.23, s.n_per_group, method=method, ratio=ratio) >= 0.85


def test_pooled_power_matches_statsmodels():
    for n in (15, 31, 50):
        # statsmodels: power_proportions_2indep(diff, prop2, nobs1) (pooled null variance; adds the far tail)
        ref = power_proportions_2indep(0.38, 0.23, n).power
        assert power_two_proportions(0.61, 0.23, n, method="pooled") == pytest.approx(ref, abs=1e-3)


def test_power_is_symmetric_in_direction():
    assert power_two_proportions(0.23, 0.61, 31) == pytest.approx(power_two_proportions(0.61, 0.23, 31))


def test_power_curve_is_tidy_and_increasing():
    curve = power_curve(0.61, 0.23, range(10, 61, 10))
    assert curve.columns.tolist() == ["method", "n_per_group", "power", "p1", "p2", "alpha", "ratio"]
    assert len(curve) == 3 * 6
    for _, part in curve.groupby("method"):
        assert np.all(np.diff(part["power"].to_numpy()) > 0)
    at30 = curve.set_index(["method", "n_per_group"])
    power_at_30 = [at30.loc[(m, 30), "power"] for m in ("unpooled", "pooled", "pooled_cc")]
    assert power_at_30 == sorted(power_at_30, reverse=True)


def test_recruitment_arithmetic():
    assert inflate_for_attrition(62, 0.2) == 78  # 62 / 0.8 = 77.5
    assert inflate_for_attrition(80, 0.2) == 100  # 80 / 0.8 is 100.00000000000001 in floating point
    assert inflate_for_attrition(62, 0.0) == 62
    assert people_to_approach(50, 26 / 1017) == 1956  # 50 * 1017 / 26 = 1955.77
    assert people_to_approach(80, 0.5) == 160
    with pytest.raises(ValueError):
        inflate_for_attrition(62, 1.0)
    with pytest.raises(ValueError):
        people_to_approach(62, 0.0)


def test_invalid_inputs_raise():
    with pytest.raises(ValueError):
        sample_size_two_proportions(0.5, 0.5)
    with pytest.raises(ValueError):
        sample_size_two_proportions(0.61, 0.23, method="arcsine")
    with pytest.raises(ValueError):
        power_two_proportions(0.61, 0.23, 0)
