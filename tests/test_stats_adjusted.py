"""Logistic regression with marginal standardisation: risk ratio and difference against hand computations."""

import math

import numpy as np
import pandas as pd
import pytest

from ipsreport.stats.adjusted import standardised_logistic

Z = 1.959963984540054


def _two_arm(k1=12, n1=20, k2=5, n2=15):
    y = [1] * k1 + [0] * (n1 - k1) + [1] * k2 + [0] * (n2 - k2)
    return pd.DataFrame({"y": y, "t": [1] * n1 + [0] * n2})


def test_without_covariates_the_model_is_the_2x2_table():
    # Saturated model: fitted risks are 12/20 and 5/15. OR = (12·10)/(8·5) = 3; RR = 0.6/(1/3) = 1.8;
    # RD = 26.67 points. The delta-method SEs reduce to Woolf's √(1/a + 1/b + 1/c + 1/d), Katz's
    # √(1/k1 − 1/n1 + 1/k2 − 1/n2) and √(p1q1/n1 + p2q2/n2).
    r = standardised_logistic(_two_arm(), "y", "t")
    assert r.odds_ratio == pytest.approx(3.0, rel=1e-6)
    se_or = math.sqrt(1 / 12 + 1 / 8 + 1 / 5 + 1 / 10)
    assert r.or_ci_low == pytest.approx(3 * math.exp(-Z * se_or), rel=1e-5)
    assert r.risk_ratio == pytest.approx(1.8, rel=1e-6)
    se_rr = math.sqrt(1 / 12 - 1 / 20 + 1 / 5 - 1 / 15)
    assert (r.rr_ci_low, r.rr_ci_high) == (pytest.approx(1.8 * math.exp(-Z * se_rr), rel=1e-5),
                                           pytest.approx(1.8 * math.exp(Z * se_rr), rel=1e-5))
    se_rd = math.sqrt(0.6 * 0.4 / 20 + (1 / 3) * (2 / 3) / 15)
    assert r.risk_difference == pytest.approx(100 * (0.6 - 1 / 3), rel=1e-6)
    assert r.rd_ci_low == pytest.approx(100 * (0.6 - 1 / 3 - Z * se_rd), rel=1e-5)
    assert (r.n, r.n_events) == (35, 17)


def test_standardised_risks_are_the_mean_fitted_probabilities():
    rng = np.random.default_rng(3)
    n = 80
    df = pd.DataFrame({"t": rng.integers(0, 2, n), "age": rng.normal(45, 10, n).round(),
                       "sex": rng.choice(["female", "male"], n)})
    df["y"] = (rng.random(n) < 0.25 + 0.25 * df["t"] + 0.1 * (df["sex"] == "male")).astype(int)
    df.loc[3, "age"] = np.nan  # one incomplete row: dropped
    r = standardised_logistic(df, "y", "t", ["age", "sex"])
    assert r.covariates == ("age", "sex=male") and r.n == n - 1
    b0, b1, b_age, b_male = r.coefficients
    used = df.dropna()

    def mean_risk(t):
        return sum(1 / (1 + math.exp(-(b0 + b1 * t + b_age * a + b_male * (s == "male"))))
                   for a, s in zip(used["age"], used["sex"])) / len(used)

    p1, p0 = mean_risk(1), mean_risk(0)
    assert r.risk_treated == pytest.approx(p1, rel=1e-12) and r.risk_control == pytest.approx(p0, rel=1e-12)
    assert r.risk_ratio == pytest.approx(p1 / p0, rel=1e-12)
    assert r.risk_difference == pytest.approx(100 * (p1 - p0), rel=1e-12)
    assert r.odds_ratio == pytest.approx(math.exp(b1), rel=1e-12)
    assert r.rr_ci_low < r.risk_ratio < r.rr_ci_high and r.rd_ci_low < r.risk_difference < r.rd_ci_high


def test_bad_inputs_are_named():
    with pytest.raises(KeyError, match="nope"):
        standardised_logistic(_two_arm(), "y", "t", ["nope"])
    with pytest.raises(ValueError, match="0/1"):
        standardised_logistic(_two_arm().assign(y=2), "y", "t")
