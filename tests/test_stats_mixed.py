"""The group × time mixed model, checked against OLS (balanced case) and an independent ML implementation."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import optimize, stats

from ipsreport.stats.mixed import fit_group_time_mixed


def simulate(n_ips=24, n_tau=16, missing=0.0, seed=7, tau_sd=6.0, noise_sd=4.0):
    """Long data like the trial's questionnaires: months 0/6/12, a random intercept per participant."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_ips + n_tau):
        arm = "IPS" if i < n_ips else "TAU"
        u = rng.normal(0, tau_sd)
        for month in (0, 6, 12):
            g = arm == "IPS"
            y = 40 + u + 2.0 * g - 0.4 * month + 0.25 * month * g + rng.normal(0, noise_sd)
            if month > 0 and rng.random() < missing:
                y = np.nan
            rows.append((f"NO-{i + 1:03d}", arm, month, y))
    return pd.DataFrame(rows, columns=["participant_id", "group", "time", "odi"])


def design(df):
    g = (df["group"] == "IPS").to_numpy(float)
    t = df["time"].to_numpy(float)
    return np.column_stack([g, t, g * t, np.ones_like(t)])  # order: group, time, group_time, intercept


def ml_random_intercept(df, outcome="odi"):
    """Independent ML fit: profile log-likelihood over (log sigma2, log tau2), beta by GLS."""
    df = df.dropna(subset=[outcome])
    blocks = [(design(d), d[outcome].to_numpy(float)) for _, d in df.groupby("participant_id", sort=False)]

    def gls(theta):
        s2, t2 = np.exp(theta)
        xvx = np.zeros((4, 4))
        xvy = np.zeros(4)
        parts = []
        for x, y in blocks:
            vinv = np.linalg.inv(s2 * np.eye(len(y)) + t2 * np.ones((len(y), len(y))))
            xvx += x.T @ vinv @ x
            xvy += x.T @ vinv @ y
            parts.append(vinv)
        beta = np.linalg.solve(xvx, xvy)
        ll = 0.0
        for (x, y), vinv in zip(blocks, parts):
            r = y - x @ beta
            ll -= 0.5 * (len(y) * math.log(2 * math.pi) - np.linalg.slogdet(vinv)[1] + r @ vinv @ r)
        return beta, np.linalg.inv(xvx), ll

    res = optimize.minimize(lambda th: -gls(th)[2], x0=np.log([10.0, 10.0]), method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 4000})
    beta, cov, ll = gls(res.x)
    return beta, np.sqrt(np.diag(cov)), np.exp(res.x), ll


