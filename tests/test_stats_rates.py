"""Exact Poisson intervals for a rate, pinned to closed forms and to the Poisson tail probabilities."""

import math

import pytest
from scipy.stats import poisson

from ipsreport.stats.rates import poisson_exact_ci, poisson_rate_ci


def test_zero_events_upper_bound_is_minus_log_alpha_half():
    # P(X = 0 | mu) = exp(-mu) = 0.025  ->  mu = -ln(0.025) = 3.6889
    low, high = poisson_exact_ci(0)
    assert low == 0.0 and high == pytest.approx(-math.log(0.025), rel=1e-12)


@pytest.mark.parametrize("k", [1, 5, 50])
def test_bounds_put_alpha_half_in_each_tail(k):
    low, high = poisson_exact_ci(k)
    assert poisson.sf(k - 1, low) == pytest.approx(0.025, abs=1e-10)   # P(X >= k | low)
    assert poisson.cdf(k, high) == pytest.approx(0.025, abs=1e-10)     # P(X <= k | high)


def test_published_table_values():
    # Garwood (1936) / R poisson.test: 1 -> 0.0253-5.5716; 50 -> 37.11-65.92
    assert [round(v, 4) for v in poisson_exact_ci(1)] == [0.0253, 5.5716]
    assert [round(v, 2) for v in poisson_exact_ci(50)] == [37.11, 65.92]


def test_rate_divides_by_exposure_and_rejects_bad_input():
    rate, low, high = poisson_rate_ci(50, 10.0)
    assert rate == 5.0 and low == pytest.approx(poisson_exact_ci(50)[0] / 10)
    assert all(math.isnan(v) for v in poisson_rate_ci(3, 0))
    with pytest.raises(ValueError):
        poisson_exact_ci(-1)
    with pytest.raises(ValueError):
        poisson_exact_ci(2.5)