def test_balanced_ml_fixed_effects_equal_ols():
    # Balanced complete data with a random intercept: GLS = OLS for group, time, group x time (the design's
    # column space is invariant under the compound-symmetric V), so ML fixed effects equal the OLS ones.
    df = simulate(missing=0.0)
    fit = fit_group_time_mixed(df, "odi")
    ols = smf.ols("odi ~ g * time", df.assign(g=(df["group"] == "IPS").astype(float))).fit()
    coef = fit.coefficients.set_index("term")["estimate"]
    expected = {"group": ols.params["g"], "time": ols.params["time"], "group_time": ols.params["g:time"],
                "intercept": ols.params["Intercept"]}
    for term, value in expected.items():
        assert coef[term] == pytest.approx(value, rel=1e-6, abs=1e-6)
    # and OLS on this design reproduces the arm-specific least-squares lines through the cell means
    means = df.groupby(["group", "time"])["odi"].mean()
    slope_tau = np.polyfit([0, 6, 12], means["TAU"].to_numpy(), 1)[0]
    slope_ips = np.polyfit([0, 6, 12], means["IPS"].to_numpy(), 1)[0]
    assert coef["time"] == pytest.approx(slope_tau, rel=1e-6)
    assert coef["group_time"] == pytest.approx(slope_ips - slope_tau, rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("seed", [7, 11])
def test_matches_independent_profile_likelihood_with_missing_data(seed):
    df = simulate(missing=0.25, seed=seed)
    fit = fit_group_time_mixed(df, "odi")
    beta, se, (sigma2, tau2), ll = ml_random_intercept(df)
    coef = fit.coefficients.set_index("term").loc[["group", "time", "group_time", "intercept"]]
    assert coef["estimate"].to_numpy() == pytest.approx(beta, rel=1e-4, abs=1e-4)
    assert coef["se"].to_numpy() == pytest.approx(se, rel=1e-3)
    assert fit.info.log_likelihood == pytest.approx(ll, abs=1e-5)
    assert fit.info.residual_var == pytest.approx(sigma2, rel=1e-3)
    assert fit.info.random_intercept_var == pytest.approx(tau2, rel=1e-3)


def test_missing_outcomes_are_dropped_and_counted():
    df = simulate(missing=0.3, seed=3)
    n_missing = int(df["odi"].isna().sum())
    assert n_missing > 0
    info = fit_group_time_mixed(df, "odi").info
    assert (info.n_obs, info.n_dropped, info.n_groups) == (len(df) - n_missing, n_missing, 40)
    assert info.method == "ML" and info.converged and info.group_coding == "IPS=1, other=0"


def test_wald_z_and_p():
    coef = fit_group_time_mixed(simulate(missing=0.1), "odi").coefficients
    assert coef["term"].tolist() == ["group", "time", "group_time", "intercept"]
    assert coef.columns.tolist() == ["term", "estimate", "se", "z", "p_value", "ci_low", "ci_high"]
    assert coef["z"].to_numpy() == pytest.approx((coef["estimate"] / coef["se"]).to_numpy())
    assert coef["p_value"].to_numpy() == pytest.approx(2 * stats.norm.sf(coef["z"].abs().to_numpy()))
    assert coef["ci_high"].to_numpy() == pytest.approx((coef["estimate"] + 1.959963984540054 * coef["se"]).to_numpy())


def test_group_coding_numeric_and_reversed():
    df = simulate(missing=0.1)
    text = fit_group_time_mixed(df, "odi").coefficients.set_index("term")
    numeric = fit_group_time_mixed(df.assign(group=(df["group"] == "IPS").astype(int)), "odi")
    assert numeric.coefficients.set_index("term")["estimate"].to_numpy() == pytest.approx(text["estimate"].to_numpy())
    tau = fit_group_time_mixed(df, "odi", treatment="TAU").coefficients.set_index("term")
    assert tau.loc["group", "estimate"] == pytest.approx(-text.loc["group", "estimate"], rel=1e-5)
    with pytest.raises(ValueError):
        fit_group_time_mixed(df, "odi", treatment="Control")
    with pytest.raises(ValueError):
        fit_group_time_mixed(df.assign(group=np.where(df["group"] == "IPS", 2, 3)), "odi")
    with pytest.raises(KeyError):
        fit_group_time_mixed(df, "eq_vas")


def test_statsmodels_warnings_are_recorded_not_emitted():
    # No between-participant variation at all: every participant has the same mean, so the ML random-intercept
    # variance is on the boundary (0) and statsmodels warns.
    rows = []
    for i in range(20):
        arm = "IPS" if i % 2 else "TAU"
        e = [1.0, -1.0, 0.0] if i % 3 else [0.0, 1.0, -1.0]
        for month, eps in zip((0, 6, 12), e):
            rows.append((f"NO-{i:03d}", arm, month, 10.0 + eps))
    df = pd.DataFrame(rows, columns=["participant_id", "group", "time", "odi"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning escaping the function fails the test
        fit = fit_group_time_mixed(df, "odi")
    assert fit.info.warnings, "expected statsmodels to warn about the boundary fit"
    assert any("boundary" in w.lower() or "converge" in w.lower() for w in fit.info.warnings)


# --- constrained longitudinal data analysis (cLDA) ---

from ipsreport.stats.mixed import fit_clda  # noqa: E402


def _tiny_complete():
    """Three participants per arm, complete at months 0, 6, 12; both arms have baseline mean 12."""
    values = {"a1": (10, 8, 7), "a2": (12, 11, 9), "a3": (14, 12, 13),  # IPS
              "b1": (11, 12, 13), "b2": (12, 14, 12), "b3": (13, 13, 15)}  # TAU
    rows = [(pid, "IPS" if pid.startswith("a") else "TAU", month, float(y))
            for pid, ys in values.items() for month, y in zip((0, 6, 12), ys)]
    return pd.DataFrame(rows, columns=["participant_id", "group", "time", "odi"])


def test_clda_effect_equals_the_difference_of_follow_up_means_when_baselines_are_equal():
    fit = fit_clda(_tiny_complete(), "odi")
    effects = fit.effects.set_index("time")
    # 6 months: IPS (8 + 11 + 12)/3 = 31/3, TAU (12 + 14 + 13)/3 = 13 → −8/3.
    # 12 months: IPS (7 + 9 + 13)/3 = 29/3, TAU (13 + 12 + 15)/3 = 40/3 → −11/3.
    assert effects.loc[6, "estimate"] == pytest.approx(-8 / 3, abs=1e-6)
    assert effects.loc[12, "estimate"] == pytest.approx(-11 / 3, abs=1e-6)
    assert fit.baseline_mean == pytest.approx(12.0, abs=1e-6)
    assert (fit.info.n_obs, fit.info.n_groups, fit.info.method) == (18, 6, "REML")
    row = effects.loc[12]
    assert row["ci_low"] < row["estimate"] < row["ci_high"]
    assert row["p_value"] == pytest.approx(2 * stats.norm.sf(abs(row["estimate"] / row["se"])), rel=1e-9)


def test_clda_adjusts_for_a_chance_baseline_difference():
    # Shift every IPS value up by 3 at baseline only: the follow-up means are unchanged, but the shared
    # baseline mean now credits part of the baseline gap, so the effect moves away from the raw difference.
    df = _tiny_complete()
    df.loc[(df["group"] == "IPS") & (df["time"] == 0), "odi"] += 3
    effects = fit_clda(df, "odi").effects.set_index("time")
    assert effects.loc[6, "estimate"] != pytest.approx(-8 / 3, abs=1e-3)


def test_clda_needs_baseline_and_follow_up():
    df = _tiny_complete()
    with pytest.raises(ValueError, match="baseline"):
        fit_clda(df.loc[df["time"] > 0], "odi")
    with pytest.raises(ValueError, match="follow-up"):
        fit_clda(df.loc[df["time"] == 0], "odi")
